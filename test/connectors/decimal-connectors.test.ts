/**
 * DECIMAL(p,s) through every connector: what a sink writes reads back as the same value (digits and
 * scale), JSON numbers are written and read from their exact text, PostgreSQL gets numeric(p,s).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ConnectorError, Decimal, expr, Row, StreamingQueryException, sum, Weir } from '../../src/index.js';
import { JsonRowReader } from '../../src/codec/json-rows.js';
import { Options } from '../../src/common/options.js';
import { toSchema } from '../../src/common/schema.js';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { connectJetStream } from '../../src/connectors/nats/client.js';
import { jsonEncoder } from '../../src/connectors/nats/sink.js';
import { NatsSource } from '../../src/connectors/nats/source.js';
import { PostgresSink } from '../../src/connectors/postgres/sink.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';
import { open, post, tempFolder } from './http-helpers.js';
import { produce, readTopic, text, uniqueTopic } from './kafka-cluster.js';
import { service } from './services.js';

after(removeTempDirs);

const d = (text: string): Decimal => Decimal.parse(text)!;
/** Every decimal at any depth as its text, so comparisons see digits and scale. */
function texts(v: unknown): unknown {
  if (v instanceof Decimal) return v.toString();
  if (Array.isArray(v)) return v.map(texts);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, texts(x)]));
  return v;
}

const SCHEMA = 'id INT, price DECIMAL(38,10), small DECIMAL(5,5), tags ARRAY<DECIMAL(4,2)>, s STRUCT<m: DECIMAL(10,0)>';
const ROWS: Row[] = [
  { id: 1, price: d('1234567890123456789012345678.0123456789'), small: d('0.00001'), tags: [d('0.10'), null], s: { m: d('-9999999999') } },
  { id: 2, price: d('-0.0000000001'), small: d('0.00000'), tags: [], s: { m: d('0') } },
  { id: 3, price: null, small: null, tags: null, s: null },
];

async function writeThenRead(format: 'json' | 'csv', rows: readonly Row[], schema: string): Promise<{ back: Row[]; text: string }> {
  const [out, checkpoint] = [await tempDir(), await tempDir()];
  const weir = new Weir();
  const input = weir.memoryStream(schema);
  input.addData([...rows]);
  const query = await input.toDF().writeStream.format(format).option('checkpointLocation', checkpoint).option('header', true).start(out);
  await query.processAllAvailable();
  await query.stop();
  const files = (await readdir(out)).filter((f) => f.endsWith(`.${format}`));
  const text = (await Promise.all(files.map((f) => readFile(join(out, f), 'utf8')))).join('');
  const back = await weir.read.format(format).schema(schema).option('header', true).load(out).collect();
  return { back: back.sort((a, b) => (a['id'] as number) - (b['id'] as number)), text };
}

describe('file sink and source', () => {
  test('json: decimals are JSON numbers with every digit, nested too, and read back the same', async () => {
    const { back, text } = await writeThenRead('json', ROWS, SCHEMA);
    assert.deepEqual(texts(back), texts(ROWS));
    assert.match(text, /"price":1234567890123456789012345678\.0123456789,"small":0\.00001,"tags":\[0\.10,null\],"s":\{"m":-9999999999\}/);
    assert.match(text, /"price":-1E-10,"small":0.00000/);
  });

  test('csv: decimals are their exact text and read back the same', async () => {
    const schema = 'id INT, price DECIMAL(38,10), small DECIMAL(5,5)';
    const rows = ROWS.map((r) => ({ id: r['id']!, price: r['price']!, small: r['small']! }));
    const { back, text } = await writeThenRead('csv', rows, schema);
    assert.deepEqual(texts(back), texts(rows));
    assert.match(text, /^1,1234567890123456789012345678\.0123456789,0\.00001$/m);
  });

  test('a sink refuses a value that does not fit its DECIMAL column, naming it, instead of writing it', async () => {
    const weir = new Weir();
    const input = weir.memoryStream('id INT');
    const out = await tempDir();
    // A user function can put anything in a column; the declared type is DECIMAL(3,1).
    const query = await input.toDF().map((r) => ({ id: r['id'] ?? null, v: d('123.4') }), 'id INT, v DECIMAL(3,1)')
      .writeStream.format('json').option('checkpointLocation', await tempDir()).start(out);
    input.addData([{ id: 1 }]);
    await assert.rejects(query.processAllAvailable(), (err: unknown) => {
      const cause = err instanceof StreamingQueryException ? err.cause : err;
      return cause instanceof ConnectorError && /column 'v': 123.4 is not a DECIMAL\(3,1\) value/.test(cause.message);
    });
    await query.stop().catch(() => undefined);
  });
});

