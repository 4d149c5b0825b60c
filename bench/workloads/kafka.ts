/**
 * KAFKA: the Kafka source into a stateless and a windowed query, and the Kafka sink, each next to a
 * plain kafkajs consumer or producer loop doing the same work against the same mock cluster
 * (librdkafka's, in memory: the figures compare client-side costs, not a real broker's).
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Message } from 'kafkajs';
import { col, Row, Weir, window } from '../../src/index.js';
import { startKafkaMock } from '../lib/kafka-mock.js';
import { removeDir, tempDir } from '../lib/harness.js';
import { rate, ResultRow } from '../lib/report.js';
import { Workload } from '../lib/suite.js';

const CHUNK = 5_000;
const WINDOW_MS = 10_000;

interface Event { readonly ts: number; readonly user: string }

function event(i: number): Event {
  return { ts: 1_700_000_000_000 + i * 10, user: `u${i % 1000}` };
}

async function fill(kafka: Kafka, topic: string, n: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < n; i += CHUNK) {
    const messages: Message[] = [];
    for (let j = i; j < Math.min(n, i + CHUNK); j++) messages.push({ key: `u${j % 1000}`, value: JSON.stringify(event(j)) });
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

/** Reads `n` records with a consumer group, handing each value to `each`; resolves with records per second. */
async function consumeLoop(kafka: Kafka, topic: string, n: number, each: (value: Buffer) => void): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-${topic}-${Math.random()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const started = performance.now();
  let seen = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) if (m.value) each(m.value);
        seen += batch.messages.length;
        if (seen >= n) resolve();
      },
    });
  });
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  return n / seconds;
}

async function weirRead(brokers: string, topic: string, n: number, windowed: boolean): Promise<number> {
  const weir = new Weir();
  const checkpoint = await tempDir('kafka');
  try {
    const records = weir.readStream.format('kafka').option('kafka.bootstrap.servers', brokers).option('subscribe', topic)
      .option('startingOffsets', 'earliest').option('maxOffsetsPerTrigger', 100_000).load();
    const parsed = records.select(col('value').cast('string').as('json'))
      .map((r) => JSON.parse(String(r['json'])) as Row, { ts: 'timestamp', user: 'string' });
    const query = windowed ? parsed.withWatermark('ts', '10 seconds').groupBy(window(col('ts'), '10 seconds'), col('user')).count() : parsed;
    let rows = 0;
    const started = performance.now();
    const q = await query.writeStream.outputMode(windowed ? 'update' : 'append').foreachBatch((batch) => { rows += batch.length; })
      .option('checkpointLocation', checkpoint).start();
    await q.processAllAvailable();
    const seconds = (performance.now() - started) / 1000;
    await q.stop();
    if (!windowed && rows !== n) throw new Error(`KAFKA bench: weir read ${rows} of ${n} records`);
    return n / seconds;
  } finally {
    await removeDir(checkpoint);
  }
}

async function weirWrite(brokers: string, topic: string, n: number): Promise<number> {
  const weir = new Weir();
  const checkpoint = await tempDir('kafka-sink');
  try {
    const input = weir.memoryStream({ key: 'string', value: 'string' });
    const rows = Array.from({ length: n }, (_, i) => ({ key: `u${i % 1000}`, value: JSON.stringify(event(i)) }));
    const q = await input.toDF().writeStream.format('kafka').option('kafka.bootstrap.servers', brokers).option('topic', topic)
      .option('checkpointLocation', checkpoint).start();
    input.addData([rows[0]!]);
    await q.processAllAvailable(); // the first batch after a start reads the partitions' tails back; not measured
    const started = performance.now();
    input.addData(rows.slice(1));
    await q.processAllAvailable();
    const seconds = (performance.now() - started) / 1000;
    await q.stop();
    return (n - 1) / seconds;
  } finally {
    await removeDir(checkpoint);
  }
}

async function producerLoop(kafka: Kafka, topic: string, n: number): Promise<number> {
  const producer = kafka.producer({ maxInFlightRequests: 1 });
  await producer.connect();
  const started = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const messages: Message[] = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) messages.push({ key: `u${j % 1000}`, value: JSON.stringify(event(j)) });
    await producer.send({ topic, acks: -1, messages });
  }
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return n / seconds;
}

export const kafkaWorkloads: Workload = {
  ids: ['KAFKA'],
  async run(suite) {
    const n = suite.quick ? 50_000 : 500_000;
    const mock = await startKafkaMock();
    const kafka = new Kafka({ brokers: mock.brokers.split(','), logLevel: logLevel.NOTHING });
    try {
      const topic = `bench-in-${Date.now()}`;
      await fill(kafka, topic, n);
      const plain = await consumeLoop(kafka, topic, n, () => undefined);
      const stateless = await weirRead(mock.brokers, topic, n, false);
      const counts = new Map<string, number>();
      const handWindowed = await consumeLoop(kafka, topic, n, (value) => {
        const e = JSON.parse(value.toString('utf8')) as Event;
        const key = `${Math.floor(e.ts / WINDOW_MS)}|${e.user}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      });
      const windowed = await weirRead(mock.brokers, topic, n, true);
      await fill(kafka, `bench-out-${topic}`, 1);
      await fill(kafka, `bench-loop-${topic}`, 1);
      const sink = await weirWrite(mock.brokers, `bench-out-${topic}`, n);
      const produced = await producerLoop(kafka, `bench-loop-${topic}`, n);
      const note = `${n} JSON records, 4 partitions, librdkafka mock cluster (3 brokers, in memory); weir includes its checkpoint`;
      const row = (id: string, workload: string, weir: number, base: number, baseName: string): ResultRow => ({
        id, workload, weir: rate(weir, 'records/s'), baseline: rate(base, 'records/s'), baselineName: baseName,
        ratio: weir / base, goal: 'reference', met: null, notes: [note],
      });
      return [
        row('KAFKA src', 'Kafka source -> stateless (cast + JSON parse)', stateless, plain, 'kafkajs consumer loop'),
        row('KAFKA agg', 'Kafka source -> 10 s windowed count', windowed, handWindowed, 'kafkajs consumer + Map'),
        row('KAFKA sink', 'exactly-once Kafka sink (acks=all)', sink, produced, 'kafkajs producer loop, acks=all'),
      ];
    } finally {
      mock.stop();
    }
  },
};
