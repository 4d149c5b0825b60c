import { createHash } from 'node:crypto';
import { AnalysisError, CheckpointError, ConnectorError } from '../../common/errors.js';
import { Row, Schema } from '../../common/schema.js';
import { hasDecimals, withDecimalsRevived } from '../../codec/json-values.js';
import { IngestLog, openIngestLog } from '../../sources/ingest-log.js';
import { Offset, Source, SourceContext, SourceSpec } from '../../sources/source.js';
import { ConnectionStats, IngestServer, ServerSettings } from './server.js';
import { IngestWal, WalStats } from './wal.js';

export { IngestWal } from './wal.js';
export type { AppendResult, WalStats } from './wal.js';

/** Group-commit counters of the WAL, connections the server could not take, and where the query stands. */
export interface HttpIngestStats extends WalStats, ConnectionStats {
  readonly walEnd: number;
  readonly committed: number;
  readonly backlog: number;
}

/** The source's offset: the number of records of the WAL a batch has read up to. */
interface HttpOffset { readonly end: number }

const MiB = 1024 * 1024;
/** How often a standby's source reads how far the active query got through the shared log. */
const STANDBY_REFRESH_MS = 1_000;

/**
 * `format('http')`: an HTTP ingest source with a durable write-ahead log. Clients POST records (JSON
 * lines or a JSON array) to `/ingest`; each request is appended to a segmented WAL in the checkpoint
 * (`sources/<i>/wal/`), fdatasync'd with group commit, and only then answered 200 with the positions
 * its records got: `{"offsets": {"start": a, "end": b}}`, records a .. b-1 counted from 0. The source's
 * offset is `{"end": n}` (n records), and a batch reads the records in [start.end, end.end) from the WAL,
 * so any range replays after a crash. Segments are deleted once a committed batch has read past them.
 *
 * Options: `port` (required; 0 picks a free one, see {@link port}), `host` (127.0.0.1), `maxBodyBytes`
 * (10 MiB, else 413), `maxBacklogRecords` (1,000,000 records not yet committed by the query, else 429
 * with Retry-After; a request larger than that alone gets 413), `authToken` (a bearer token, else 401),
 * `authenticateHealth` (false: whether GET /health needs the token too), `maxConnections` (512),
 * `headersTimeout` ('10 seconds'), `requestTimeout` ('1 minute'), `maxRecordsPerTrigger`, `segmentBytes`
 * (64 MiB), `idempotencyKeys` (100,000) and `idempotencyWindow` ('24 hours'): how many keys, and for how
 * long, a retry with the same Idempotency-Key header gets the original offsets back instead of being
 * ingested again. The schema is required; records are checked against it (see convert.ts) and a
 * request with one bad record is refused whole (400 naming the line).
 *
 * Option `wal` puts the log elsewhere, by URL (see sources/ingest-log.ts): `nats://host:port,…/<name>`
 * keeps it on a replicated JetStream stream, where a request is acknowledged once a quorum of the
 * servers has it (see the nats connector's ingest-log.ts for what positions and keys mean there). Such a log
 * is shared by every instance of the query, so a standby listens and accepts too (see acceptWhileStandby).
 */
