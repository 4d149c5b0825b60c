import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, Consumer, KafkaConfig, KafkaMessage, SASLOptions } from 'kafkajs';
import { ConnectorError, errorMessage, WeirError } from '../../common/errors.js';
import { Options } from '../../common/options.js';

/** One partition of one topic. */
export interface TopicPartition { readonly topic: string; readonly partition: number }

/** The offsets a partition holds now: `low` is the first offset still stored, `high` the next one to be written. */
export interface PartitionBounds extends TopicPartition { readonly low: number; readonly high: number }

/** A record as read, with the partition it came from. */
export interface ReadRecord extends TopicPartition { readonly message: KafkaMessage }

/**
 * The client settings of options `kafka.*`, Spark's spelling of the Kafka client's own properties:
 * `kafka.bootstrap.servers` (required), `kafka.client.id`, `kafka.security.protocol` (PLAINTEXT, SSL,
 * SASL_PLAINTEXT, SASL_SSL), `kafka.sasl.mechanism` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512),
 * `kafka.sasl.username`, `kafka.sasl.password`, `kafka.request.timeout.ms`.
 */
export function kafkaConfig(options: Options, owner: string): KafkaConfig {
  const brokers = options.required('kafka.bootstrap.servers',
    'the brokers to connect to, e.g. .option(\'kafka.bootstrap.servers\', \'host1:9092,host2:9092\')')
    .split(',').map((s) => s.trim()).filter((s) => s !== '');
  const protocol = options.oneOf('kafka.security.protocol', ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'], 'PLAINTEXT');
  const config: { -readonly [K in keyof KafkaConfig]: KafkaConfig[K] } = {
    brokers,
    clientId: options.string('kafka.client.id', `weir-${owner}`),
    logLevel: logLevel.NOTHING,
    requestTimeout: options.integer('kafka.request.timeout.ms', 30_000, 1),
    // weir decides itself when to give up: a failed request fails the batch, and the restart repeats it.
    retry: { retries: options.integer('kafka.retries', 5, 0) },
  };
  if (protocol === 'SSL' || protocol === 'SASL_SSL') config.ssl = true;
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') config.sasl = saslOptions(options);
  return config;
}

function saslOptions(options: Options): SASLOptions {
  const mechanism = options.oneOf('kafka.sasl.mechanism', ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], 'PLAIN');
  const username = options.required('kafka.sasl.username', 'the SASL user name for kafka.security.protocol SASL_*');
  const password = options.required('kafka.sasl.password', 'the SASL password for kafka.security.protocol SASL_*');
  switch (mechanism) {
    case 'PLAIN': return { mechanism: 'plain', username, password };
    case 'SCRAM-SHA-256': return { mechanism: 'scram-sha-256', username, password };
    case 'SCRAM-SHA-512': return { mechanism: 'scram-sha-512', username, password };
  }
}

/** A Kafka failure as a ConnectorError naming what was being done and where. */
export function kafkaFailure(err: unknown, doing: string, config: KafkaConfig): WeirError {
  // weir's own errors already name what went wrong and the fix.
  if (err instanceof WeirError) return err;
  const brokers = Array.isArray(config.brokers) ? config.brokers.join(',') : 'the configured brokers';
  return new ConnectorError('KAFKA_REQUEST',
    `Kafka failed ${doing} (brokers ${brokers}): ${errorMessage(err)}. Check option 'kafka.bootstrap.servers' and that ` +
    'the brokers are reachable; the query resumes from its checkpoint when restarted.', { cause: err });
}

/** Metadata and offset lookups, over one admin connection. */
export class KafkaMetadata {
  private readonly admin: Admin;
  private connected = false;

  constructor(kafka: Kafka, private readonly config: KafkaConfig) {
    this.admin = kafka.admin();
  }

  async topics(): Promise<string[]> {
    return this.call('listing topics', () => this.admin.listTopics());
  }

  /** The partitions of each topic that exists; topics that do not exist are left out. */
  async partitions(topics: readonly string[]): Promise<TopicPartition[]> {
    if (topics.length === 0) return [];
    const existing = new Set(await this.topics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return [];
    const meta = await this.call('reading topic metadata', () => this.admin.fetchTopicMetadata({ topics: present }));
    return meta.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionId })))
      .sort(comparePartitions);
  }

  /** Low and high offsets of the given partitions (one request per topic). */
  async bounds(partitions: readonly TopicPartition[]): Promise<Map<string, PartitionBounds>> {
    const result = new Map<string, PartitionBounds>();
    for (const topic of new Set(partitions.map((p) => p.topic))) {
      const offsets = await this.call(`reading the offsets of topic '${topic}'`, () => this.admin.fetchTopicOffsets(topic));
      for (const o of offsets) {
        result.set(partitionKey({ topic, partition: o.partition }), { topic, partition: o.partition, low: Number(o.low), high: Number(o.high) });
      }
    }
    return result;
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect().catch(() => undefined);
    this.connected = false;
  }

  private async call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      if (!this.connected) {
        await this.admin.connect();
        this.connected = true;
      }
      return await fn();
    } catch (err) {
      throw kafkaFailure(err, doing, this.config);
    }
  }
}

