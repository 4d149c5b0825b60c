import { AnalysisError, ConnectorError } from '../../common/errors.js';
import { TopicPartition } from './client.js';

/**
 * A Kafka source offset, in Spark's JSON form: topic → partition number (as text) → the next offset
 * to read. A batch reads, per partition, the offsets in [previous batch's offset, this batch's offset).
 */
export type KafkaOffset = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** Spark's sentinels inside a `startingOffsets` / `endingOffsets` JSON. */
export const EARLIEST = -2;
export const LATEST = -1;

export type OffsetSpec = 'earliest' | 'latest' | KafkaOffset;

export function offsetAt(offset: KafkaOffset, tp: TopicPartition): number | undefined {
  return offset[tp.topic]?.[String(tp.partition)];
}

/** Builds an offset from (partition, offset) pairs, topics and partitions sorted so equal offsets print equally. */
export function buildOffset(entries: Iterable<readonly [TopicPartition, number]>): KafkaOffset {
  const sorted = [...entries].sort(([a], [b]) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const out: Record<string, Record<string, number>> = {};
  for (const [tp, offset] of sorted) (out[tp.topic] ??= {})[String(tp.partition)] = offset;
  return out;
}

export function partitionsOf(offset: KafkaOffset): TopicPartition[] {
  return Object.entries(offset).flatMap(([topic, parts]) => Object.keys(parts).map((p) => ({ topic, partition: Number(p) })));
}

/** Checks the shape of an offset read from the checkpoint (or given by a user) and names what is wrong. */
export function asKafkaOffset(value: unknown, where: string, allowSentinels: boolean): KafkaOffset {
  const fail = (why: string): never => {
    throw new ConnectorError('KAFKA_OFFSET', `${where} is not a Kafka offset: ${why}. Expected JSON such as ` +
      `{"topicA":{"0":23,"1":-1}} (partition → offset${allowSentinels ? '; -2 earliest, -1 latest' : ''}).`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not an object');
  for (const [topic, parts] of Object.entries(value)) {
    if (typeof parts !== 'object' || parts === null || Array.isArray(parts)) return fail(`topic '${topic}' maps to ${JSON.stringify(parts)}`);
    for (const [partition, offset] of Object.entries(parts as Record<string, unknown>)) {
      const min = allowSentinels ? EARLIEST : 0;
      if (!/^\d+$/.test(partition)) fail(`'${partition}' of topic '${topic}' is not a partition number`);
      if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < min) {
        fail(`partition ${topic}-${partition} has offset ${JSON.stringify(offset)}`);
      }
    }
  }
  return value as KafkaOffset;
}

/** Option `startingOffsets` / `endingOffsets`: 'earliest', 'latest' or a JSON offset with sentinels. */
export function parseOffsetSpec(name: string, raw: string): OffsetSpec {
  const text = raw.trim();
  if (text.toLowerCase() === 'earliest' || text.toLowerCase() === 'latest') return text.toLowerCase() as 'earliest' | 'latest';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AnalysisError(`Option '${name}' must be 'earliest', 'latest' or JSON such as {"topicA":{"0":23,"1":-2}}, ` +
      `got '${raw}'.`, 'INVALID_OPTION');
  }
  try {
    return asKafkaOffset(json, `Option '${name}'`, true);
  } catch (err) {
    throw new AnalysisError((err as Error).message, 'INVALID_OPTION');
  }
}

/**
 * Caps a batch at `limit` offsets in all, shared between partitions in proportion to what each has
 * waiting (as Spark's `maxOffsetsPerTrigger` does), every partition with data getting at least one.
 */
export function limitRanges(from: ReadonlyMap<string, number>, to: Map<string, number>, limit: number): void {
  const lags = [...to].map(([key, end]) => [key, Math.max(0, end - (from.get(key) ?? end))] as const).filter(([, lag]) => lag > 0);
  const total = lags.reduce((n, [, lag]) => n + lag, 0);
  if (total <= limit) return;
  for (const [key, lag] of lags) {
    const share = (limit * lag) / total;
    const take = Math.min(lag, share < 1 ? Math.ceil(share) : Math.floor(share));
    to.set(key, (from.get(key) ?? 0) + take);
  }
}

