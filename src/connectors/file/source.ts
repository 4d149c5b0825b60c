import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointStorage } from '../../checkpoint/storage.js';
import { AnalysisError, CheckpointError, ConnectorError, MalformedRecordError } from '../../common/errors.js';
import { mapInBatches } from '../../common/parallel.js';
import { Row, Schema } from '../../common/schema.js';
import { Offset, ScanPushdown, Source, SourceContext, SourceSpec, SplitRead } from '../../sources/source.js';
import { FileFormat, FileReader, fileReader, FormatSettings, readsByLine } from './formats.js';
import { UnseenFiles } from './discovery.js';
import { InputFile, InputFiles } from './paths.js';
import { BadRecord, RowCollector, writeBadRecords } from './records.js';
import { SeenFilesLog } from './seen-log.js';
import { FilePart, mergeSummaries, PartSummary, splitFiles } from './split-read.js';
import { corruptColumnOf, FileSettings, fileSettings } from './settings.js';

/** A file source's offset: how many entries of its seen-files log (groups of admitted files) are covered. */
export interface FileOffset { readonly logOffset: number }

/**
 * `readStream.format('json' | 'csv' | 'text').load(folder)`: reads each new file of a folder once.
 *
 * Each `latestOffset` takes the files not in the seen-files log (oldest first by modification time,
 * then name; at most `maxFilesPerTrigger`; see {@link UnseenFiles} for how listing is kept cheap), and
 * durably appends them, with their size and inode, to the log as the next offset before returning it.
 * `getBatch(start, end)` reads exactly the files logged for the offsets in (start, end], each up to the
 * size it had when admitted, so a batch re-run after a crash reads the same bytes in the same order even
 * if a file grew in between. What is appended to a file after it was admitted is never read (as in
 * Spark, a seen file is not read again); a file replaced (another inode) or truncated below its
 * admitted size cannot be re-read as planned and fails the batch with `FILE_CHANGED`.
 * Files must appear complete (write, then rename into the folder); see {@link isIgnoredName}.
 */