export function partitionKey(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

export function comparePartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

/** A range of offsets of one partition: [from, to). */
export interface PartitionRange extends TopicPartition { readonly from: number; readonly to: number }

interface PendingRange { readonly range: PartitionRange; next: number; readonly records: ReadRecord[] }

/**
 * Reads exact offset ranges. kafkajs has no "fetch this range" call, so a consumer of its own group
 * (one member: it is assigned every partition) is kept running with every partition paused; a read
 * seeks the partitions it needs to their start, resumes them, keeps records inside the range and
 * pauses each partition again when its range is complete. Records are returned per partition in
 * offset order, partitions in the order asked, so the same ranges always give the same rows.
 */
export class KafkaRangeReader {
  private readonly consumer: Consumer;
  private running: Promise<void> | null = null;
  private pending = new Map<string, PendingRange>();
  private onProgress: (() => void) | null = null;
  private failure: unknown = null;

  /**
   * `group` is either a prefix (a unique group is made from it, as Spark does) or, with `exact`, the
   * group to join as is (Spark's `kafka.group.id`).
   */
  constructor(kafka: Kafka, private readonly config: KafkaConfig, readonly topics: readonly string[],
    group: { readonly name: string; readonly exact: boolean }, private readonly timeoutMs: number) {
    this.consumer = kafka.consumer({
      groupId: group.exact ? group.name : `${group.name}-${randomUUID()}`, maxWaitTimeInMs: 100, sessionTimeout: 30_000, rebalanceTimeout: 30_000,
      heartbeatInterval: 3_000, retry: { retries: 5 },
    });
  }

  async read(ranges: readonly PartitionRange[]): Promise<ReadRecord[]> {
    const wanted = ranges.filter((r) => r.to > r.from);
    if (wanted.length === 0) return [];
    await this.start();
    this.pending = new Map(wanted.map((range) => [partitionKey(range), { range, next: range.from, records: [] }]));
    const describe = (): string => [...this.pending.values()].filter((p) => p.next < p.range.to)
      .map((p) => `${partitionKey(p.range)} offsets ${p.next}..${p.range.to - 1}`).join(', ');
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new ConnectorError('KAFKA_READ_TIMEOUT',
          `Reading from Kafka did not finish within ${this.timeoutMs} ms; still missing: ${describe()}. The records may have ` +
          'been removed by retention meanwhile, or the brokers are unreachable. Raise option ' +
          '\'kafkaConsumer.pollTimeoutMs\' or check the brokers; the batch is re-run when the query restarts.')), this.timeoutMs);
        this.onProgress = () => {
          if (this.failure !== null) {
            clearTimeout(timer);
            reject(kafkaFailure(this.failure, 'reading records', this.config));
          } else if ([...this.pending.values()].every((p) => p.next >= p.range.to)) {
            clearTimeout(timer);
            resolve();
          }
        };
        for (const p of this.pending.values()) {
          this.consumer.seek({ topic: p.range.topic, partition: p.range.partition, offset: String(p.range.from) });
        }
        const byTopic = new Map<string, number[]>();
        for (const r of wanted) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r.partition]);
        this.consumer.resume([...byTopic].map(([topic, partitions]) => ({ topic, partitions })));
      });
    } finally {
      this.onProgress = null;
      this.consumer.pause(this.topics.map((topic) => ({ topic })));
    }
    return wanted.flatMap((r) => this.pending.get(partitionKey(r))!.records);
  }

  /** Commits positions to the reader's group, for lag tools (never read back by weir). */
  async commit(offsets: readonly (TopicPartition & { readonly offset: number })[]): Promise<void> {
    if (this.running === null) return;
    await this.consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
  }

  async close(): Promise<void> {
    if (this.running !== null) await this.consumer.disconnect().catch(() => undefined);
    this.running = null;
  }

  private async start(): Promise<void> {
    if (this.running !== null) return;
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [...this.topics], fromBeginning: false });
      this.consumer.on(this.consumer.events.CRASH, (event) => {
        this.failure = event.payload.error;
        this.onProgress?.();
      });
      this.running = this.consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const p = this.pending.get(partitionKey(batch));
          if (!p || p.next >= p.range.to) {
            this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
            return;
          }
          for (const message of batch.messages) {
            const offset = Number(message.offset);
            // Records before `next` are from a fetch that started before the seek; compaction may leave gaps after it.
            if (offset < p.next || offset >= p.range.to) continue;
            p.records.push({ topic: batch.topic, partition: batch.partition, message });
            p.next = offset + 1;
          }
          // A range may end in offsets that hold no record (compaction, transaction markers).
          if (Number(batch.lastOffset()) >= p.range.to - 1) p.next = p.range.to;
          if (p.next >= p.range.to) this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          this.onProgress?.();
        },
      });
      this.consumer.pause(this.topics.map((topic) => ({ topic })));
      await this.running;
    } catch (err) {
      this.running = null;
      throw kafkaFailure(err, `subscribing to ${this.topics.join(', ')}`, this.config);
    }
  }
}
