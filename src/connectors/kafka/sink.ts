import { Kafka } from 'kafkajs';
import type { IHeaders, KafkaConfig, Message, Producer } from 'kafkajs';
import { AnalysisError, ConnectorError } from '../../common/errors.js';
import { injectFault } from '../../common/faults.js';
import { OutputMode } from '../../common/output-mode.js';
import { DataType, Row, Schema, Value } from '../../common/schema.js';
import { isCommittedBatch } from '../../sinks/batch-identity.js';
import { Sink, SinkContext, SinkSpec } from '../../sinks/sink.js';
import { kafkaConfig, kafkaFailure, KafkaMetadata, KafkaRangeReader, partitionKey, TopicPartition } from './client.js';
import { partitionForKey } from './partitioner.js';

/** Headers every record carries, so a re-run batch can tell which of its rows a partition already holds. */
export const QUERY_HEADER = 'weir.query';
export const BATCH_HEADER = 'weir.batch';
export const ROW_HEADER = 'weir.row';
/** The batch's digest (engine/batch-digest.ts): a re-planned batch id over other input is told apart from a re-run. */
export const DIGEST_HEADER = 'weir.digest';

/** How far back, in offsets per step, a restart looks for the query's last record in a partition. */
const TAIL_STEP = 1000;
/** Records per produce request. */
const SEND_CHUNK = 1000;

interface OutRecord extends TopicPartition { readonly index: number; readonly message: Message }

/**
 * `format('kafka')` sink, exactly-once across crashes without Kafka transactions. Every record
 * carries headers `weir.query` (the query id), `weir.batch` and `weir.row` (its index in the batch),
 * and goes to a partition fixed by the row alone (the `partition` column, else the key's murmur2 hash
 * as Kafka's default partitioner computes it, else the row index), written in row order, one request
 * in flight, no client-side retries (a retry could write a record twice). After a restart, before the
 * first batch is written, the sink reads back each target partition's tail to the query's last
 * record: when that record belongs to the batch being re-run, the rows up to its index are already
 * there and are not sent again. Consumers therefore see each row exactly once; a batch cut short by a
 * crash is visible in part until its re-run completes it. Options: `kafka.bootstrap.servers`, `topic`
 * (else a `topic` column per row), and the client options of the source.
 */
export class KafkaSink implements Sink {
  readonly description: string;
  readonly supportedModes: readonly OutputMode[] = ['append', 'update', 'complete'];
  private readonly config: KafkaConfig;
  private readonly topic: string | undefined;
  private readonly pollTimeoutMs: number;
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private metadata: KafkaMetadata | null = null;
  private queryId = '';
  /** True until a batch has been written in this process: only then may a partition hold part of a batch. */
  private mayHavePartialBatch = true;

  constructor(spec: SinkSpec) {
    this.config = kafkaConfig(spec.options, 'kafka-sink');
    this.topic = spec.options.string('topic');
    this.pollTimeoutMs = spec.options.integer('kafkaConsumer.pollTimeoutMs', 120_000, 1);
    this.kafka = new Kafka({ ...this.config, retry: { retries: 0 } });
    this.description = `KafkaSink[${this.topic ?? 'topic column'}]`;
  }

