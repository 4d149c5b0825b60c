/** Helpers of the Kafka tests: a producer for input, a reader for output, a private mock cluster. */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Message } from 'kafkajs';
import { Row, Weir } from '../../src/index.js';

export function uniqueTopic(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Writes messages (a topic is created on first use, with the mock's 4 partitions) and waits for their acks. */
export async function produce(brokers: string, topic: string, messages: Message[]): Promise<void> {
  const producer = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Every record of a topic, through weir's batch read (itself under test in the source tests). */
export async function readTopic(brokers: string, topic: string, extra: Record<string, string> = {}): Promise<Row[]> {
  let reader = new Weir().read.format('kafka').option('kafka.bootstrap.servers', brokers).option('subscribe', topic);
  for (const [k, v] of Object.entries(extra)) reader = reader.option(k, v);
  return reader.load().collect();
}

export function text(v: unknown): string | null {
  return v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v === null ? null : String(v);
}

/** A mock cluster of the test's own (for tests that lose it), as scripts/services.sh starts the shared one. */
export { startKafkaMock as startPrivateCluster } from '../../bench/lib/kafka-mock.js';
