import { CheckpointStorage } from '../checkpoint/storage.js';
import { AnalysisError } from '../common/errors.js';
import { unknownNameError } from '../common/nearest-name.js';
import { Row } from '../common/schema.js';

/**
 * The log a push source (format 'http') keeps what it acknowledged in, before a batch reads it: positions
 * 0, 1, 2, … in arrival order. The embedded default is the local WAL in the checkpoint folder; option
 * `wal` names another by URL (`nats://…`: a replicated JetStream stream), registered here by scheme so
 * the source needs no import of the system that implements it.
 */
export interface IngestLog {
  /** Where the log is, for messages. */
  readonly description: string;
  /** The position after the last durable entry known to this process (see {@link refresh}). */
  readonly end: number;
  /** The first position still held (older ones were discarded after their batches committed), as of {@link refresh}. */
  readonly first: number;
  readonly bytes: number;
  /** Records accepted but not yet durable (waiting for the next write). */
  readonly pendingRecords: number;
  readonly stats: IngestLogStats;
  /** The failure that stopped the log, if any: appends are refused until it is reopened. */
  readonly failed: Error | null;
  /** What a request with this key was given, when this process knows (the log may know more on append). */
  lookup(key: string): Promise<AppendResult | undefined>;
  /** Appends one request's rows; resolves once they are durable, with their positions. */
  append(rows: readonly Row[], requestKey: RequestKey | null): Promise<AppendResult>;
  /**
   * Learns the entries other processes appended and discarded (a shared log); a log only this process writes
   * knows them.
   */
  refresh(): Promise<void>;
  /** The rows at positions [from, to). */
  read(from: number, to: number): Promise<Row[]>;
  /** Positions before this one will never be read again. */
  discardBefore(position: number): Promise<void>;
  close(): Promise<void>;
}

/** The Idempotency-Key of a request and the fingerprint of its body (`sha256:<base64>`, see the http connector). */
export interface RequestKey {
  readonly key: string;
  readonly digest: string;
}

/** A request's result: its positions [start, end); `duplicate` when its key was already ingested. */
export interface AppendResult {
  readonly start: number;
  readonly end: number;
  readonly duplicate: boolean;
  /** The body digest stored with the key (to tell a true retry from a reused key); null when not known. */
  readonly digest: string | null;
}

/** Write counters, cumulative since open. */
export interface IngestLogStats {
  readonly groupCommits: number;
  readonly requests: number;
  readonly records: number;
  readonly bytes: number;
  readonly maxGroupRequests: number;
  readonly maxGroupRecords: number;
  /** Bytes cut off the newest segment on open (an unacknowledged tail of a local WAL). */
  readonly truncatedBytes: number;
}

export interface IngestLogOptions {
  /** The source's checkpoint folder (a local WAL lives in it; any log may keep small files there). */
  readonly storage: CheckpointStorage;
  /** How many keys, and for how long, a retry with the same Idempotency-Key gets its first result back. */
  readonly keys: { readonly maxKeys: number; readonly windowMs: number };
  /** Called when new entries are durable. */
  readonly onDurable: () => void;
}

export type IngestLogFactory = (url: string, options: IngestLogOptions) => Promise<IngestLog>;

const factories = new Map<string, IngestLogFactory>();

/** Registers the log for URLs `<scheme>://…` (done by the connector that implements it). */
export function registerIngestLog(scheme: string, factory: IngestLogFactory): void {
  if (factories.has(scheme)) {
    throw new AnalysisError(`An ingest log for '${scheme}://' URLs is already registered.`, 'DUPLICATE_FORMAT');
  }
  factories.set(scheme, factory);
}

/** Opens the log option `wal` names, or fails naming the option and the schemes known. */
export function openIngestLog(url: string, options: IngestLogOptions): Promise<IngestLog> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new AnalysisError(`Option 'wal' of the http source is '${url.replace(/\/\/[^@/]*@/, '//***@')}', which is not a URL: ` +
      "give one such as 'nats://host:4222,host:4223,host:4224/orders', or leave it out for the local WAL in the checkpoint.",
    'INVALID_OPTION');
  }
  const factory = factories.get(scheme);
  if (!factory) {
    throw unknownNameError({ what: "scheme of option 'wal'", given: scheme, known: factories.keys(), code: 'INVALID_OPTION',
      advice: 'Leave the option out for the local WAL in the checkpoint.' });
  }
  return factory(url, options);
}
