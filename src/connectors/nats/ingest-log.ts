import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos } from '@nats-io/transport-node';
import { ConnectorError, errorMessage, WeirError } from '../../common/errors.js';
import { Row } from '../../common/schema.js';
import { AppendResult, IngestLog, IngestLogOptions, IngestLogStats, RequestKey } from '../../sources/ingest-log.js';
import { parseJetStreamLocation, replicasFor } from './checkpoint-location.js';
import { connectJetStream, isTransientNatsFailure, JetStreamHandle, retryTransient } from './client.js';
import { readSequenceRange } from './range-read.js';

const DIGEST_HEADER = 'Weir-Body-Digest';
/**
 * How long an append waits for a quorum before the request is refused (503): long enough for a stream
 * to elect a new leader after a server loss, short enough for a client to be told and retry elsewhere.
 */
const APPEND_WAIT_MS = 5_000;
/** One publish waits this long for its acknowledgement (the stream's quorum) before it is tried again. */
const PUBLISH_TIMEOUT_MS = 2_000;
/** Messages asked for at once by a read. */
const FETCH_CHUNK = 256;
/** Rows of the newest requests this process appended, kept so the active query reads its own ingest without the network. */
const TAIL_CACHE_REQUESTS = 10_000;

/**
 * The http source's ingest log on a JetStream stream (option `wal` 'nats://host:port[,…]/<name>[?replicas=3]'):
 * stream `WEIR_INGEST_<name>` on subject `weir.ingest.<name>`, one message per request holding its records
 * as JSON lines (a request is taken whole or not at all). Position p is the stream's message p + 1: with
 * this log, positions (the offsets clients get back, maxRecordsPerTrigger, maxBacklogRecords) count requests.
 *
 * A request is acknowledged once JetStream acknowledged its message: the stream's leader stored it and a
 * quorum of its replicas (2 of 3 at R3) have it, so the loss of any one server loses nothing acknowledged.
 * Without a quorum the publish gets no acknowledgement, and after {@link APPEND_WAIT_MS} the request is refused.
 *
 * Idempotency keys are the messages' Nats-Msg-Id: the stream drops a second message with a known id and
 * acknowledges it with the first one's sequence, whichever process published either. The stream keeps
 * ids for its duplicate window, set from option idempotencyWindow (24 hours by default); option
 * idempotencyKeys does not apply. The body digest travels in a header, so a key reused for another
 * body is told apart (422) while the first message is still in the stream (until its batch commits).
 */
export class JetStreamIngestLog implements IngestLog {
  readonly description: string;
  private knownEnd = 0;
  private firstPosition = 0;
  private closed = false;
  private readonly tail = new Map<number, readonly Row[]>();
  private counters = { groupCommits: 0, requests: 0, records: 0, bytes: 0, maxGroupRequests: 1, maxGroupRecords: 0, truncatedBytes: 0 };

  private constructor(private readonly handle: JetStreamHandle, private readonly stream: string,
    private readonly subject: string, display: string, private readonly options: IngestLogOptions) {
    this.description = `${display} (stream ${stream})`;
  }

  static async open(url: string, options: IngestLogOptions): Promise<JetStreamIngestLog> {
    const location = parseJetStreamLocation(url, "option 'wal' of the http source");
    const handle = await connectJetStream(location.servers, 'http source ingest log', { ...location.auth, maxReconnectAttempts: -1 });
    const stream = `WEIR_INGEST_${location.name}`;
    const subject = `weir.ingest.${location.name}`;
    const log = new JetStreamIngestLog(handle, stream, subject, location.display, options);
    try {
      const replicas = replicasFor(location, handle.nc.info?.connect_urls);
      const info = await retryTransient(async () => {
        try {
          return await handle.jsm.streams.info(stream);
        } catch (err) {
          if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
          return handle.jsm.streams.add({
            name: stream, subjects: [subject], num_replicas: replicas, duplicate_window: nanos(options.keys.windowMs),
          });
        }
      }).catch((err: unknown) => { throw log.unavailable('open the stream', err); });
      log.knownEnd = info.state.last_seq;
      log.firstPosition = Math.max(0, info.state.first_seq - 1);
      return log;
    } catch (err) {
      await handle.nc.close();
      throw err;
    }
  }

  get end(): number {
    return this.knownEnd;
  }

  get first(): number {
    return this.firstPosition;
  }

  /** Bytes this process appended (the stream's size is the cluster's to report). */
  get bytes(): number {
    return this.counters.bytes;
  }

  get pendingRecords(): number {
    return 0;
  }

  get stats(): IngestLogStats {
    return { ...this.counters };
  }

  /** Never set: a stream does not fail for good here; each append that finds no quorum is refused on its own. */
  get failed(): Error | null {
    return null;
  }

  /** The stream answers for keys when the request is appended; nothing is kept in this process. */
  async lookup(): Promise<AppendResult | undefined> {
    return undefined;
  }