export class HttpSource implements Source {
  readonly description = 'HttpIngestSource';
  readonly schema: Schema;
  private readonly settings: ServerSettings;
  private readonly maxRecordsPerTrigger: number | undefined;
  private readonly segmentBytes: number;
  private readonly keyLimits: { maxKeys: number; windowMs: number };
  /** Option `wal`: a URL of a replicated log (e.g. `nats://…`); undefined: the local WAL in the checkpoint folder. */
  private readonly walUrl: string | undefined;
  private wal: IngestLog | null = null;
  private server: IngestServer | null = null;
  private committedEnd = 0;
  private target: number | null = null;
  /** Records per second the query commits (smoothed), to tell refused clients when to come back. */
  private drainRate = 0;
  private lastCommit: { at: number; end: number } | null = null;
  /** The digest of the range the last getBatch read, for inputIdentity. */
  private lastRange: { from: number; to: number; identity: string } | null = null;
  /** The source's checkpoint folder, for messages. */
  private folder = 'the checkpoint';
  /** Set while a standby accepts (see acceptWhileStandby): its look at how far the active query got. */
  private standbyRefresh: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(spec: SourceSpec) {
    if (!spec.schema) {
      throw new AnalysisError('The http source needs a schema for the records it accepts: call ' +
        ".schema('ts TIMESTAMP, user STRING, amount DOUBLE') before load().", 'MISSING_SCHEMA');
    }
    if (spec.path !== null) {
      throw new AnalysisError(`The http source reads no path (got '${spec.path}'): call load() without one and set ` +
        "option 'port' (and 'host').", 'INVALID_OPTION');
    }
    const o = spec.options;
    const port = Number(o.required('port', 'the TCP port to listen on, or 0 for any free port'));
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new AnalysisError(`Option 'port' of the http source must be an integer from 0 to 65535, got '${o.string('port')}'.`,
        'INVALID_OPTION');
    }
    this.schema = spec.schema;
    this.settings = {
      host: o.string('host', '127.0.0.1'), port,
      maxBodyBytes: o.integer('maxBodyBytes', 10 * MiB, 1),
      maxBacklogRecords: o.integer('maxBacklogRecords', 1_000_000, 1),
      authToken: o.string('authToken'),
      authenticateHealth: o.boolean('authenticateHealth', false),
      maxConnections: o.integer('maxConnections', 512, 1),
      headersTimeoutMs: o.duration('headersTimeout', '10 seconds'),
      requestTimeoutMs: o.duration('requestTimeout', '1 minute'),
      schema: spec.schema,
    };
    const { headersTimeoutMs, requestTimeoutMs } = this.settings;
    if (headersTimeoutMs < 1 || requestTimeoutMs < headersTimeoutMs) {
      throw new AnalysisError(`Options 'headersTimeout' (${headersTimeoutMs} ms) and 'requestTimeout' ` +
        `(${requestTimeoutMs} ms) of the http source must be positive, and a request's headers are part of it: ` +
        'make requestTimeout at least headersTimeout.', 'INVALID_OPTION');
    }
    if (this.settings.authenticateHealth && this.settings.authToken === undefined) {
      throw new AnalysisError("Option 'authenticateHealth' of the http source puts GET /health behind the bearer " +
        "token, but no 'authToken' is set: set one, or drop authenticateHealth.", 'INVALID_OPTION');
    }
    this.maxRecordsPerTrigger = o.integer('maxRecordsPerTrigger', undefined, 1);
    this.segmentBytes = o.integer('segmentBytes', 64 * MiB, 1);
    this.walUrl = o.string('wal');
    this.keyLimits = { maxKeys: o.integer('idempotencyKeys', 100_000, 1), windowMs: o.duration('idempotencyWindow', '24 hours') };
  }

  /** The bound port (after open); the one to use when option `port` is 0. */
  get port(): number {
    return this.address().port;
  }

  address(): { host: string; port: number } {
    if (!this.server) throw new AnalysisError('The http source is not listening: call open() (start the query) first.', 'NOT_STARTED');
    return this.server.address();
  }

  get stats(): HttpIngestStats {
    const wal = this.openWal();
    return { ...wal.stats, ...this.connectionStats(), walEnd: wal.end, committed: this.committedEnd, backlog: this.backlog() };
  }

  /**
   * A standby's source accepts requests into a replicated log (option `wal`), which the active instance reads;
   * it reads nothing itself. With the local WAL it does not listen: that WAL would be in this instance's folder,
   * which the active never reads and a lost machine takes with it. Until open(), it learns every second from
   * the log how far the active query got, for its backlog limit and GET /health. A port taken on this machine
   * (the active instance runs here too) is waited for: it listens at takeover, as the local WAL does.
   */
  async acceptWhileStandby(context: SourceContext): Promise<void> {
    if (this.walUrl === undefined) return;
    let wal: IngestLog;
    try {
      wal = await this.listen(context);
    } catch (err) {
      const inUse = err instanceof ConnectorError && err.code === 'HTTP_LISTEN' &&
        (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
      if (!inUse) throw err;
      const { host, port } = this.settings;
      process.emitWarning(`The http source of this standby cannot listen on ${host}:${port}: the port is in use (by the ` +
        'active instance on this machine, say). It listens once it takes over; give it a port of its own to take ' +
        'requests while it waits.', { code: 'WEIR_HTTP_STANDBY_PORT' });
      return;
    }
    this.standbyRefresh = setInterval(() => {
      this.refreshing ??= wal.refresh()
        .then(() => { this.committedEnd = Math.max(this.committedEnd, wal.first); })
        .catch(() => undefined) // the cluster may be away for a while: the next tick asks again, appends say so themselves
        .finally(() => { this.refreshing = null; });
    }, STANDBY_REFRESH_MS);
    this.standbyRefresh.unref();
  }

  /** Opens the log and the server, or (after acceptWhileStandby, at takeover) goes on with those it has. */
  async open(context: SourceContext): Promise<void> {
    this.endStandby();
    await this.refreshing;
    if (this.wal === null) await this.listen(context);
  }

  private async listen(context: SourceContext): Promise<IngestLog> {
    this.folder = context.storage.description;
    const logOptions = { storage: context.storage, keys: this.keyLimits, onDurable: context.notifyDataAvailable };
    const wal = this.walUrl === undefined
      ? await IngestWal.open(context.storage, { ...logOptions, segmentBytes: this.segmentBytes })
      : await openIngestLog(this.walUrl, logOptions);
    this.wal = wal;
    this.committedEnd = wal.first;
    try {
      this.server = await IngestServer.listen(this.settings, {
        wal,
        backlog: () => this.backlog(),
        committed: () => this.committedEnd,
        standby: () => this.standbyRefresh !== null,
        fenced: () => context.storage.fenceError?.() ?? null,
        retryAfterSeconds: (records) => this.retryAfterSeconds(records),
      });
    } catch (err) {
      await wal.close();
      this.wal = null;
      throw err;
    }
    return wal;
  }

  private endStandby(): void {
    if (this.standbyRefresh !== null) clearInterval(this.standbyRefresh);
    this.standbyRefresh = null;
  }

  async latestOffset(start: Offset | null): Promise<Offset | null> {
    const wal = this.openWal();
    // A WAL that can no longer take records stops the query; a restart recovers the WAL.
    if (wal.failed) throw wal.failed;
    await wal.refresh();
    const from = this.positionOf(start);
    if (from > wal.end) {
      throw new CheckpointError('WAL_BEHIND', this.folder, `The offsets log of this query has read ${from} records ` +
        `of the http source, but its ingest WAL in ${this.folder} ends at record ${wal.end}: WAL segments were removed ` +
        'or replaced. Restore the checkpoint folder as a whole, or start the query with a new checkpointLocation.');
    }
    // The engine starts from its last committed offset: the backlog begins there.
    this.committedEnd = Math.max(this.committedEnd, from);
    let end = Math.min(wal.end, this.target ?? Infinity);
    if (this.maxRecordsPerTrigger !== undefined) end = Math.min(end, from + this.maxRecordsPerTrigger);
    end = Math.max(end, from);
    if (start === null && end === 0) return null;
    return { end } satisfies HttpOffset;
  }

  async getBatch(start: Offset | null, end: Offset): Promise<Row[]> {
    const [from, to] = [this.positionOf(start), this.positionOf(end)];
    const rows = this.revived(await this.openWal().read(from, to));
    this.lastRange = { from, to, identity: contentDigest(rows) };
    return rows;
  }

  /**
   * What the range holds: WAL positions alone do not name it, since a checkpoint restored from a backup
   * restores the WAL too and new records then take the positions the lost ones had. The batch's own
   * read (getBatch, just before) already computed it.
   */
  async inputIdentity(start: Offset | null, end: Offset): Promise<string> {
    const [from, to] = [this.positionOf(start), this.positionOf(end)];
    const last = this.lastRange;
    if (last !== null && last.from === from && last.to === to) return last.identity;
    return contentDigest(this.revived(await this.openWal().read(from, to)));
  }

  /** The WAL holds rows as JSON, where a decimal is its text: read back as the decimal it was. */
  private revived(rows: Row[]): Row[] {
    if (!this.schema.some((f) => hasDecimals(f.type))) return rows;
    const struct = { kind: 'struct', fields: this.schema } as const;
    return rows.map((r) => withDecimalsRevived(r, struct) as Row);
  }

  async commit(end: Offset): Promise<void> {
    const position = this.positionOf(end);
    const now = Date.now();
    if (this.lastCommit && now > this.lastCommit.at && position > this.lastCommit.end) {
      const rate = ((position - this.lastCommit.end) * 1000) / (now - this.lastCommit.at);
      this.drainRate = this.drainRate === 0 ? rate : 0.7 * this.drainRate + 0.3 * rate;
    }
    this.lastCommit = { at: now, end: position };
    this.committedEnd = Math.max(this.committedEnd, position);
    await this.openWal().discardBefore(this.committedEnd);
  }

  async prepareForTriggerAvailableNow(): Promise<void> {
    this.target = this.openWal().end;
  }

  metrics(end: Offset | null): Record<string, number> {
    const wal = this.openWal();
    return { backlog: Math.max(0, wal.end - this.positionOf(end)), walEnd: wal.end, walBytes: wal.bytes, ...this.connectionStats() };
  }

  /** Stops listening (requests still sending bodies are cut off, queued ones answered), then closes the WAL. */
  async stop(): Promise<void> {
    this.endStandby();
    await this.refreshing;
    const server = this.server;
    this.server = null;
    await server?.close();
    const wal = this.wal;
    this.wal = null;
    await wal?.close();
  }

  private connectionStats(): ConnectionStats {
    return this.server?.connectionStats ?? { refusedConnections: 0, acceptFailures: 0 };
  }

  private backlog(): number {
    const wal = this.openWal();
    return wal.end + wal.pendingRecords - this.committedEnd;
  }

  private retryAfterSeconds(records: number): number {
    if (this.drainRate <= 0) return 1;
    const excess = this.backlog() + records - this.settings.maxBacklogRecords;
    return Math.min(60, Math.max(1, Math.ceil(excess / this.drainRate)));
  }

  private openWal(): IngestLog {
    if (!this.wal) throw new AnalysisError('The http source is not open: start the query first.', 'NOT_STARTED');
    return this.wal;
  }

  private positionOf(offset: Offset | null): number {
    if (offset === null) return 0;
    const end = (offset as Partial<HttpOffset>).end;
    if (typeof offset !== 'object' || !Number.isSafeInteger(end) || (end as number) < 0) {
      throw new CheckpointError('OFFSET_FOREIGN', this.folder, `The http source of ${this.folder} got offset ` +
        `${JSON.stringify(offset)} from the offsets log; its offsets look like {"end": <records>}. The checkpoint ` +
        'belongs to another query: use a new checkpointLocation.');
    }
    return end as number;
  }
}

function contentDigest(rows: readonly Row[]): string {
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}