  async open(context: SinkContext): Promise<void> {
    checkColumns(context.schema, this.topic !== undefined);
    this.queryId = context.queryId;
    this.metadata = new KafkaMetadata(this.kafka, this.config);
    const producer = this.kafka.producer({ maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await producer.connect();
    } catch (err) {
      await this.stop();
      throw kafkaFailure(err, 'connecting the producer', this.config);
    }
    this.producer = producer;
  }

  async addBatch(batchId: number, rows: readonly Row[], digest: string): Promise<void> {
    const records = await this.place(batchId, rows, digest);
    const written = this.mayHavePartialBatch ? await this.writtenSoFar(batchId, digest, records) : new Map<string, number>();
    const toSend = records.filter((r) => r.index > (written.get(partitionKey(r)) ?? -1));
    // Half the batch, then the crash tests' mid-sink fault point, then the rest: a crash there leaves a partial batch.
    const half = Math.ceil(toSend.length / 2);
    await this.send(batchId, toSend.slice(0, half));
    injectFault('midSink', batchId);
    await this.send(batchId, toSend.slice(half));
    this.mayHavePartialBatch = false;
  }

  /** Sends records in order, in requests of SEND_CHUNK, each acknowledged by all in-sync replicas. */
  private async send(batchId: number, records: readonly OutRecord[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new ConnectorError('KAFKA_NOT_OPEN', `${this.description} is used before open() or after stop().`);
    for (let i = 0; i < records.length; i += SEND_CHUNK) {
      const byTopic = new Map<string, Message[]>();
      for (const r of records.slice(i, i + SEND_CHUNK)) {
        const messages = byTopic.get(r.topic) ?? [];
        messages.push(r.message);
        byTopic.set(r.topic, messages);
      }
      try {
        await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      } catch (err) {
        throw kafkaFailure(err, `writing batch ${batchId}`, this.config);
      }
    }
  }

  async stop(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = null;
    await this.metadata?.close();
    this.metadata = null;
  }

  /** Each row's topic, partition and message, in row order. */
  private async place(batchId: number, rows: readonly Row[], digest: string): Promise<OutRecord[]> {
    const topics = [...new Set(rows.map((row) => this.topicOf(row)))];
    const counts = new Map<string, number>();
    const known = await this.metadata!.partitions(topics);
    for (const tp of known) counts.set(tp.topic, (counts.get(tp.topic) ?? 0) + 1);
    for (const topic of topics) {
      if (!counts.has(topic)) {
        throw new ConnectorError('KAFKA_NO_TOPIC', `The kafka sink cannot write batch ${batchId}: topic '${topic}' does not ` +
          'exist. Create it (kafka-topics.sh --create …) and restart the query; nothing of this batch was written.');
      }
    }
    return rows.map((row, index) => {
      const topic = this.topicOf(row);
      const key = bytes(row['key'] ?? null);
      const explicit = row['partition'];
      const count = counts.get(topic)!;
      const partition = typeof explicit === 'number' ? explicit : key !== null ? partitionForKey(key, count) : index % count;
      if (partition < 0 || partition >= count) {
        throw new ConnectorError('KAFKA_PARTITION', `Row ${index} of batch ${batchId} asks for partition ${partition} of topic ` +
          `'${topic}', which has ${count}. Fix the partition column, or drop it to let the key choose.`);
      }
      const headers: IHeaders = { ...userHeaders(row['headers']) };
      headers[QUERY_HEADER] = this.queryId;
      headers[BATCH_HEADER] = String(batchId);
      headers[ROW_HEADER] = String(index);
      headers[DIGEST_HEADER] = digest;
      return { topic, partition, index, message: { key, value: bytes(row['value'] ?? null), partition, headers } };
    });
  }

  private topicOf(row: Row): string {
    if (this.topic !== undefined) return this.topic;
    const topic = row['topic'];
    if (typeof topic !== 'string' || topic === '') {
      throw new ConnectorError('KAFKA_NO_TOPIC', `A row has no topic (${JSON.stringify(topic)}) and the kafka sink has no ` +
        'option \'topic\'. Set the option, or filter out rows whose topic column is null or empty.');
    }
    return topic;
  }

  /**
   * Per target partition, the highest row index of batch `batchId` it already holds (from a run that
   * crashed), found by reading back from the partition's end to this query's last record. That record
   * must be of an earlier batch, or of this one with the same digest: otherwise the checkpoint is older
   * than the topic (restored from a backup) and the batch is refused rather than skipped or doubled.
   */
  private async writtenSoFar(batchId: number, digest: string, records: readonly OutRecord[]): Promise<Map<string, number>> {
    const targets = new Map<string, TopicPartition>();
    for (const r of records) targets.set(partitionKey(r), { topic: r.topic, partition: r.partition });
    const result = new Map<string, number>();
    if (targets.size === 0) return result;
    const bounds = await this.metadata!.bounds([...targets.values()]);
    const reader = new KafkaRangeReader(this.kafka, this.config, [...new Set(records.map((r) => r.topic))].sort(),
      { name: 'weir-kafka-sink-recovery', exact: false }, this.pollTimeoutMs);
    try {
      for (const [key, tp] of targets) {
        const b = bounds.get(key);
        if (!b) continue;
        for (let to = b.high; to > b.low; to -= TAIL_STEP) {
          const records = await reader.read([{ ...tp, from: Math.max(b.low, to - TAIL_STEP), to }]);
          const ours = records.filter((r) => headerText(r.message.headers, QUERY_HEADER) === this.queryId).at(-1);
          if (!ours) continue;
          const lastBatch = Number(headerText(ours.message.headers, BATCH_HEADER));
          const committedDigest = lastBatch === batchId ? headerText(ours.message.headers, DIGEST_HEADER) ?? null : undefined;
          if (isCommittedBatch(this.description, `partition ${key} offset ${ours.message.offset}`, batchId, digest,
            committedDigest, lastBatch, `topic ${tp.topic}`)) {
            result.set(key, Number(headerText(ours.message.headers, ROW_HEADER)));
          }
          break;
        }
      }
    } finally {
      await reader.close();
    }
    return result;
  }
}

function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}

function bytes(v: Value): Buffer | null {
  if (v === null) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.from(JSON.stringify(v), 'utf8');
}

function userHeaders(v: Value | undefined): IHeaders {
  const headers: Record<string, Buffer[]> = {};
  if (!Array.isArray(v)) return headers;
  for (const h of v as readonly Value[]) {
    if (typeof h !== 'object' || h === null || Array.isArray(h) || h instanceof Uint8Array) continue;
    const entry = h as { readonly [k: string]: Value };
    const key = entry['key'];
    const value = bytes(entry['value'] ?? null);
    if (typeof key === 'string' && value !== null) (headers[key] ??= []).push(value);
  }
  return headers;
}

const BYTES_OR_TEXT: readonly DataType[] = ['string', 'binary'];

/** Spark's column rules for the Kafka sink, checked before the query starts. */
function checkColumns(schema: Schema, hasTopicOption: boolean): void {
  const column = (name: string) => schema.find((f) => f.name === name);
  const refuse = (message: string): never => { throw new AnalysisError(`The kafka sink ${message}`, 'KAFKA_SINK_SCHEMA'); };
  const value = column('value');
  if (!value) {
    refuse(`needs a column named 'value' (STRING or BINARY); the query has ${schema.map((f) => f.name).join(', ')}. ` +
      'Select one, e.g. .select(col(\'json\').as(\'value\')) or cast a column with .cast(\'string\').');
  }
  for (const name of ['key', 'value']) {
    const f = column(name);
    if (f && !BYTES_OR_TEXT.includes(f.type)) {
      refuse(`needs column '${name}' to be STRING or BINARY, not ${typeof f.type === 'string' ? f.type : f.type.kind}: ` +
        `cast it, e.g. col('${name}').cast('string').`);
    }
  }
  const topic = column('topic');
  if (!hasTopicOption && !topic) refuse('needs option \'topic\' or a STRING column named \'topic\'.');
  if (topic && topic.type !== 'string') refuse('needs column \'topic\' to be STRING.');
  const partition = column('partition');
  if (partition && partition.type !== 'integer' && partition.type !== 'long') refuse('needs column \'partition\' to be INT.');
}
