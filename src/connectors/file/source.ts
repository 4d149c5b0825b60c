import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CheckpointStorage } from '../../checkpoint/storage.js';
import { AnalysisError, CheckpointError, ConnectorError } from '../../common/errors.js';
import { Row, Schema } from '../../common/schema.js';
import { Offset, Source, SourceContext, SourceSpec } from '../../sources/source.js';
import { FileFormat, FileReader, fileReader } from './formats.js';
import { byAge, describeFiles, InputFiles } from './paths.js';
import { RowCollector, writeBadRecords } from './records.js';
import { SeenFilesLog } from './seen-log.js';
import { corruptColumnOf, FileSettings, fileSettings } from './settings.js';

/** A file source's offset: how many entries of its seen-files log (groups of admitted files) are covered. */
export interface FileOffset { readonly logOffset: number }

/**
 * `readStream.format('json' | 'csv' | 'text').load(folder)`: reads each new file of a folder once.
 *
 * Each `latestOffset` lists the folder, takes the files not in the seen-files log (oldest first by
 * modification time, then name; at most `maxFilesPerTrigger`), and durably appends them to the log as
 * the next offset before returning it. `getBatch(start, end)` reads exactly the files logged for the
 * offsets in (start, end], so a batch re-run after a crash reads the same files in the same order.
 * A file whose size changed since it was admitted is an error, not silently different input.
 * Files must appear complete (write, then rename into the folder); see {@link isIgnoredName}.
 */
export class FileSource implements Source {
  readonly description: string;
  readonly schema: Schema;
  private readonly settings: FileSettings;
  private readonly files: InputFiles;
  private readonly maxFilesPerTrigger: number | undefined;
  private readonly read: FileReader;
  private log: SeenFilesLog | null = null;
  private storage: CheckpointStorage | null = null;
  private queryId = '';
  /** availableNow: the files that existed when the trigger started; nothing else is admitted. */
  private snapshot: Set<string> | null = null;
  private lastBatch: { end: number; files: number; malformed: number } | null = null;

  constructor(spec: SourceSpec, format: FileFormat) {
    this.settings = fileSettings(spec, format, true);
    this.schema = this.settings.schema!;
    this.files = new InputFiles(this.settings.path, spec.options);
    this.maxFilesPerTrigger = spec.options.integer('maxFilesPerTrigger', undefined, 1);
    this.read = fileReader({ ...this.settings, schema: this.schema, corruptColumn: corruptColumnOf(this.schema, this.settings) });
    this.description = `FileSource[${this.settings.path}]`;
  }

  async open(context: SourceContext): Promise<void> {
    if (await this.files.kind() === 'file') {
      throw new AnalysisError(`The ${this.settings.format} source path '${this.settings.path}' is a file; a streaming ` +
        'file source reads a folder (new files appear in it). Point it at the folder, or use a glob.', 'INVALID_PATH');
    }
    const log = new SeenFilesLog(context.storage);
    await log.load();
    this.log = log;
    this.storage = context.storage;
    this.queryId = context.queryId;
  }

  async latestOffset(start: Offset | null): Promise<Offset | null> {
    const log = this.openLog();
    const from = this.positionOf(start);
    this.lastBatch = null;
    if (from > 0) log.filesOf(from);
    // Offsets logged but not yet planned (the engine stopped or crashed in between) go first, as logged.
    if (log.latest > from) return { logOffset: this.pendingEnd(log, from) };
    const candidates = (await this.files.list()).filter((p) => !log.has(p) && (this.snapshot === null || this.snapshot.has(p)));
    const fresh = (await describeFiles(candidates)).sort(byAge).slice(0, this.maxFilesPerTrigger);
    if (fresh.length === 0) return start === null ? null : { logOffset: from };
    return { logOffset: await log.append(fresh) };
  }

  async getBatch(start: Offset | null, end: Offset): Promise<Row[]> {
    const log = this.openLog();
    const from = this.positionOf(start);
    const to = this.positionOf(end);
    const files = log.filesBetween(from, to);
    const { badRecordsPath } = this.settings;
    const out = new RowCollector({
      mode: this.settings.mode, corruptColumn: corruptColumnOf(this.schema, this.settings), keepBadRecords: badRecordsPath !== null,
    });
    for (const file of files) {
      const bytes = await this.read(file.path, out);
      if (bytes !== file.size) {
        throw new ConnectorError('FILE_CHANGED', `Input file ${file.path} has ${bytes} bytes but had ${file.size} when the ` +
          `${this.description} admitted it: it was changed after it appeared, so this batch cannot be read as it was ` +
          'planned. Files must be complete when they appear in the folder: write them elsewhere (or as .name / ' +
          'name.tmp) and rename them in; never append to or rewrite a file the source has seen.');
      }
    }
    if (badRecordsPath !== null) {
      await writeBadRecords(join(badRecordsPath, this.queryId), `${this.badRecordsTag()}_${from + 1}-${to}.json`, out.badRecords);
    }
    this.lastBatch = { end: to, files: files.length, malformed: out.malformedCount };
    return out.rows;
  }

  /** The files the range admitted: after a restored checkpoint, the same log offsets can list others. */
  async inputIdentity(start: Offset | null, end: Offset): Promise<string> {
    const files = this.openLog().filesBetween(this.positionOf(start), this.positionOf(end));
    return JSON.stringify(files.map((f) => [f.path, f.size, f.mtimeMs]));
  }

  async commit(): Promise<void> {
    // The seen-files log is kept whole: it is what stops a file from being admitted twice.
  }

  async prepareForTriggerAvailableNow(): Promise<void> {
    this.snapshot = new Set(await this.files.list());
  }

  metrics(end: Offset | null): Record<string, number> {
    const last = this.lastBatch;
    if (end === null || last === null || last.end !== this.positionOf(end)) return {};
    return { numFilesRead: last.files, numMalformedRecords: last.malformed };
  }

  async stop(): Promise<void> {}

  /** The newest logged offset after `from` whose files, added up, stay within maxFilesPerTrigger (at least one). */
  private pendingEnd(log: SeenFilesLog, from: number): number {
    if (this.maxFilesPerTrigger === undefined) return log.latest;
    let end = from + 1;
    let count = log.filesOf(end).length;
    while (end < log.latest && count + log.filesOf(end + 1).length <= this.maxFilesPerTrigger) {
      end++;
      count += log.filesOf(end).length;
    }
    return end;
  }

  /** Names bad-records files per source folder, so two file sources of one query do not share names. */
  private badRecordsTag(): string {
    return `${this.settings.format}-${createHash('sha1').update(this.files.base).digest('hex').slice(0, 8)}`;
  }

  private openLog(): SeenFilesLog {
    if (!this.log) throw new AnalysisError(`The ${this.description} is not open: start the query first.`, 'NOT_STARTED');
    return this.log;
  }

  private positionOf(offset: Offset | null): number {
    if (offset === null) return 0;
    const n = (offset as Partial<FileOffset>).logOffset;
    if (typeof offset !== 'object' || !Number.isSafeInteger(n) || (n as number) < 0) {
      const where = this.storage?.description ?? this.description;
      throw new CheckpointError('OFFSET_FOREIGN', where, `The ${this.description} got offset ${JSON.stringify(offset)} ` +
        'from the offsets log; its offsets look like {"logOffset": <n>}. The checkpoint belongs to another query: ' +
        'use a new checkpointLocation.');
    }
    return n as number;
  }
}
