import { mkdir, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FileExistsError } from '../../checkpoint/storage.js';
import { syncDir, writeFileSynced } from '../../common/durable-files.js';
import { AnalysisError, CheckpointError, ConnectorError, errorMessage } from '../../common/errors.js';
import { injectFault } from '../../common/faults.js';
import { Row, typeToString } from '../../common/schema.js';
import { schemaDDL } from '../../common/ddl.js';
import { OutputMode } from '../../common/output-mode.js';
import { isCommittedBatch } from '../../sinks/batch-identity.js';
import { DeadLetterFolder, rejectedRowError, splitRejected } from '../../sinks/rejected-rows.js';
import { Sink, SinkContext, SinkSpec } from '../../sinks/sink.js';
import { compileRowCheck, RowCheck, wellFormedText } from '../../sinks/value-domain.js';
import { compileCsvEncoder, compileJsonEncoder, CsvWriteSettings, RowEncoder } from './encode.js';
import { Manifest, ManifestFile, METADATA_FOLDER, SinkManifests } from './manifest.js';

export type FileSinkFormat = 'json' | 'csv';

/** `part-<batch id, 5 digits>-<n>.<ext>`, and the temp name it is written under before the rename. */
const PART_FILE = /^\.?part-(\d+)-\d+\.[A-Za-z0-9]+(?:\.tmp)?$/;

function partName(batchId: number, n: number, ext: string): string {
  return `part-${String(batchId).padStart(5, '0')}-${n}.${ext}`;
}

/**
 * `writeStream.format('json' | 'csv').start(folder)`: exactly-once files.
 *
 * Batch N writes `part-<N>-<n>.<ext>` files (each written to a temp name, fsynced and renamed; a new
 * file every `maxRecordsPerFile` rows, default 100000, 0 for no limit), then commits them by writing
 * the manifest `_weir_metadata/<N>` atomically. A batch whose manifest exists is skipped, so a batch
 * re-run after a crash never writes twice (the manifest holds the batch's digest: the same batch id
 * planned over other input is refused, see batch-identity.ts); part files without a manifest (a crash mid-batch) are
 * deleted when the batch is written again or the sink opens, and readers never see them because
 * they read by manifest. A batch with no rows still gets a manifest (listing no files).
 * Append mode only, as in Spark. Every `compactInterval`-th manifest (default 10, as Spark's
 * fileSink.log.compactInterval) is written as a compact file holding all manifests so far, and the
 * files it covers are deleted, so opening the folder reads a bounded number of metadata files.
 *
 * Options: `maxRecordsPerFile`, `compactInterval`; json: `ignoreNullFields` (default true, as Spark);
 * csv: `header` (default true, so the csv source's default reads it back), `sep`/`delimiter` (`,`),
 * `quote` (`"`), `nullValue` (empty). CSV writes an empty string as `""`, which reads back as null (nullValue).
 * `deadLetterPath`: a folder for the rows the sink rejects (values outside their type's range; in CSV,
 * text that is not valid Unicode), written before the manifest; without it such a row fails the batch.
 */
export class FileSink implements Sink {
  readonly description: string;
  readonly supportedModes: readonly OutputMode[] = ['append'];
  private readonly folder: string;
  private readonly manifests: SinkManifests;
  private readonly maxRecordsPerFile: number;
  private readonly csv: CsvWriteSettings;
  private readonly ignoreNullFields: boolean;
  private encoder: { header: string | null; encode: RowEncoder } | null = null;
  private rowCheck: RowCheck | null = null;
  private readonly deadLetter: DeadLetterFolder | null;
  private queryId = '';
  private schemaDDL: string | null = null;
  /** The newest batch id with a manifest, or -1. */
  private newestCommitted = -1;
  private rejectedRows = 0;

  constructor(spec: SinkSpec, private readonly format: FileSinkFormat) {
    const { options } = spec;
    if (!spec.path) {
      throw new AnalysisError(`The ${format} sink needs an output folder: call .start(path) or set option 'path', ` +
        `e.g. .start('out/events').`, 'MISSING_PATH');
    }
    this.folder = resolve(spec.path);
    this.manifests = new SinkManifests(this.folder, options.integer('compactInterval', 10, 1));
    this.maxRecordsPerFile = options.integer('maxRecordsPerFile', 100_000, 0);
    this.ignoreNullFields = options.boolean('ignoreNullFields', true);
    this.csv = {
      header: options.boolean('header', true),
      delimiter: options.string(options.has('sep') ? 'sep' : 'delimiter', ',') || ',',
      quote: options.string('quote', '"') || '"',
      nullValue: options.string('nullValue', ''),
    };
    this.description = `FileSink[${spec.path}]`;
    this.deadLetter = DeadLetterFolder.fromOptions(options, this.description);
  }

