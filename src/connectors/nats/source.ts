import type { JsMsg } from '@nats-io/jetstream';
import { decodeFile, encodeFile } from '../../checkpoint/file-format.js';
import { CheckpointStorage } from '../../checkpoint/storage.js';
import { AnalysisError, ConnectorError } from '../../common/errors.js';
import { Options } from '../../common/options.js';
import { Row, Schema } from '../../common/schema.js';
import { Offset, Source, SourceContext, SourceSpec } from '../../sources/source.js';
import { connectJetStream, JetStreamHandle, natsFailure, natsServers, retryTransient, streamInfo } from './client.js';
import { CORRUPT_RECORD, MessageDecoder } from './decode.js';
import { readSequenceRange } from './range-read.js';
import { SourcePaths } from '../../checkpoint/layout.js';

export type ReadMode = 'PERMISSIVE' | 'DROPMALFORMED' | 'FAILFAST';

/**
 * `format('nats')` source: reads a JetStream stream by stream sequence numbers. Its offset is
 * `{ "<stream>": <last sequence read> }`, so any range can be read again, in a new process too;
 * a batch reads the messages with sequence in (start, end], skipping deleted ones and, with option
 * `subject`, those of other subjects. Each payload is one JSON object read with the schema (required).
 * Options: `url` (servers, comma-separated; default nats://127.0.0.1:4222), `stream` (required),
 * `subject` (a filter), `maxRecordsPerTrigger` (sequence numbers per batch), `startingSequence`
 * ('earliest' default, 'latest' or a sequence number; fixed in the checkpoint at the query's first
 * start), `mode` (FAILFAST default, DROPMALFORMED, PERMISSIVE), `failOnDataLoss` (default true: fail
 * when messages of a range were removed from the head of the stream, by its limits or a purge, before
 * they were read).
 */
export class NatsSource implements Source {
  readonly description: string;
  readonly schema: Schema;
  private readonly servers: string[];
  private readonly stream: string;
  private readonly subject: string | undefined;
  private readonly maxRecordsPerTrigger: number | undefined;
  private readonly startingSequence: 'earliest' | 'latest' | number;
  private readonly mode: ReadMode;
  private readonly failOnDataLoss: boolean;
  private readonly decoder: MessageDecoder;
  private handle: JetStreamHandle | null = null;
  /** The sequence before the first one this query reads (the offset a null start stands for). */
  private initial = 0;
  /** The stream's last sequence when last asked, for the lag metric. */
  private lastSeq = 0;
  private target: number | null = null;

  constructor(spec: SourceSpec) {
    const options = spec.options;
    if (!spec.schema) {
      throw new AnalysisError('The nats source needs a schema for its JSON messages: ' +
        'call .schema(\'ts TIMESTAMP, user STRING, amount DOUBLE\') before load().', 'MISSING_SCHEMA');
    }
    this.schema = spec.schema;
    this.decoder = new MessageDecoder(spec.schema);
    this.servers = natsServers(options);
    this.stream = options.required('stream', 'the JetStream stream to read, e.g. .option(\'stream\', \'ORDERS\')');
    this.subject = options.string('subject');
    this.maxRecordsPerTrigger = options.integer('maxRecordsPerTrigger', undefined, 1);
    this.startingSequence = parseStartingSequence(options);
    this.mode = options.oneOf('mode', ['PERMISSIVE', 'DROPMALFORMED', 'FAILFAST'], 'FAILFAST');
    this.failOnDataLoss = options.boolean('failOnDataLoss', true);
    this.description = `NatsJetStreamSource[${this.stream}${this.subject ? `/${this.subject}` : ''}]`;
  }