test('NATS and Kafka JSON values: decimals as exact JSON numbers (to_json too), read back by the shared JSON reader', async () => {
  const schema = toSchema(SCHEMA);
  const text = jsonEncoder(schema)(ROWS[0]!);
  assert.equal(text, '{"id":1,"price":1234567890123456789012345678.0123456789,"small":0.00001,"tags":[0.10,null],"s":{"m":-9999999999}}');
  const reader = new JsonRowReader(schema);
  assert.deepEqual(texts(reader.readText(text)), texts(ROWS[0]));
  assert.equal(reader.problem, null);
  const [json] = await new Weir().createDataFrame([{ a: '12345678901234567890.5' }], 'a STRING')
    .select(expr("to_json(named_struct('v', CAST(a AS DECIMAL(22,1))))").as('j')).collect();
  assert.equal(json!['j'], '{"v":12345678901234567890.5}');
  // A Kafka value is read with from_json: the number's digits come from the text, not from a double.
  const [parsed] = await new Weir().createDataFrame([{ value: '{"v": 12345678901234567890.5}' }], 'value STRING')
    .select(expr("from_json(value, 'v DECIMAL(22,1)')").as('o')).collect();
  assert.deepEqual(texts(parsed), { o: { v: '12345678901234567890.5' } });
});

test('HTTP source: decimals posted as numbers or strings are exact, also when read back from the WAL after a restart', async () => {
  const folder = await tempFolder();
  const schema = toSchema('id INT, amount DECIMAL(30,2), xs ARRAY<DECIMAL(3,1)>');
  const body = '{"id": 1, "amount": 1234567890123456789012345.675, "xs": [1.25]}\n{"id": 2, "amount": "-0.01"}';
  const expected = [{ id: 1, amount: '1234567890123456789012345.68', xs: ['1.3'] }, { id: 2, amount: '-0.01', xs: null }];
  let { source, url } = await open(folder, {}, schema);
  try {
    assert.equal((await post(url, body)).status, 200);
    assert.deepEqual(texts(await source.getBatch(null, { end: 2 })), expected);
  } finally {
    await source.stop();
  }
  ({ source, url } = await open(folder, {}, schema));
  try {
    const rows = await source.getBatch(null, { end: 2 });
    assert.ok(rows[0]!['amount'] instanceof Decimal);
    assert.deepEqual(texts(rows), expected);
  } finally {
    await source.stop();
  }
});

const kafka = service('WEIR_TEST_KAFKA_BROKERS');

test('Kafka: a decimal goes out in to_json as an exact number and comes back through from_json the same', { skip: kafka.skip }, async () => {
  const brokers = kafka.url();
  const topic = uniqueTopic('decimal');
  await produce(brokers, topic, [{ value: 'seed' }]); // creates the topic
  const weir = new Weir();
  const input = weir.memoryStream('id INT, amount DECIMAL(22,2)');
  const q = await input.toDF().selectExpr("to_json(named_struct('id', id, 'amount', amount)) AS value").writeStream
    .format('kafka').option('kafka.bootstrap.servers', brokers).option('topic', topic)
    .option('checkpointLocation', await tempDir()).start();
  input.addData([{ id: 1, amount: d('12345678901234567890.12') }, { id: 2, amount: d('-0.05') }]);
  await q.processAllAvailable();
  await q.stop();
  const values = (await readTopic(brokers, topic)).map((r) => text(r['value'])).filter((v) => v !== 'seed').sort();
  assert.deepEqual(values, ['{"id":1,"amount":12345678901234567890.12}', '{"id":2,"amount":-0.05}']);
  const back = await new Weir().read.format('kafka').option('kafka.bootstrap.servers', brokers).option('subscribe', topic).load()
    .selectExpr("from_json(CAST(value AS STRING), 'id INT, amount DECIMAL(22,2)') AS o").selectExpr('o.id AS id', 'o.amount AS amount')
    .filter(expr('id IS NOT NULL')).collect();
  assert.deepEqual(texts(back.sort((a, b) => (a['id'] as number) - (b['id'] as number))),
    [{ id: 1, amount: '12345678901234567890.12' }, { id: 2, amount: '-0.05' }]);
});

const nats = service('WEIR_TEST_NATS_URL');

