import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { AnalysisError, ConnectorError, errorMessage } from '../../common/errors.js';
import { injectFault } from '../../common/faults.js';
import { Row, Schema } from '../../common/schema.js';
import { connectJetStream, JetStreamHandle, natsFailure, natsServers, retryTransient } from './client.js';
import { OutputMode } from '../../common/output-mode.js';
import { isCommittedBatch } from '../../sinks/batch-identity.js';
import { DeadLetterFolder, rejectedRowError, rowJson, splitRejected } from '../../sinks/rejected-rows.js';
import { Sink, SinkContext, SinkSpec } from '../../sinks/sink.js';
import { compileRowCheck, RowCheck } from '../../sinks/value-domain.js';
import { ownValue } from '../../codec/fields.js';
import { hasDecimals, hasTextEncodedValues, valueJson, withTextValues } from '../../codec/json-values.js';

/** Publishes awaiting their PubAcks at once. */
const IN_FLIGHT = 256;
/** Header carrying the batch's digest (batch-identity.ts) on every message the sink publishes. */
const DIGEST_HEADER = 'Weir-Batch-Digest';

/**
 * `format('nats')` sink: publishes each output row as a JSON message (timestamps as ISO-8601 UTC
 * strings, like the file sinks) to `subject`, with the message id (header `Nats-Msg-Id`)
 * `<query id>:<batch id>:<row index>`, and awaits each PubAck. A batch re-run after a crash publishes
 * the same ids, and JetStream drops the copies — but it remembers ids only for the stream's
 * `duplicate_window` (default 2 minutes): exactly-once holds when a crashed batch is re-run within
 * that window; a later re-run is at-least-once. Options: `url` (default nats://127.0.0.1:4222),
 * `subject` (required; a stream must capture it), `stream` and `createStream` (default false: create
 * the stream with `duplicateWindow`, default '2 minutes', when none captures the subject).
 *
 * Each message carries the batch digest in header `Weir-Batch-Digest`. At start the sink reads the
 * subject's newest message: if this query published it, a batch the checkpoint plans again must have
 * its digest, and no older batch id may be planned (a checkpoint restored from a backup). Rows with
 * values outside their type's range are rejected (to `deadLetterPath`, else the batch fails) before
 * anything of the batch is published; a row keeps its index in the batch in its message id.
 */
export class NatsSink implements Sink {
  readonly description: string;
  readonly supportedModes: readonly OutputMode[] = ['append', 'update'];
  private readonly servers: string[];
  private readonly subject: string;
  private readonly stream: string | undefined;
  private readonly createStream: boolean;
  private readonly duplicateWindowMs: number;
  private handle: JetStreamHandle | null = null;
  private queryId = '';
  private encode: (row: Row) => string = rowJson;
  private rowCheck: RowCheck | null = null;
  private readonly deadLetter: DeadLetterFolder | null;
  /** The batch of this query the subject's newest message belongs to, until the first batch is checked against it. */
  private newestPublished: { batchId: number; digest: string | null } | null = null;
  private rejectedRows = 0;

  constructor(spec: SinkSpec) {
    const options = spec.options;
    this.servers = natsServers(options);
    this.subject = options.required('subject', 'the subject to publish to, e.g. .option(\'subject\', \'orders.totals\')');
    this.stream = options.string('stream');
    this.createStream = options.boolean('createStream', false);
    this.duplicateWindowMs = options.duration('duplicateWindow', '2 minutes');
    if (this.createStream && !this.stream) {
      throw new AnalysisError('Option \'createStream\' of the nats sink needs option \'stream\': the name of the stream to create.',
        'MISSING_OPTION');
    }
    this.description = `NatsJetStreamSink[${this.subject}]`;
    this.deadLetter = DeadLetterFolder.fromOptions(options, this.description);
  }

  async open(context: SinkContext): Promise<void> {
    this.queryId = context.queryId;
    this.encode = jsonEncoder(context.schema);
    this.rowCheck = compileRowCheck(context.schema);
    this.handle = await connectJetStream(this.servers, 'nats sink');
    try {
      this.newestPublished = await this.newestOfQuery(this.handle, await this.ensureStream(this.handle));
    } catch (err) {
      await this.stop();
      throw natsFailure(err, `preparing subject '${this.subject}'`, 'nats sink');
    }
  }

