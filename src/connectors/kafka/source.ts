import { Kafka } from 'kafkajs';
import type { IHeaders, KafkaConfig } from 'kafkajs';
import { decodeFile, encodeFile } from '../../checkpoint/file-format.js';
import { CheckpointStorage } from '../../checkpoint/storage.js';
import { AnalysisError, ConnectorError } from '../../common/errors.js';
import { Options } from '../../common/options.js';
import { Row, Schema, Value } from '../../common/schema.js';
import { Offset, Source, SourceContext, SourceSpec } from '../../sources/source.js';
import {
  comparePartitions, kafkaConfig, KafkaMetadata, KafkaRangeReader, PartitionBounds, partitionKey, PartitionRange,
  ReadRecord, TopicPartition,
} from './client.js';
import {
  asKafkaOffset, buildOffset, EARLIEST, KafkaOffset, LATEST, limitRanges, offsetAt, OffsetSpec, parseOffsetSpec, partitionsOf,
} from './offsets.js';

const HEADER_TYPE = {
  kind: 'array' as const,
  element: { kind: 'struct' as const, fields: [
    { name: 'key', type: 'string' as const, nullable: false },
    { name: 'value', type: 'binary' as const, nullable: true },
  ] },
};

/** Spark's Kafka source columns; `headers` only with option `includeHeaders`. */
export function kafkaSourceSchema(includeHeaders: boolean): Schema {
  return [
    { name: 'key', type: 'binary', nullable: true },
    { name: 'value', type: 'binary', nullable: true },
    { name: 'topic', type: 'string', nullable: false },
    { name: 'partition', type: 'integer', nullable: false },
    { name: 'offset', type: 'long', nullable: false },
    { name: 'timestamp', type: 'timestamp', nullable: false },
    { name: 'timestampType', type: 'integer', nullable: false },
    ...(includeHeaders ? [{ name: 'headers', type: HEADER_TYPE, nullable: true }] : []),
  ];
}

/** Which topics a query reads: Spark's `subscribe`, `subscribePattern` or `assign` (exactly one). */
type Subscription =
  | { readonly kind: 'subscribe'; readonly topics: readonly string[] }
  | { readonly kind: 'subscribePattern'; readonly pattern: RegExp }
  | { readonly kind: 'assign'; readonly partitions: readonly TopicPartition[] };

/** The options shared by the streaming source and batch reads. */
export class KafkaReadSettings {
  readonly config: KafkaConfig;
  readonly subscription: Subscription;
  readonly includeHeaders: boolean;
  readonly failOnDataLoss: boolean;
  readonly groupIdPrefix: string;
  readonly pollTimeoutMs: number;

  constructor(options: Options) {
    this.config = kafkaConfig(options, 'kafka-source');
    this.subscription = parseSubscription(options);
    this.includeHeaders = options.boolean('includeHeaders', false);
    this.failOnDataLoss = options.boolean('failOnDataLoss', true);
    this.groupIdPrefix = options.string('groupIdPrefix', 'weir-kafka-source');
    this.pollTimeoutMs = options.integer('kafkaConsumer.pollTimeoutMs', 120_000, 1);
  }

  describe(): string {
    const s = this.subscription;
    return s.kind === 'subscribe' ? `Subscribe[${s.topics.join(',')}]`
      : s.kind === 'subscribePattern' ? `SubscribePattern[${s.pattern.source}]`
      : `Assign[${s.partitions.map(partitionKey).join(',')}]`;
  }

  /** The partitions the subscription covers now. */
  async partitions(metadata: KafkaMetadata): Promise<TopicPartition[]> {
    const s = this.subscription;
    if (s.kind === 'assign') return [...s.partitions];
    const topics = s.kind === 'subscribe' ? s.topics : (await metadata.topics()).filter((t) => s.pattern.test(t));
    return metadata.partitions(topics);
  }

  /** Resolves 'earliest', 'latest' and the -2/-1 sentinels against the partitions' bounds now. */
  resolve(spec: OffsetSpec, partitions: readonly TopicPartition[], bounds: ReadonlyMap<string, PartitionBounds>): KafkaOffset {
    return buildOffset(partitions.map((tp) => {
      const b = bounds.get(partitionKey(tp));
      const given = typeof spec === 'string' ? (spec === 'earliest' ? EARLIEST : LATEST) : offsetAt(spec, tp) ?? LATEST;
      const offset = given === EARLIEST ? b?.low ?? 0 : given === LATEST ? b?.high ?? 0 : given;
      return [tp, offset] as const;
    }));
  }

