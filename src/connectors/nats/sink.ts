import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { AnalysisError, ConnectorError, errorMessage } from '../../common/errors.js';
import { injectFault } from '../../common/faults.js';
import { DataType, Row, Schema, Value } from '../../common/schema.js';
import { connectJetStream, JetStreamHandle, natsFailure, natsServers, retryTransient } from './client.js';
import { OutputMode } from '../../common/output-mode.js';
import { Sink, SinkContext, SinkSpec } from '../../sinks/sink.js';

/** Publishes awaiting their PubAcks at once. */
const IN_FLIGHT = 256;

/**
 * `format('nats')` sink: publishes each output row as a JSON message (timestamps as ISO-8601 UTC
 * strings, like the file sinks) to `subject`, with the message id (header `Nats-Msg-Id`)
 * `<query id>:<batch id>:<row index>`, and awaits each PubAck. A batch re-run after a crash publishes
 * the same ids, and JetStream drops the copies — but it remembers ids only for the stream's
 * `duplicate_window` (default 2 minutes): exactly-once holds when a crashed batch is re-run within
 * that window; a later re-run is at-least-once. Options: `url` (default nats://127.0.0.1:4222),
 * `subject` (required; a stream must capture it), `stream` and `createStream` (default false: create
 * the stream with `duplicateWindow`, default '2 minutes', when none captures the subject).
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
  private encode: (row: Row) => string = JSON.stringify;

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
  }

  async open(context: SinkContext): Promise<void> {
    this.queryId = context.queryId;
    this.encode = jsonEncoder(context.schema);
    this.handle = await connectJetStream(this.servers, 'nats sink');
    try {
      await this.ensureStream(this.handle);
    } catch (err) {
      await this.stop();
      throw natsFailure(err, `preparing subject '${this.subject}'`, 'nats sink');
    }
  }

  async addBatch(batchId: number, rows: readonly Row[]): Promise<void> {
    const half = Math.floor(rows.length / 2);
    await this.publish(batchId, rows, 0, half);
    injectFault('midSink', batchId);
    await this.publish(batchId, rows, half, rows.length);
  }

  async stop(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.nc.close();
  }

  private async publish(batchId: number, rows: readonly Row[], from: number, to: number): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new ConnectorError('NATS_NOT_OPEN', `${this.description} is used before open() or after stop().`);
    for (let i = from; i < to; i += IN_FLIGHT) {
      const acks = [];
      for (let j = i; j < Math.min(to, i + IN_FLIGHT); j++) {
        // Retrying is safe: the message id makes JetStream drop a copy whose first try landed unacknowledged.
        acks.push(retryTransient(() => handle.js.publish(this.subject, this.encode(rows[j]!), { msgID: `${this.queryId}:${batchId}:${j}` }))
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

  /** Checks that a stream captures the subject (publishing to none fails only later, and obscurely); creates it if asked. */
  private async ensureStream(handle: JetStreamHandle): Promise<void> {
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
      return;
    }
    if (!this.createStream) {
      throw new ConnectorError('NATS_NO_STREAM',
        `No JetStream stream captures subject '${this.subject}': create one whose subjects include it, or set options ` +
        `'stream' and 'createStream' true to let the sink create it.`);
    }
    await handle.jsm.streams.add({
      name: this.stream!, subjects: [this.subject], duplicate_window: this.duplicateWindowMs * 1_000_000,
    });
  }
}

/** JSON text of a row: timestamps as ISO-8601 UTC strings and dates as YYYY-MM-DD, as the file sinks write them. */
export function jsonEncoder(schema: Schema): (row: Row) => string {
  const hasTime = (t: DataType): boolean => typeof t === 'string' ? t === 'timestamp' || t === 'date'
    : t.kind === 'array' ? hasTime(t.element) : t.fields.some((f) => hasTime(f.type));
  if (!schema.some((f) => hasTime(f.type))) return (row) => JSON.stringify(row);
  const convert = (v: Value | undefined, t: DataType): Value => {
    if (v === null || v === undefined) return null;
    if (typeof t === 'string') {
      if (t === 'timestamp') return new Date(v as number).toISOString();
      return t === 'date' ? new Date(v as number).toISOString().slice(0, 10) : v;
    }
    if (t.kind === 'array') return (v as readonly Value[]).map((e) => convert(e, t.element));
    const obj = v as Record<string, Value>;
    return Object.fromEntries(t.fields.map((f) => [f.name, convert(obj[f.name], f.type)]));
  };
  return (row) => JSON.stringify(Object.fromEntries(schema.map((f) => [f.name, convert(row[f.name], f.type)])));
}