test('NATS: decimals in, an exact keyed sum out, read back with the same digits', { skip: nats.skip }, async () => {
  const url = nats.url();
  const admin = await connectJetStream([url], 'test');
  const prefix = `weir.dec.${process.pid}`;
  const [input, output] = [`WEIR_DEC_IN_${process.pid}`, `WEIR_DEC_OUT_${process.pid}`];
  try {
    await admin.jsm.streams.add({ name: input, subjects: [`${prefix}.in`] });
    await admin.jsm.streams.add({ name: output, subjects: [`${prefix}.out`] });
    // More digits than a double holds, as JSON numbers: 0.1 three times is exactly 0.3.
    for (const body of ['{"k": "a", "v": 12345678901234567.01}', '{"k": "a", "v": 0.1}', '{"k": "b", "v": 0.1}',
      '{"k": "b", "v": "0.1"}', '{"k": "b", "v": 0.1}']) await admin.js.publish(`${prefix}.in`, body);
    const query = await new Weir().readStream.format('nats').schema('k STRING, v DECIMAL(20,2)').option('url', url)
      .option('stream', input).load().groupBy('k').agg(sum('v').as('total'))
      .writeStream.format('nats').option('url', url).option('subject', `${prefix}.out`).outputMode('update')
      .option('checkpointLocation', await tempDir()).start();
    await query.processAllAvailable();
    await query.stop();
    const info = await admin.jsm.streams.info(output);
    const out = new NatsSource({ format: 'nats', path: null, schema: toSchema('k STRING, total DECIMAL(30,2)'),
      options: new Options({ url, stream: output }, 'nats source') });
    await out.open({ storage: new MemoryStorage(), queryId: 'q', notifyDataAvailable: () => {} });
    try {
      // Update mode: the last row of each key holds its total.
      const rows = texts(await out.getBatch(null, { [output]: info.state.last_seq })) as Row[];
      const last = Object.fromEntries(rows.map((r) => [r['k'], r['total']]));
      assert.deepEqual(last, { a: '12345678901234567.11', b: '0.30' });
    } finally {
      await out.stop();
    }
  } finally {
    for (const s of [input, output]) await admin.jsm.streams.delete(s).catch(() => false);
    await admin.nc.close();
  }
});

const postgres = service('WEIR_TEST_PG_URL');

describe('PostgreSQL sink', { skip: postgres.skip }, () => {
  let admin: pg.Client;
  const table = `weir_decimal_${process.pid}_${Date.now().toString(36)}`;

  before(async () => {
    admin = new pg.Client({ connectionString: postgres.url() });
    await admin.connect();
  });

  after(async () => {
    await admin?.query(`DROP TABLE IF EXISTS "${table}"`);
    await admin?.end();
  });

  test('DECIMAL(p,s) is numeric(p,s), written as exact text and read back as the same digits', async () => {
    const schema = toSchema('id INT, price DECIMAL(38,10), tags ARRAY<DECIMAL(4,2)>');
    const sink = new PostgresSink({
      format: 'postgres', path: null, options: new Options({ url: postgres.url(), table, createTable: 'true' }, 'postgres sink'),
    });
    await sink.open({ queryId: `q-${table}`, queryName: null, schema, outputMode: 'append', keyColumns: [] });
    try {
      await sink.addBatch(0, ROWS.map((r) => ({ id: r['id']!, price: r['price']!, tags: r['tags']! })), 'digest-0');
    } finally {
      await sink.stop();
    }
    const types = await admin.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
      WHERE attrelid = $1::regclass AND attname IN ('price', 'tags') ORDER BY attname`, [`"${table}"`]);
    assert.deepEqual(types.rows.map((r: { t: string }) => r.t), ['numeric(38,10)', 'numeric(4,2)[]']);
    // pg returns numeric as text: the digits PostgreSQL stored, converted back by the same reader as every source.
    const stored = await admin.query(`SELECT id, price::text AS price, tags::text AS tags FROM "${table}" ORDER BY id`);
    assert.deepEqual(stored.rows, [
      { id: 1, price: '1234567890123456789012345678.0123456789', tags: '{0.10,NULL}' },
      { id: 2, price: '-0.0000000001', tags: '{}' },
      { id: 3, price: null, tags: null },
    ]);
    const back = stored.rows.map((r: { price: string | null }) => (r.price === null ? null : Decimal.parse(r.price)!.toPrecision(38, 10)));
    assert.deepEqual(back.map(texts), [ROWS[0]!['price'], ROWS[1]!['price'], null].map(texts));
  });
});