export class FileSource implements Source {
  readonly description: string;
  readonly schema: Schema;
  private readonly settings: FileSettings;
  private readonly files: InputFiles;
  private readonly maxFilesPerTrigger: number | undefined;
  private readonly compactInterval: number;
  private readonly unseen: UnseenFiles;
  private format: FormatSettings;
  private read: FileReader;
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
    this.compactInterval = spec.options.integer('compactInterval', 10, 1);
    this.unseen = UnseenFiles.of(this.files, spec.options.integer('relistIntervalMs', 60_000, 0));
    // Only the reader's settings: they cross to the threads of a split read as plain data.
    this.format = { format, csv: this.settings.csv, schema: this.schema, corruptColumn: corruptColumnOf(this.schema, this.settings) };
    this.read = fileReader(this.format);
    this.description = `FileSource[${this.settings.path}]`;
  }

  /**
   * JSON reads only the query's columns and keeps only the rows its pushed filter passes (malformed
   * records are handled by the mode as before). With a corrupt-record column everything is read, since
   * the record's fit to the whole schema decides what that column holds.
   */
  pushDown({ columns, filter }: ScanPushdown): void {
    if (this.settings.format !== 'json' || this.format.corruptColumn !== null) return;
    const unreadColumns = new Set(columns === null ? [] : this.schema.map((f) => f.name).filter((name) => !columns.has(name)));
    // The pruned columns cross to a split read's threads with the format; the filter, a function, does not
    // (there the plan's own filter, which stays above the scan, drops those rows).
    this.format = { ...this.format, unreadColumns };
    this.read = fileReader({ ...this.format, keep: filter });
  }

  async open(context: SourceContext): Promise<void> {
    if (await this.files.kind() === 'file') {
      throw new AnalysisError(`The ${this.settings.format} source path '${this.settings.path}' is a file; a streaming ` +
        'file source reads a folder (new files appear in it). Point it at the folder, or use a glob.', 'INVALID_PATH');
    }
    const log = new SeenFilesLog(context.storage, this.compactInterval);
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
    const snapshot = this.snapshot;
    const fresh = await this.unseen.next((p) => !log.has(p) && (snapshot === null || snapshot.has(p)), this.maxFilesPerTrigger);
    if (fresh.length === 0) return start === null ? null : { logOffset: from };
    const end = await log.append(fresh);
    this.unseen.admitted(fresh);
    return { logOffset: end };
  }

  async getBatch(start: Offset | null, end: Offset): Promise<Row[]> {
    const { from, to, files } = await this.batchFiles(start, end);
    const out = new RowCollector({ mode: this.settings.mode, corruptColumn: this.format.corruptColumn, keepBadRecords: this.keepsBadRecords });
    for (const file of files) {
      const { bytes } = await this.read(file.path, out, file.size);
      if (bytes !== file.size) throw this.fileShort(file, bytes);
    }
    await this.finishBatch(from, to, files.length, out.badRecords, out.malformedCount);
    return out.rows;
  }

  /** The batch's files in parts read by other threads, by the same reader and policy as {@link getBatch}. */
  async splitRead(start: Offset | null, end: Offset, parts: number): Promise<SplitRead> {
    const { from, to, files } = await this.batchFiles(start, end);
    const split = splitFiles(files, parts, readsByLine(this.format.format));
    const { mode } = this.settings;
    return {
      readerModule: new URL('./split-read.js', import.meta.url).href,
      parts: split.map((pieces): FilePart => ({ format: this.format, mode, keepBadRecords: this.keepsBadRecords, pieces })),
      complete: async (summaries) => {
        const merged = mergeSummaries(split, summaries as readonly PartSummary[]);
        const { failure } = merged;
        if (failure?.kind === 'malformed') throw new MalformedRecordError(failure.path, failure.line, failure.reason);
        if (failure?.kind === 'error') throw new ConnectorError(failure.code, failure.message);
        if (failure?.kind === 'short') {
          const file = files.find((f) => f.path === failure.path)!;
          throw this.fileShort(file, failure.bytes);
        }
        await this.finishBatch(from, to, files.length, merged.badRecords, merged.malformed);
      },
    };
  }

  /** The files logged for (start, end], each checked to be the file admitted. */
  private async batchFiles(start: Offset | null, end: Offset): Promise<{ from: number; to: number; files: readonly InputFile[] }> {
    const log = this.openLog();
    const from = this.positionOf(start);
    const to = this.positionOf(end);
    const files = log.filesBetween(from, to);
    await mapInBatches(files, 64, (file) => this.checkSameFile(file));
    return { from, to, files };
  }

  private get keepsBadRecords(): boolean {
    return this.settings.badRecordsPath !== null;
  }

  /** After a batch's files were read: its bad-records file, its metrics. */
  private async finishBatch(from: number, to: number, files: number, badRecords: readonly BadRecord[], malformed: number): Promise<void> {
    const { badRecordsPath } = this.settings;
    if (badRecordsPath !== null) {
      await writeBadRecords(join(badRecordsPath, this.queryId), `${this.badRecordsTag()}_${from + 1}-${to}.json`, badRecords);
    }
    this.lastBatch = { end: to, files, malformed };
  }

  /** The files the range admitted: after a restored checkpoint, the same log offsets can list others. */
  async inputIdentity(start: Offset | null, end: Offset): Promise<string> {
    const files = this.openLog().filesBetween(this.positionOf(start), this.positionOf(end));
    return JSON.stringify(files.map((f) => [f.path, f.size, f.mtimeMs]));
  }

  async commit(): Promise<void> {
    // Every file stays in the seen-files log (compacted, never purged): it is what stops a file from being admitted twice.
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

  /** The file at the path is still the one admitted (same inode) and no shorter; a missing file fails in the read. */
  private async checkSameFile(file: InputFile): Promise<void> {
    const now = await stat(file.path).catch(() => null);
    if (now === null) return;
    if (file.ino !== undefined && file.ino !== 0 && now.ino !== file.ino) {
      throw this.fileChanged(file, 'another file was put in its place (its inode changed)', 'Move the original file back ' +
        'under that name');
    }
    if (now.size < file.size) {
      throw this.fileChanged(file, `it was truncated to ${now.size} bytes`, `Restore its first ${file.size} bytes`);
    }
  }

  /** A read of `file` ended at `bytes`, before the size it was admitted with. */
  private fileShort(file: InputFile, bytes: number): ConnectorError {
    return this.fileChanged(file, `it has only ${bytes} bytes`, `Restore its first ${file.size} bytes`);
  }

  private fileChanged(file: InputFile, what: string, remedy: string): ConnectorError {
    return new ConnectorError('FILE_CHANGED', `Input file ${file.path} is not the file the ${this.description} admitted ` +
      `with ${file.size} bytes: ${what}, so this batch cannot be re-read as it was planned. ${remedy} to let the ` +
      'query continue, or start it with a new checkpointLocation. Files must be complete when they appear in the ' +
      'folder: write them elsewhere (or as .name / name.tmp) and rename them in; never rewrite a file the source ' +
      'has seen (bytes appended after it was admitted are not read).');
  }

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
