import { CheckpointStorage } from '../checkpoint/storage.js';
import { Options } from '../common/options.js';
import { Row, Schema } from '../common/schema.js';

/** A source's position. Sources define its shape; it must survive a JSON round trip unchanged. */
export type Offset = unknown;

/** What a source gets when its query starts. */
export interface SourceContext {
  /** The source's private folder of the checkpoint (`sources/<i>/`): seen-files log, ingest WAL, … */
  readonly storage: CheckpointStorage;
  readonly queryId: string;
  /** Wakes the batch loop when new data arrived (push sources), so it does not wait for its next poll. */
  readonly notifyDataAvailable: () => void;
}

/**
 * A replayable streaming source. The engine asks for the latest offset, logs the range in its WAL,
 * then reads exactly that range; after the batch commits it tells the source what it may discard.
 * `getBatch(start, end)` must return the same rows every time it is called with the same range,
 * including in a new process after a crash.
 */
export interface Source {
  /** Shown in progress and `weir inspect`, e.g. `FileSource[data/events]`. */
  readonly description: string;
  readonly schema: Schema;
  /**
   * Optional, called once before `open` when the query needs less than every row and column (see
   * ScanPushdown); a source may use it to read less, or ignore it.
   */
  pushDown?(pushdown: ScanPushdown): void;
  /**
   * Optional, for a query started as a standby (option `standby`), called once while it waits for the active
   * instance's lease: a source that can take input without reading it (e.g. accept requests into a log every
   * instance shares, which only the active one reads) starts doing so; one that cannot (its log would live in
   * this instance's own folder, lost with it) does nothing. Until `open` it must not read its input, move a
   * position or write `context.storage`. At takeover `open` is called on the same object with the same
   * context, and continues from what this started (a listening port stays open).
   */
  acceptWhileStandby?(context: SourceContext): Promise<void>;
  /** Called once before the first batch; recover durable state from `context.storage` here. */
  open(context: SourceContext): Promise<void>;
  /**
   * The newest offset a batch starting at `start` may read up to, honouring the source's read
   * limits (`maxFilesPerTrigger`, `maxRecordsPerTrigger`). Null: no data ever. Equal to `start`: nothing new.
   */
  latestOffset(start: Offset | null): Promise<Offset | null>;
  /** The rows in (start, end]. Must be deterministic for a given range. */
  getBatch(start: Offset | null, end: Offset): Promise<Row[]>;
  /**
   * What the range (start, end] holds, when its offsets alone do not name it: offsets that are
   * positions in a log the checkpoint keeps, which a checkpoint restored from a backup can fill with
   * other content. Part of the batch digest sinks compare before skipping a committed batch id.
   * Omitted by sources whose offsets name their content for good (stream sequence numbers).
   */
  inputIdentity?(start: Offset | null, end: Offset): Promise<string>;
  /**
   * The read of (start, end] split into `parts` parts that other threads read (a query on worker
   * threads): the same rows as `getBatch`, in the same order when the parts' rows are put one after
   * the other. Omitted by sources whose reads cannot leave the thread that owns them.
   */
  splitRead?(start: Offset | null, end: Offset, parts: number): Promise<SplitRead>;
  /** Batches up to `end` are committed: data up to it may be discarded. */
  commit(end: Offset): Promise<void>;
  /**
   * `{ availableNow: true }` trigger: fix the target as what is available now; later `latestOffset`
   * calls never go past it (but still honour read limits).
   */
  prepareForTriggerAvailableNow?(): Promise<void>;
  /** Source-specific numbers for progress (e.g. `lag`). */
  metrics?(end: Offset | null): Record<string, number | string>;
  /** Releases files, sockets and servers. */
  stop(): Promise<void>;
}

/**
 * What a query needs of a source's rows, as Spark pushes a required schema and filters into its scans.
 * `columns`: the columns the query reads (null: all); a source may leave the others null, unconverted
 * and unchecked. `filter`: a test the query applies to every row right away (null: none); a source
 * may drop the rows that fail it (the query's filter still runs, so a source that keeps them is correct).
 */
export interface ScanPushdown {
  readonly columns: ReadonlySet<string> | null;
  readonly filter: ((row: Row) => boolean) | null;
}

/** What a user gave `readStream` / `read`: format, options, optional schema and path. */
export interface SourceSpec {
  readonly format: string;
  readonly options: Options;
  readonly schema: Schema | null;
  readonly path: string | null;
}

/** Compares offsets by value; offsets are JSON data. */
export function sameOffset(a: Offset | null, b: Offset | null): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * A batch's read in parts that any thread can do. A part is structured-clone data; the thread reading
 * it loads `readerModule` (a module URL) and calls its export `readPart(part)`, a {@link PartReader}.
 */
export interface SplitRead {
  readonly readerModule: string;
  /** In batch order: part i's rows come before part i + 1's. */
  readonly parts: readonly unknown[];
  /**
   * Called on the reading query's thread with each part's summary, in part order, once every part was
   * read: checks the read as a whole (throws the error `getBatch` would have thrown) and does what
   * `getBatch` does besides returning rows (bad-records files, metrics).
   */
  complete(summaries: readonly unknown[]): Promise<void>;
}

/** What a `readerModule` exports as `readPart`: a part's rows and a summary (structured-clone data) for `complete`. */
export type PartReader = (part: unknown) => Promise<{ rows: Row[]; summary: unknown }>;