  async append(rows: readonly Row[], requestKey: RequestKey | null): Promise<AppendResult> {
    if (this.closed) throw new ConnectorError('WAL_CLOSED', `The ingest log ${this.description} is closed.`);
    const payload = Buffer.from(rows.map((row) => JSON.stringify(row)).join('\n'));
    const header = natsHeaders();
    if (requestKey) header.set(DIGEST_HEADER, requestKey.digest);
    const ack = await this.publish(payload, header, requestKey?.key);
    const position = ack.seq - 1;
    if (ack.duplicate) {
      // Once the first request's batch committed its message is gone, and its body can no longer be compared:
      // the stream still knows the key, so this is answered as a repeat of that request (nothing is ingested).
      const digest = (await this.digestAt(ack.seq)) ?? requestKey?.digest ?? null;
      return { start: position, end: ack.seq, duplicate: true, digest };
    }
    this.knownEnd = Math.max(this.knownEnd, ack.seq);
    this.tail.set(position, rows);
    if (this.tail.size > TAIL_CACHE_REQUESTS) this.tail.delete(this.tail.keys().next().value!);
    this.counters.groupCommits++;
    this.counters.requests++;
    this.counters.records += rows.length;
    this.counters.bytes += payload.length;
    this.counters.maxGroupRecords = Math.max(this.counters.maxGroupRecords, rows.length);
    this.options.onDurable();
    return { start: position, end: ack.seq, duplicate: false, digest: requestKey?.digest ?? null };
  }

  async refresh(): Promise<void> {
    const info = await retryTransient(() => this.handle.jsm.streams.info(this.stream))
      .catch((err: unknown) => { throw this.unavailable('read the stream\'s end', err); });
    this.knownEnd = Math.max(this.knownEnd, info.state.last_seq);
    this.forgetBefore(info.state.first_seq - 1);
  }

  async read(from: number, to: number): Promise<Row[]> {
    const rows: Row[] = [];
    let position = from;
    while (position < to) {
      const cached = this.tail.get(position);
      if (cached) {
        rows.push(...cached);
        position++;
        continue;
      }
      const fetched = await retryTransient(() => this.fetch(position, Math.min(to, position + FETCH_CHUNK)))
        .catch((err: unknown) => { throw this.unavailable(`read positions ${position} to ${to}`, err); });
      for (const data of fetched) rows.push(...decodeRequest(data));
      position += fetched.length;
    }
    return rows;
  }

  /** Removes the messages before `position` (their ids stay in the stream's duplicate window). */
  async discardBefore(position: number): Promise<void> {
    if (position <= this.firstPosition) return this.forgetBefore(position);
    await retryTransient(() => this.handle.jsm.streams.purge(this.stream, { seq: position + 1 }))
      .catch((err: unknown) => { throw this.unavailable(`discard positions before ${position}`, err); });
    this.forgetBefore(position);
  }

  /** The stream starts at `position` (this process or another discarded what was before): cached rows before it go too. */
  private forgetBefore(position: number): void {
    for (const p of this.tail.keys()) if (p < position) this.tail.delete(p);
    this.firstPosition = Math.max(this.firstPosition, position);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.handle.nc.close();
  }

  /** Publishes until the stream acknowledges, retrying what a lost server causes, for {@link APPEND_WAIT_MS}. */
  private async publish(payload: Buffer, header: ReturnType<typeof natsHeaders>, msgID: string | undefined): Promise<PubAck> {
    const deadline = Date.now() + APPEND_WAIT_MS;
    for (;;) {
      try {
        // Retrying is safe with a key (the stream drops the copy); without one, a retry may double only a
        // request whose first try landed unacknowledged, which the client was never told either way.
        return await this.handle.js.publish(this.subject, payload, { headers: header, timeout: PUBLISH_TIMEOUT_MS, ...(msgID ? { msgID } : {}) });
      } catch (err) {
        if (!isTransientNatsFailure(err) || Date.now() + 250 > deadline) throw this.unavailable('append a request (nothing of it is acknowledged)', err);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /** The body digest of the message at `seq`: null when it is gone (then a reused key cannot be told from a retry). */
  private async digestAt(seq: number): Promise<string | null> {
    const msg = await retryTransient(() => this.handle.jsm.streams.getMessage(this.stream, { seq }))
      .catch((err: unknown) => { throw this.unavailable(`read the first request of a key at position ${seq - 1}`, err); });
    return msg?.header?.get(DIGEST_HEADER) || null;
  }

  /** The payloads of the messages at positions [from, to), in order; fewer when the stream holds fewer. */
  private async fetch(from: number, to: number): Promise<Uint8Array[]> {
    this.firstPosition = Math.max(this.firstPosition, (await this.handle.jsm.streams.info(this.stream)).state.first_seq - 1);
    if (from < this.firstPosition) {
      throw new ConnectorError('WAL_DATA_LOSS', `A batch reads ingest log positions from ${from}, but ${this.description} ` +
        `starts at ${this.firstPosition}: those requests were discarded. Start the query with a new checkpointLocation and a new log name.`);
    }
    const out: Uint8Array[] = [];
    await readSequenceRange(this.handle, this.stream, from, to, undefined, (msg) => {
      // Messages are never removed from the middle: the sequence is the position.
      if (msg.seq !== from + out.length + 1) throw new Error(`expected message ${from + out.length + 1}, got ${msg.seq}`);
      out.push(msg.data);
    });
    if (out.length === 0) throw new Error(`no message at position ${from} although the stream holds it`);
    return out;
  }

  /** A failure as the error to answer with: weir's own (e.g. data loss) as it is, the cluster's as unavailable. */
  private unavailable(doing: string, err: unknown): WeirError {
    if (err instanceof WeirError) return err;
    return new ConnectorError('INGEST_UNAVAILABLE', `The ingest log ${this.description} could not ${doing}: ` +
      `${errorMessage(err)}. A majority of the stream's NATS servers must be up and reachable.`, { cause: err });
  }
}

function decodeRequest(data: Uint8Array): Row[] {
  return Buffer.from(data).toString('utf8').split('\n').map((line) => JSON.parse(line) as Row);
}