  async open(context: SinkContext): Promise<void> {
    this.queryId = context.queryId;
    this.schemaDDL = schemaDDL(context.schema);
    if (this.format === 'csv') {
      const nested = context.schema.filter((f) => typeof f.type !== 'string');
      if (nested.length > 0) {
        const first = nested[0]!;
        const inner = typeof first.type !== 'string' && first.type.kind === 'struct' ? first.type.fields[0]?.name : undefined;
        throw new AnalysisError(`The csv sink cannot write column(s) ${nested.map((f) => `'${f.name}' (${typeToString(f.type)})`)
          .join(', ')}: CSV fields are flat. Select the nested fields as columns, e.g. ` +
          `.select(col('${first.name}.${inner ?? 'field'}').as('${first.name}_${inner ?? 'field'}'), …), or write format('json').`,
          'UNSUPPORTED_TYPE');
      }
      const { header, encode } = compileCsvEncoder(context.schema, this.csv);
      this.encoder = { header: this.csv.header ? header : null, encode };
    } else {
      this.encoder = { header: null, encode: compileJsonEncoder(context.schema, this.ignoreNullFields) };
    }
    // JSON escapes every string losslessly; CSV text is UTF-8 bytes, which a lone surrogate has no form in.
    this.rowCheck = compileRowCheck(context.schema, this.format === 'csv' ? wellFormedText : null);
    try {
      await mkdir(this.folder, { recursive: true });
    } catch (err) {
      throw this.ioError('create', this.folder, err);
    }
    const manifests = await this.manifests.load();
    manifests.forEach((m) => {
      if (m.queryId !== context.queryId) {
        const where = this.manifests.locate(m.batchId);
        throw new CheckpointError('SINK_FOLDER_OF_OTHER_QUERY', where, `${where} was written by query ${m.queryId}, but this ` +
          `query is ${context.queryId}: the output folder ${this.folder} belongs to a query with another checkpoint, and ` +
          'writing into it would skip batch ids that query already used. Write to a new folder; if you deleted the ' +
          'checkpoint on purpose, move or delete the output folder too.');
      }
    });
    this.newestCommitted = manifests[manifests.length - 1]?.batchId ?? -1;
    await this.removeOrphans(this.newestCommitted);
  }

  async addBatch(batchId: number, allRows: readonly Row[], digest: string): Promise<void> {
    const encoder = this.encoder;
    if (!encoder) throw new AnalysisError(`The ${this.description} is not open: start the query first.`, 'NOT_STARTED');
    this.rejectedRows = 0;
    const committed = this.manifests.get(batchId);
    if (isCommittedBatch(this.description, this.manifests.locate(batchId), batchId, digest, committed?.digest,
      this.newestCommitted, `folder; or delete ${METADATA_FOLDER}/${batchId} and the later manifests, and the output ` +
      'matches the backup again: the part files they list are removed at the next start')) return;
    const { accepted: rows, rejected } = splitRejected(allRows, this.rowCheck);
    if (rejected.length > 0 && !this.deadLetter) {
      throw rejectedRowError(this.description, batchId, rejected, `option 'deadLetterPath' (a folder)`);
    }
    await this.removeAttempt(batchId);
    await this.deadLetter?.record(this.queryId, batchId, rejected);
    const files: ManifestFile[] = [];
    const perFile = this.maxRecordsPerFile === 0 ? rows.length : this.maxRecordsPerFile;
    for (let from = 0; from < rows.length; from += perFile) {
      const to = Math.min(rows.length, from + perFile);
      const lines: string[] = encoder.header === null ? [] : [encoder.header];
      for (let i = from; i < to; i++) lines.push(encoder.encode(rows[i]!));
      lines.push('');
      const path = partName(batchId, files.length, this.format);
      files.push({ path, size: await this.writePart(path, Buffer.from(lines.join('\n'))), rows: to - from });
      if (files.length === 1) injectFault('midSink', batchId);
    }
    if (files.length === 0) injectFault('midSink', batchId);
    else await syncDir(this.folder);
    const manifest: Manifest = { queryId: this.queryId, batchId, digest, files, schema: this.schemaDDL };
    try {
      await this.manifests.add(manifest);
    } catch (err) {
      if (!(err instanceof FileExistsError)) throw err;
      throw new CheckpointError('CONCURRENT_WRITER', err.path, `${err.path} appeared while ` +
        `batch ${batchId} was being written: another query is writing to ${this.folder} at the same time. Give each ` +
        'query its own output folder.');
    }
    this.newestCommitted = Math.max(this.newestCommitted, batchId);
    this.rejectedRows = rejected.length;
  }

  metrics(): Readonly<Record<string, number>> {
    return { numRejectedRows: this.rejectedRows };
  }

  async stop(): Promise<void> {}

  /** Writes the file under a temp name, fsyncs it and renames it into place; returns its size. */
  private async writePart(name: string, data: Buffer): Promise<number> {
    const temp = join(this.folder, `.${name}.tmp`);
    try {
      await writeFileSynced(temp, data);
      await rename(temp, join(this.folder, name));
    } catch (err) {
      await rm(temp, { force: true });
      throw this.ioError('write', join(this.folder, name), err);
    }
    return data.length;
  }

  /** Deletes the part files an earlier, crashed attempt at this batch left (they are written in order n = 0, 1, …). */
  private async removeAttempt(batchId: number): Promise<void> {
    for (let n = 0; ; n++) {
      const name = partName(batchId, n, this.format);
      const removed = await Promise.all([name, `.${name}.tmp`].map((f) => unlink(join(this.folder, f)).then(() => true, (err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw this.ioError('delete', join(this.folder, f), err);
      })));
      if (!removed.includes(true)) return;
    }
  }

  /** Deletes part files (and their temp files) of batches after the newest manifest: left by a crash. */
  private async removeOrphans(newest: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch (err) {
      throw this.ioError('list', this.folder, err);
    }
    for (const name of names) {
      const m = PART_FILE.exec(name);
      if (m && Number(m[1]) > newest) await rm(join(this.folder, name), { force: true });
    }
  }

  private ioError(action: string, path: string, err: unknown): ConnectorError {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'ENOSPC' ? ' The disk is full: free space and restart the query; the batch was not committed.' : '';
    return new ConnectorError(code === 'ENOSPC' ? 'DISK_FULL' : 'FILE_SINK_IO', `The ${this.description} could not ${action} ` +
      `${path}: ${errorMessage(err)}.${hint}`, { cause: err });
  }
}