  /** The rows of the ranges: Spark's columns, record by record. */
  toRows(records: readonly ReadRecord[]): Row[] {
    return records.map(({ topic, partition, message }) => {
      const row: Row = {
        key: message.key ?? null, value: message.value ?? null, topic, partition, offset: Number(message.offset),
        timestamp: Number(message.timestamp),
        // Bit 3 of the record batch attributes: 0 CreateTime, 1 LogAppendTime.
        timestampType: (message.attributes & 0x08) === 0 ? 0 : 1,
      };
      if (this.includeHeaders) row['headers'] = headerRows(message.headers);
      return row;
    });
  }

  /** Ranges to read for [from, to), checked against what the brokers still hold (`failOnDataLoss`). */
  checkRanges(ranges: readonly PartitionRange[], bounds: ReadonlyMap<string, PartitionBounds>, lost: (n: number) => void): PartitionRange[] {
    return ranges.map((r) => {
      const b = bounds.get(partitionKey(r));
      const low = b?.low ?? 0;
      if (b === undefined || low > r.from) {
        const what = b === undefined ? `partition ${partitionKey(r)} no longer exists`
          : `partition ${partitionKey(r)} starts at offset ${low} now`;
        if (this.failOnDataLoss) {
          throw new ConnectorError('KAFKA_DATA_LOSS',
            `Some data may have been lost: ${what}, but this batch reads offsets ${r.from}..${r.to - 1} (removed by the ` +
            `topic's retention, or the topic was deleted). Raise the topic's retention, or set option 'failOnDataLoss' ` +
            'to false to skip what is gone (counted in progress as lostOffsets).');
        }
        const from = b === undefined ? r.to : Math.min(low, r.to);
        lost(from - r.from);
        return { ...r, from };
      }
      return r;
    });
  }
}

function headerRows(headers: IHeaders | undefined): Value {
  if (!headers) return [];
  return Object.entries(headers).flatMap(([key, value]) => {
    const values = Array.isArray(value) ? value : [value];
    return values.map((v) => ({ key, value: v === undefined ? null : typeof v === 'string' ? Buffer.from(v) : v }));
  });
}

function parseSubscription(options: Options): Subscription {
  const given = (['subscribe', 'subscribePattern', 'assign'] as const).filter((name) => options.has(name));
  if (given.length !== 1) {
    throw new AnalysisError(`The kafka source needs exactly one of options 'subscribe', 'subscribePattern' or 'assign'` +
      (given.length === 0 ? '' : `, got ${given.map((g) => `'${g}'`).join(' and ')}`) +
      `: e.g. .option('subscribe', 'topicA,topicB').`, 'MISSING_OPTION');
  }
  const kind = given[0]!;
  const raw = options.required(kind, 'topics to read');
  if (kind === 'subscribe') return { kind, topics: raw.split(',').map((t) => t.trim()).filter((t) => t !== '') };
  if (kind === 'subscribePattern') {
    try {
      return { kind, pattern: new RegExp(`^(?:${raw})$`) };
    } catch (err) {
      throw new AnalysisError(`Option 'subscribePattern' is not a valid regular expression: ${(err as Error).message}.`, 'INVALID_OPTION');
    }
  }
  return { kind, partitions: parseAssign(raw) };
}

/** Spark's `assign`: `{"topicA":[0,1],"topicB":[2]}`. */
function parseAssign(raw: string): TopicPartition[] {
  let json: unknown = null;
  try {
    json = JSON.parse(raw);
  } catch {
    // reported below
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json) ||
    !Object.values(json).every((v) => Array.isArray(v) && v.every((p) => Number.isInteger(p) && p >= 0))) {
    throw new AnalysisError(`Option 'assign' must map topics to partition numbers, e.g. {"topicA":[0,1]}, got '${raw}'.`,
      'INVALID_OPTION');
  }
  return Object.entries(json as Record<string, number[]>)
    .flatMap(([topic, parts]) => parts.map((partition) => ({ topic, partition }))).sort(comparePartitions);
}

/**
 * `format('kafka')` source, with Spark's options and columns. Offsets per topic-partition go to the
 * offset log; the first start's positions (`startingOffsets`) are fixed in the source's checkpoint
 * folder, so a null start means the same range after a restart. A re-run batch reads exactly its
 * logged ranges. A partition that appears later (new partitions, new topics of a pattern) first
 * enters the offsets at its earliest offset and is read from there by the next batch.
 */
