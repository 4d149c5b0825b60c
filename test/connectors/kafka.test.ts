import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { col, DataFrame, Row, StreamingQuery, Weir, WeirError } from '../../src/index.js';
import { partitionForKey } from '../../src/connectors/kafka/partitioner.js';
import { produce, readTopic, startPrivateCluster, text, uniqueTopic } from './kafka-cluster.js';
import { service } from './services.js';

const kafka = service('WEIR_TEST_KAFKA_BROKERS');

describe('kafka source and sink', { skip: kafka.skip }, () => {
  let brokers = '';
  let dir = '';
  before(async () => {
    brokers = kafka.url();
    dir = await mkdtemp(join(tmpdir(), 'weir-kafka-'));
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  const stream = (weir: Weir, options: Record<string, string | number | boolean>): DataFrame => {
    let reader = weir.readStream.format('kafka').option('kafka.bootstrap.servers', brokers);
    for (const [k, v] of Object.entries(options)) reader = reader.option(k, v);
    return reader.load();
  };
  const toMemory = (df: DataFrame, name: string, checkpoint: string): Promise<StreamingQuery> =>
    df.select(col('key').cast('string').as('key'), col('value').cast('string').as('value'), 'topic', 'partition', 'offset')
      .writeStream.format('memory').queryName(name).option('checkpointLocation', join(dir, checkpoint)).start();
  const values = (rows: readonly Row[]): string[] => rows.map((r) => String(r['value'])).sort();
  const numbered = (prefix: string, n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({ key: `k${(i + from) % 5}`, value: `${prefix}${i + from}` }));

  test('subscribe from earliest reads every record with Spark\'s columns; a restart continues at the exact offsets', async () => {
    const topic = uniqueTopic('src');
    await produce(brokers, topic, numbered('a', 40));
    const weir = new Weir();
    let q = await toMemory(stream(weir, { subscribe: topic, startingOffsets: 'earliest' }), 'restart', 'restart');
    await q.processAllAvailable();
    await q.stop();
    const first = weir.memorySink('restart').rows.length;
    assert.equal(first, 40);
    const row = weir.memorySink('restart').rows[0]!;
    assert.equal(row['topic'], topic);
    assert.equal(typeof row['partition'], 'number');
    await produce(brokers, topic, numbered('a', 25, 40));
    q = await toMemory(stream(weir, { subscribe: topic, startingOffsets: 'earliest' }), 'restart', 'restart');
    await q.processAllAvailable();
    await q.stop();
    const rows = weir.memorySink('restart').rows;
    assert.deepEqual(values(rows), numbered('a', 65).map((m) => m.value).sort());
    // Keys land where Kafka's default partitioner puts them (the producer used it).
    for (const r of rows) assert.equal(r['partition'], partitionForKey(Buffer.from(String(r['key'])), 4), `row ${r['value']}`);
    const offsets = new Set(rows.map((r) => `${r['partition']}:${r['offset']}`));
    assert.equal(offsets.size, 65, 'no record read twice');
  });

  test('startingOffsets latest (the default) reads only what arrives after the first start, also after a restart', async () => {
    const topic = uniqueTopic('latest');
    await produce(brokers, topic, numbered('old', 10));
    const weir = new Weir();
    let q = await toMemory(stream(weir, { subscribe: topic }), 'latest', 'latest');
    await q.processAllAvailable();
    await q.stop();
    await produce(brokers, topic, numbered('new', 7));
    q = await toMemory(stream(weir, { subscribe: topic }), 'latest', 'latest');
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(values(weir.memorySink('latest').rows), numbered('new', 7).map((m) => m.value).sort());
  });

  test('startingOffsets as JSON per partition, assign and batch reads with endingOffsets', async () => {
    const topic = uniqueTopic('json');
    await produce(brokers, topic, Array.from({ length: 12 }, (_, i) => ({ value: `p${i % 4}-${Math.floor(i / 4)}`, partition: i % 4 })));
    const weir = new Weir();
    const q = await toMemory(stream(weir, {
      assign: JSON.stringify({ [topic]: [1, 2] }), startingOffsets: JSON.stringify({ [topic]: { 1: 1, 2: -2 } }),
    }), 'assign', 'assign');
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(values(weir.memorySink('assign').rows), ['p1-1', 'p1-2', 'p2-0', 'p2-1', 'p2-2']);
    const batch = await readTopic(brokers, topic, { endingOffsets: JSON.stringify({ [topic]: { 0: 2, 1: -1, 2: 1, 3: 0 } }) });
    assert.deepEqual(batch.map((r) => text(r['value'])).sort(), ['p0-0', 'p0-1', 'p1-0', 'p1-1', 'p1-2', 'p2-0']);
  });

  test('subscribePattern picks up a topic created after the start', async () => {
    const prefix = uniqueTopic('pat');
    await produce(brokers, `${prefix}-a`, [{ value: 'a1' }]);
    const weir = new Weir();
    const q = await toMemory(stream(weir, { subscribePattern: `${prefix}-.*`, startingOffsets: 'earliest' }), 'pattern', 'pattern');
    await q.processAllAvailable();
    await produce(brokers, `${prefix}-b`, [{ value: 'b1' }, { value: 'b2' }]);
    await q.processAllAvailable(); // the new topic's partitions enter the offsets at their earliest offset
    await q.processAllAvailable(); // and their records are read by the next batch
    await q.stop();
    assert.deepEqual(values(weir.memorySink('pattern').rows), ['a1', 'b1', 'b2']);
  });

  test('maxOffsetsPerTrigger caps each batch, shared between partitions; includeHeaders gives the headers', async () => {
    const topic = uniqueTopic('limit');
    await produce(brokers, topic, numbered('m', 30).map((m) => ({ ...m, headers: { origin: 'test' } })));
    const weir = new Weir();
    const df = stream(weir, { subscribe: topic, startingOffsets: 'earliest', maxOffsetsPerTrigger: 7, includeHeaders: true });
    const q = await df.select(col('value').cast('string').as('value'), 'headers')
      .writeStream.format('memory').queryName('limit').option('checkpointLocation', join(dir, 'limit')).start();
    await q.processAllAvailable();
    await q.stop();
    const rows = weir.memorySink('limit').rows;
    assert.deepEqual(values(rows), numbered('m', 30).map((m) => m.value).sort());
    const sizes = q.recentProgress.map((p) => p.numInputRows).filter((n) => n > 0);
    assert.ok(sizes.every((n) => n <= 7), `batch sizes ${sizes.join(',')}`);
    assert.ok(sizes.length >= 5, `30 records at most 7 per batch need at least 5 batches, got ${sizes.length}`);
    const headers = rows[0]!['headers'] as { key: string; value: Uint8Array }[];
    assert.deepEqual(headers.map((h) => [h.key, text(h.value)]), [['origin', 'test']]);
    const metrics = q.lastProgress!.sources[0]!.metrics;
    assert.equal(metrics['maxOffsetsBehindLatest'], 0);
  });

  test('minOffsetsPerTrigger waits for enough records (within maxTriggerDelay); kafka.group.id receives committed offsets', async () => {
    const topic = uniqueTopic('min');
    const group = uniqueTopic('lag-tools');
    await produce(brokers, topic, numbered('w', 10));
    const weir = new Weir();
    const q = await toMemory(stream(weir, {
      subscribe: topic, startingOffsets: 'earliest', minOffsetsPerTrigger: 25, maxTriggerDelay: '1 hour', 'kafka.group.id': group,
    }), 'min', 'min');
    await q.processAllAvailable();
    assert.equal(weir.memorySink('min').rows.length, 0, '10 waiting records are fewer than minOffsetsPerTrigger');
    await produce(brokers, topic, numbered('w', 20, 10));
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(values(weir.memorySink('min').rows), numbered('w', 30).map((m) => m.value).sort());
    const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const total = committed!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      assert.equal(total, 30, 'the group holds the end offsets of the last committed batch');
    } finally {
      await admin.disconnect();
    }
  });

  test('failOnDataLoss: a topic recreated below the logged offsets stops the query by default, or is skipped', async () => {
    const topic = uniqueTopic('loss');
    const first = await startPrivateCluster();
    const weir = new Weir();
    try {
      await produce(first.brokers, topic, numbered('x', 20));
      const q = await toMemory(stream(weir, { 'kafka.bootstrap.servers': first.brokers, subscribe: topic, startingOffsets: 'earliest' }),
        'loss', 'loss');
      await q.processAllAvailable();
      await q.stop();
    } finally {
      first.stop();
    }
    const second = await startPrivateCluster(); // the topic is gone; a new one has fewer records
    try {
      await produce(second.brokers, topic, numbered('y', 2));
      const strict = await toMemory(stream(weir, { 'kafka.bootstrap.servers': second.brokers, subscribe: topic }), 'loss', 'loss');
      await assert.rejects(strict.processAllAvailable(), (err: unknown) =>
        err instanceof WeirError && /KAFKA_DATA_LOSS|lost|deleted and created again/.test(err.message) &&
        /failOnDataLoss/.test(err.message));
      const lenient = await toMemory(stream(weir, { 'kafka.bootstrap.servers': second.brokers, subscribe: topic, failOnDataLoss: false }),
        'loss', 'loss');
      await lenient.processAllAvailable();
      await produce(second.brokers, topic, numbered('z', 3));
      await lenient.processAllAvailable();
      await lenient.stop();
      const rows = values(weir.memorySink('loss').rows);
      assert.deepEqual(rows.filter((v) => v.startsWith('z')), ['z0', 'z1', 'z2']);
      assert.equal(rows.filter((v) => v.startsWith('x')).length, 20);
    } finally {
      second.stop();
    }
  });

  test('a checkpoint restored from a backup that re-plans a written batch over other input is refused, not skipped', async () => {
    const input = uniqueTopic('restore-in');
    const output = uniqueTopic('restore-out');
    await produce(brokers, input, numbered('r', 5));
    await produce(brokers, output, [{ value: 'seed' }]);
    const checkpoint = join(dir, 'restore');
    const backup = join(dir, 'restore-backup');
    const weir = new Weir();
    const start = (): Promise<StreamingQuery> => stream(weir, { subscribe: input, startingOffsets: 'earliest' })
      .select(col('value').cast('string').as('value')).writeStream.format('kafka').option('kafka.bootstrap.servers', brokers)
      .option('topic', output).option('checkpointLocation', checkpoint).start();
    let q = await start();
    await q.processAllAvailable();
    await q.stop();
    await cp(checkpoint, backup, { recursive: true });
    await produce(brokers, input, numbered('r', 5, 5));
    q = await start();
    await q.processAllAvailable();
    await q.stop();
    await rm(checkpoint, { recursive: true });
    await cp(backup, checkpoint, { recursive: true });
    await produce(brokers, input, numbered('r', 3, 10));
    q = await start();
    await assert.rejects(q.processAllAvailable(), /SINK_BATCH_CHANGED|from other input than the checkpoint now plans/);
    const written = (await readTopic(brokers, output)).map((r) => text(r['value'])).filter((v) => v !== 'seed');
    assert.deepEqual(written.sort(), numbered('r', 10).map((m) => m.value).sort(), 'nothing written twice, nothing of the refused batch');
  });

  test('bad settings are refused before anything runs, naming the option and the fix', async () => {
    const weir = new Weir();
    assert.throws(() => weir.readStream.format('kafka').option('kafka.bootstrap.servers', brokers).load(),
      /exactly one of options 'subscribe', 'subscribePattern' or 'assign'/);
    assert.throws(() => weir.readStream.format('kafka').option('kafka.bootstrap.servers', brokers).option('subscribe', 't')
      .option('assign', '{"t":[0]}').load(), /got 'subscribe' and 'assign'/);
    assert.throws(() => weir.readStream.format('kafka').schema('a STRING').option('kafka.bootstrap.servers', brokers)
      .option('subscribe', 't').load(), /fixed schema/);
    assert.throws(() => weir.readStream.format('kafka').option('subscribe', 't').load(), /kafka.bootstrap.servers/);
    assert.throws(() => stream(weir, { subscribe: 't', startingOffsets: '{"t":{"0":"x"}}' }), /startingOffsets/);
    const input = weir.memoryStream({ n: 'long' });
    await assert.rejects(input.toDF().writeStream.format('kafka').option('kafka.bootstrap.servers', brokers).option('topic', 't')
      .option('checkpointLocation', join(dir, 'bad-sink')).start(), /needs a column named 'value'/);
    await assert.rejects(input.toDF().select(col('n').as('value')).writeStream.format('kafka')
      .option('kafka.bootstrap.servers', brokers).option('topic', 't').option('checkpointLocation', join(dir, 'bad-sink2')).start(),
    /column 'value' to be STRING or BINARY/);
  });

  test('the sink writes each row once, keyed rows where Kafka\'s partitioner puts them, a topic column per row', async () => {
    const outA = uniqueTopic('outa');
    const outB = uniqueTopic('outb');
    await produce(brokers, outA, [{ value: 'seed' }]);
    await produce(brokers, outB, [{ value: 'seed' }]);
    const weir = new Weir();
    const input = weir.memoryStream({ key: 'string', value: 'string', topic: 'string' });
    const q = await input.toDF().writeStream.format('kafka').option('kafka.bootstrap.servers', brokers)
      .option('checkpointLocation', join(dir, 'sink')).start();
    input.addData([{ key: 'k1', value: 'v1', topic: outA }, { key: 'k2', value: 'v2', topic: outB }, { key: null, value: 'v3', topic: outA }]);
    await q.processAllAvailable();
    input.addData([{ key: 'k1', value: 'v4', topic: outA }]);
    await q.processAllAvailable();
    await q.stop();
    const a = (await readTopic(brokers, outA)).filter((r) => text(r['value']) !== 'seed');
    assert.deepEqual(a.map((r) => text(r['value'])).sort(), ['v1', 'v3', 'v4']);
    for (const r of a.filter((r) => r['key'] !== null)) assert.equal(r['partition'], partitionForKey(Buffer.from('k1'), 4));
    const b = (await readTopic(brokers, outB)).filter((r) => text(r['value']) !== 'seed');
    assert.deepEqual(b.map((r) => text(r['value'])), ['v2']);
  });
});