  async addBatch(batchId: number, allRows: readonly Row[], digest: string): Promise<void> {
    this.rejectedRows = 0;
    const newest = this.newestPublished;
    if (newest !== null) {
      // A batch published (in part or whole) with this digest is published again: JetStream drops the copies.
      isCommittedBatch(this.description, `subject '${this.subject}'`, batchId, digest,
        batchId === newest.batchId ? newest.digest : undefined, newest.batchId, 'subject');
      this.newestPublished = null;
    }
    const { rejected } = splitRejected(allRows, this.rowCheck);
    if (rejected.length > 0 && !this.deadLetter) {
      throw rejectedRowError(this.description, batchId, rejected, `option 'deadLetterPath' (a folder)`);
    }
    await this.deadLetter?.record(this.queryId, batchId, rejected);
    const skip = new Set(rejected.map((r) => r.index));
    const half = Math.floor(allRows.length / 2);
    await this.publish(batchId, digest, allRows, 0, half, skip);
    injectFault('midSink', batchId);
    await this.publish(batchId, digest, allRows, half, allRows.length, skip);
    this.rejectedRows = rejected.length;
  }

  metrics(): Readonly<Record<string, number>> {
    return { numRejectedRows: this.rejectedRows };
  }

  async stop(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.nc.close();
  }

  /** Publishes rows `from`..`to` but those in `skip` (rejected); a row's message id holds its index in the batch. */
  private async publish(batchId: number, digest: string, rows: readonly Row[], from: number, to: number,
    skip: ReadonlySet<number>): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new ConnectorError('NATS_NOT_OPEN', `${this.description} is used before open() or after stop().`);
    const header = headers();
    header.set(DIGEST_HEADER, digest);
    for (let i = from; i < to; i += IN_FLIGHT) {
      const acks = [];
      for (let j = i; j < Math.min(to, i + IN_FLIGHT); j++) {
        if (skip.has(j)) continue;
        // Retrying is safe: the message id makes JetStream drop a copy whose first try landed unacknowledged.
        acks.push(retryTransient(() => handle.js.publish(this.subject, this.encode(rows[j]!), { msgID: `${this.queryId}:${batchId}:${j}`, headers: header }))
          .catch((err: unknown) => {
            throw new ConnectorError('NATS_PUBLISH',
              `Publishing row ${j} of batch ${batchId} to subject '${this.subject}' failed: ${errorMessage(err)}. ` +
              `Restart the query: the batch is published again with the same message ids, and JetStream drops the ` +
              `copies it already holds if the restart comes within the stream's duplicate window.`, { cause: err });
          }));
      }
      await Promise.all(acks);
    }
  }

  /** The batch (and digest) of the subject's newest message, when this query published it; null otherwise. */
  private async newestOfQuery(handle: JetStreamHandle, stream: string): Promise<{ batchId: number; digest: string | null } | null> {
    let message;
    try {
      message = await handle.jsm.streams.getMessage(stream, { last_by_subj: this.subject });
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return null;
      throw err;
    }
    const id = /^(.*):(\d+):\d+$/.exec(message?.header?.get('Nats-Msg-Id') ?? '');
    if (!id || id[1] !== this.queryId) return null;
    return { batchId: Number(id[2]), digest: message?.header.get(DIGEST_HEADER) || null };
  }

  /**
   * Checks that a stream captures the subject (publishing to none fails only later, and obscurely);
   * creates it if asked. Returns the stream's name.
   */
  private async ensureStream(handle: JetStreamHandle): Promise<string> {
    let found: string | null = null;
    try {
      found = await handle.jsm.streams.find(this.subject);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    }
    if (found !== null) {
      if (this.stream && found !== this.stream) {
        throw new ConnectorError('NATS_STREAM_MISMATCH',
          `Subject '${this.subject}' is captured by stream '${found}', not by stream '${this.stream}' that option 'stream' ` +
          `names: fix option 'stream' or 'subject'.`);
      }
      return found;
    }
    if (!this.createStream) {
      throw new ConnectorError('NATS_NO_STREAM',
        `No JetStream stream captures subject '${this.subject}': create one whose subjects include it, or set options ` +
        `'stream' and 'createStream' true to let the sink create it.`);
    }
    await handle.jsm.streams.add({
      name: this.stream!, subjects: [this.subject], duplicate_window: this.duplicateWindowMs * 1_000_000,
    });
    return this.stream!;
  }
}

/**
 * JSON text of a row as the json file sink writes it (codec/json-values.ts): timestamps as ISO-8601 UTC
 * strings, dates as YYYY-MM-DD, binary as base64, at any depth; NaN and infinities as the strings "NaN",
 * "Infinity", "-Infinity" (JSON has no such numbers).
 */
export function jsonEncoder(schema: Schema): (row: Row) => string {
  // Decimals as JSON numbers with every digit, as the json file sink writes them.
  if (schema.some((f) => hasDecimals(f.type))) {
    const struct = { kind: 'struct', fields: schema } as const;
    return (row) => valueJson(row, struct);
  }
  if (!schema.some((f) => hasTextEncodedValues(f.type))) return rowJson;
  return (row) => rowJson(Object.fromEntries(schema.map((f) => [f.name, withTextValues(ownValue(row, f.name) ?? null, f.type)])));
}