export class KafkaSource implements Source {
  readonly description: string;
  readonly schema: Schema;
  private readonly settings: KafkaReadSettings;
  private readonly starting: OffsetSpec;
  private readonly maxOffsetsPerTrigger: number | undefined;
  private readonly minOffsetsPerTrigger: number | undefined;
  private readonly maxTriggerDelayMs: number;
  private readonly kafka: Kafka;
  private metadata: KafkaMetadata | null = null;
  private reader: KafkaRangeReader | null = null;
  private initial: KafkaOffset = {};
  private target: KafkaOffset | null = null;
  private latestBounds = new Map<string, PartitionBounds>();
  private lastTriggerMs = Date.now();
  private lostOffsets = 0;
  private readonly groupId: string | undefined;

  constructor(spec: SourceSpec) {
    if (spec.schema) {
      throw new AnalysisError('The kafka source has a fixed schema (key, value, topic, partition, offset, timestamp, ' +
        'timestampType, headers): remove .schema(…) and decode value with cast(\'string\') and from_json.', 'USER_SCHEMA');
    }
    const options = spec.options;
    this.settings = new KafkaReadSettings(options);
    this.starting = parseOffsetSpec('startingOffsets', options.string('startingOffsets', 'latest'));
    this.maxOffsetsPerTrigger = options.integer('maxOffsetsPerTrigger', undefined, 1);
    this.minOffsetsPerTrigger = options.integer('minOffsetsPerTrigger', undefined, 1);
    this.maxTriggerDelayMs = options.duration('maxTriggerDelay', '15 minutes');
    this.groupId = options.string('kafka.group.id');
    this.schema = kafkaSourceSchema(this.settings.includeHeaders);
    this.kafka = new Kafka(this.settings.config);
    this.description = `KafkaV2[${this.settings.describe()}]`;
  }