  async open(context: SourceContext): Promise<void> {
    this.handle = await connectJetStream(this.servers, 'nats source');
    try {
      this.initial = await this.loadOrFixStart(context.storage);
      this.lastSeq = this.initial;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async latestOffset(start: Offset | null): Promise<Offset | null> {
    const from = start === null ? this.initial : this.seqOf(start);
    this.lastSeq = (await streamInfo(this.connected(), this.stream, 'nats source')).state.last_seq;
    if (this.lastSeq < from && this.failOnDataLoss) {
      throw new ConnectorError('NATS_DATA_LOSS',
        `Stream '${this.stream}' ends at sequence ${this.lastSeq}, before sequence ${from} that this query already read: ` +
        `the stream was deleted and created again. Start the query with a new checkpointLocation, or set option ` +
        `'failOnDataLoss' to false to wait for the stream to pass sequence ${from}.`);
    }
    let end = Math.min(this.lastSeq, this.target ?? Infinity);
    if (this.maxRecordsPerTrigger !== undefined) end = Math.min(end, from + this.maxRecordsPerTrigger);
    end = Math.max(end, from);
    if (start === null && end === from) return null;
    return { [this.stream]: end };
  }

  async getBatch(start: Offset | null, end: Offset): Promise<Row[]> {
    const from = start === null ? this.initial : this.seqOf(start);
    const to = this.seqOf(end);
    if (to <= from) return [];
    const handle = this.connected();
    const { state } = await streamInfo(handle, this.stream, 'nats source');
    if (this.failOnDataLoss && state.first_seq > from + 1) {
      throw new ConnectorError('NATS_DATA_LOSS',
        `Stream '${this.stream}' no longer holds sequences ${from + 1}..${Math.min(to, state.first_seq - 1)} that this ` +
        `batch reads (its first sequence is now ${state.first_seq}: removed by the stream's limits or a purge). ` +
        `Raise the stream's retention, or set option 'failOnDataLoss' to false to skip what is gone.`);
    }
    const doing = `reading sequences ${from + 1}..${to} of stream '${this.stream}'`;
    try {
      // A read cut short by a leader change is read again whole: the range is fixed, so the rows are the same.
      return await retryTransient(() => this.readRange(handle, from, to));
    } catch (err) {
      throw natsFailure(err, doing, 'nats source');
    }
  }

  private async readRange(handle: JetStreamHandle, from: number, to: number): Promise<Row[]> {
    const rows: Row[] = [];
    await readSequenceRange(handle, this.stream, from, to, this.subject, (msg) => this.decode(msg, rows));
    return rows;
  }

  async commit(): Promise<void> {
    // The stream is not ours to trim: its own retention policy decides.
  }

  async prepareForTriggerAvailableNow(): Promise<void> {
    this.target = (await streamInfo(this.connected(), this.stream, 'nats source')).state.last_seq;
  }

  metrics(end: Offset | null): Record<string, number> {
    return { lag: Math.max(0, this.lastSeq - (end === null ? this.initial : this.seqOf(end))) };
  }

  async stop(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.nc.close();
  }

  private connected(): JetStreamHandle {
    if (!this.handle) throw new ConnectorError('NATS_NOT_OPEN', `${this.description} is used before open() or after stop().`);
    return this.handle;
  }

  private decode(msg: JsMsg, rows: Row[]): void {
    const text = msg.string();
    const { row, problem } = this.decoder.decode(text);
    if (problem === null) {
      rows.push(row);
    } else if (this.mode === 'FAILFAST') {
      throw new ConnectorError('NATS_MALFORMED_MESSAGE',
        `Malformed message in stream '${this.stream}' at sequence ${msg.seq} (subject ${msg.subject}): ${problem}. ` +
        `Fix or delete the message, or read with option mode 'PERMISSIVE' (keeps the payload in ${CORRUPT_RECORD} ` +
        `when the schema has that column) or 'DROPMALFORMED'.`);
    } else if (this.mode === 'PERMISSIVE') {
      if (CORRUPT_RECORD in row) row[CORRUPT_RECORD] = text;
      rows.push(row);
    }
  }

  private seqOf(offset: Offset): number {
    const seq = (offset as Record<string, unknown> | null)?.[this.stream];
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0) {
      throw new ConnectorError('NATS_OFFSET',
        `Offset ${JSON.stringify(offset)} holds no sequence for stream '${this.stream}': the checkpoint was written ` +
        `for another stream. Start the query with a new checkpointLocation.`);
    }
    return seq;
  }

  /** The start is fixed at the query's first start, so a null start means the same range after a restart. */
  private async loadOrFixStart(storage: CheckpointStorage): Promise<number> {
    const stored = await storage.read(SourcePaths.startOffset);
    if (stored !== null) {
      const body = decodeFile(stored, 'nats-start', 1, storage.locate(SourcePaths.startOffset)).body.toString('utf8');
      return this.seqOf(JSON.parse(body) as Offset);
    }
    const { state } = await streamInfo(this.connected(), this.stream, 'nats source');
    const initial = this.startingSequence === 'latest' ? state.last_seq
      : this.startingSequence === 'earliest' ? (state.messages > 0 ? state.first_seq - 1 : state.last_seq)
      : this.startingSequence - 1;
    await storage.writeAtomic(SourcePaths.startOffset, encodeFile('nats-start', 1, JSON.stringify({ [this.stream]: initial })), { overwrite: false });
    return initial;
  }
}

function parseStartingSequence(options: Options): 'earliest' | 'latest' | number {
  const raw = options.string('startingSequence', 'earliest');
  if (/^\d+$/.test(raw)) return options.integer('startingSequence', 1, 1);
  return options.oneOf<'earliest' | 'latest'>('startingSequence', ['earliest', 'latest'], 'earliest');
}