  async open(context: SourceContext): Promise<void> {
    this.metadata = new KafkaMetadata(this.kafka, this.settings.config);
    try {
      this.initial = await this.loadOrFixStart(context.storage);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async latestOffset(start: Offset | null): Promise<Offset | null> {
    const base = start === null ? this.initial : asKafkaOffset(start, 'The logged kafka offset', false);
    const metadata = this.connected();
    const partitions = await this.settings.partitions(metadata);
    const bounds = await metadata.bounds(partitions);
    this.latestBounds = bounds;
    const from = new Map<string, number>();
    const to = new Map<string, number>();
    const tps = new Map<string, TopicPartition>();
    for (const tp of partitions) {
      const key = partitionKey(tp);
      tps.set(key, tp);
      const b = bounds.get(key);
      const known = offsetAt(base, tp);
      if (known === undefined) {
        to.set(key, b?.low ?? 0); // a new partition enters at its earliest offset; the next batch reads it
        continue;
      }
      from.set(key, known);
      const high = Math.min(b?.high ?? known, this.target ? offsetAt(this.target, tp) ?? Infinity : Infinity);
      if (high < known) {
        if (this.settings.failOnDataLoss) {
          throw new ConnectorError('KAFKA_DATA_LOSS', `Partition ${key} now ends at offset ${high}, before offset ${known} that ` +
            'this query already read: the topic was deleted and created again. Start the query with a new ' +
            'checkpointLocation, or set option \'failOnDataLoss\' to false to continue from the new end.');
        }
        to.set(key, high);
        continue;
      }
      to.set(key, high);
    }
    for (const tp of partitionsOf(base)) {
      if (tps.has(partitionKey(tp))) continue;
      if (this.settings.failOnDataLoss) {
        throw new ConnectorError('KAFKA_DATA_LOSS', `Partition ${partitionKey(tp)} that this query reads is gone (its topic ` +
          'was deleted). Restore the topic, or set option \'failOnDataLoss\' to false to stop reading it.');
      }
    }
    if (this.maxOffsetsPerTrigger !== undefined) limitRanges(from, to, this.maxOffsetsPerTrigger);
    if (this.minOffsetsPerTrigger !== undefined && this.target === null) {
      const waiting = [...to].reduce((n, [key, end]) => n + Math.max(0, end - (from.get(key) ?? end)), 0);
      if (waiting < this.minOffsetsPerTrigger && Date.now() - this.lastTriggerMs < this.maxTriggerDelayMs) return start;
    }
    const end = buildOffset([...to].map(([key, offset]) => [tps.get(key)!, offset] as const));
    if (start === null && JSON.stringify(end) === JSON.stringify(this.initial)) return null;
    if (JSON.stringify(end) !== JSON.stringify(base)) this.lastTriggerMs = Date.now();
    return end;
  }

  async getBatch(start: Offset | null, end: Offset): Promise<Row[]> {
    const base = start === null ? this.initial : asKafkaOffset(start, 'The logged kafka offset', false);
    const last = asKafkaOffset(end, 'The logged kafka offset', false);
    const ranges: PartitionRange[] = partitionsOf(last).sort(comparePartitions).flatMap((tp) => {
      const from = offsetAt(base, tp);
      const to = offsetAt(last, tp)!;
      return from === undefined || to <= from ? [] : [{ ...tp, from, to }];
    });
    if (ranges.length === 0) return [];
    const bounds = await this.connected().bounds(ranges);
    const checked = this.settings.checkRanges(ranges, bounds, (n) => { this.lostOffsets += n; });
    return this.settings.toRows(await this.readerFor(checked).read(checked));
  }

  async commit(end: Offset): Promise<void> {
    // For lag tools only: recovery reads the offset log, never the group's offsets (as in Spark).
    if (this.groupId === undefined || this.reader === null) return;
    const offset = asKafkaOffset(end, 'The committed kafka offset', false);
    const committed = partitionsOf(offset).filter((tp) => this.reader!.topics.includes(tp.topic))
      .map((tp) => ({ ...tp, offset: offsetAt(offset, tp)! }));
    // Best effort: a failure here must not fail a batch that is already committed.
    await this.reader.commit(committed).catch(() => undefined);
  }

  async prepareForTriggerAvailableNow(): Promise<void> {
    const metadata = this.connected();
    const partitions = await this.settings.partitions(metadata);
    this.target = this.settings.resolve('latest', partitions, await metadata.bounds(partitions));
  }

  /** Spark's lag metrics, against the partitions' ends when last asked. */
  metrics(end: Offset | null): Record<string, number> {
    const offset = end === null ? this.initial : (end as KafkaOffset);
    const behind = partitionsOf(offset).map((tp) => {
      const high = this.latestBounds.get(partitionKey(tp))?.high;
      return high === undefined ? 0 : Math.max(0, high - (offsetAt(offset, tp) ?? high));
    });
    if (behind.length === 0) return { lostOffsets: this.lostOffsets };
    return {
      minOffsetsBehindLatest: Math.min(...behind), maxOffsetsBehindLatest: Math.max(...behind),
      avgOffsetsBehindLatest: behind.reduce((a, b) => a + b, 0) / behind.length, lostOffsets: this.lostOffsets,
    };
  }

  async stop(): Promise<void> {
    await this.reader?.close();
    this.reader = null;
    await this.metadata?.close();
    this.metadata = null;
  }

  private connected(): KafkaMetadata {
    if (!this.metadata) throw new ConnectorError('KAFKA_NOT_OPEN', `${this.description} is used before open() or after stop().`);
    return this.metadata;
  }

  /** One reading consumer, recreated when the set of topics to read changes (a consumer subscribes once). */
  private readerFor(ranges: readonly PartitionRange[]): KafkaRangeReader {
    const topics = [...new Set(ranges.map((r) => r.topic))].sort();
    if (this.reader && this.reader.topics.join(',') === topics.join(',')) return this.reader;
    void this.reader?.close();
    const group = this.groupId === undefined ? { name: this.settings.groupIdPrefix, exact: false } : { name: this.groupId, exact: true };
    this.reader = new KafkaRangeReader(this.kafka, this.settings.config, topics, group, this.settings.pollTimeoutMs);
    return this.reader;
  }

  private async loadOrFixStart(storage: CheckpointStorage): Promise<KafkaOffset> {
    const stored = await storage.read('start');
    if (stored !== null) {
      const where = storage.locate('start');
      return asKafkaOffset(JSON.parse(decodeFile(stored, 'kafka-start', 1, where).body.toString('utf8')), where, false);
    }
    const metadata = this.connected();
    const partitions = await this.settings.partitions(metadata);
    const initial = this.settings.resolve(this.starting, partitions, await metadata.bounds(partitions));
    await storage.writeAtomic('start', encodeFile('kafka-start', 1, JSON.stringify(initial)), { overwrite: false });
    return initial;
  }
}
