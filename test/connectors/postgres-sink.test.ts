import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AnalysisError, col, ConnectorError, Weir, window } from '../../src/index.js';
import { Options } from '../../src/common/options.js';
import { Row, Schema, WINDOW_TYPE } from '../../src/common/schema.js';
import { PostgresSink } from '../../src/connectors/postgres/sink.js';
import { OutputMode } from '../../src/common/output-mode.js';
import { connectJetStream } from '../../src/connectors/nats/client.js';
import { CRASH_FAULTS, crashInput, expectedCounts, runPipeline } from './pipeline-child.js';
import { postgresTables } from './postgres-tables.js';
import { service } from './services.js';

const postgres = service('WEIR_TEST_PG_URL');
const nats = service('WEIR_TEST_NATS_URL');

const WORDS: Schema = [
  { name: 'word', type: 'string', nullable: false },
  { name: 'n', type: 'long', nullable: true },
];

// Fails (rather than skips) when the server was not started, so a CI run cannot pass without these tests.
test('WEIR_TEST_PG_URL names the PostgreSQL server of scripts/services.sh', { skip: postgres.skip }, () => {
  assert.match(postgres.url(), /^postgres(ql)?:\/\//);
});

describe('postgres sink', { skip: postgres.skip }, () => {
  const db = postgresTables(postgres, 'weir_t');
  const tableName = (): string => db.tableName();

  async function openSink(table: string, schema: Schema, mode: OutputMode, opts: Record<string, string> = {},
    keyColumns: string[] = [], queryId = `q-${table}`): Promise<PostgresSink> {
    const sink = new PostgresSink({ format: 'postgres', options: new Options({ url: db.url, table, ...opts }, 'postgres sink'), path: null });
    await sink.open({ queryId, queryName: null, schema, outputMode: mode, keyColumns });
    return sink;
  }

  async function rowsOf(table: string, orderBy: string): Promise<Row[]> {
    return (await db.admin.query(`SELECT * FROM "${table}" ORDER BY ${orderBy}`)).rows as Row[];
  }

  async function batchesOf(queryId: string): Promise<number[]> {
    const res = await db.admin.query('SELECT batch_id FROM weir_batches WHERE query_id = $1 ORDER BY batch_id', [queryId]);
    return res.rows.map((r: { batch_id: string }) => Number(r.batch_id));
  }

  test('append inserts each batch once; re-running a batch id changes nothing', async () => {
    const table = tableName();
    const sink = await openSink(table, WORDS, 'append', { createTable: 'true' });
    try {
      await sink.addBatch(0, [{ word: 'a', n: 1 }, { word: 'b', n: null }], 'digest-0');
      await sink.addBatch(1, [{ word: 'c', n: 3 }], 'digest-1');
      await sink.addBatch(1, [{ word: 'c', n: 3 }], 'digest-1');
      await sink.addBatch(0, [{ word: 'zzz', n: 9 }], 'digest-0');
      assert.deepEqual(await rowsOf(table, 'word'), [{ word: 'a', n: '1' }, { word: 'b', n: null }, { word: 'c', n: '3' }]);
      assert.deepEqual(await batchesOf(`q-${table}`), [0, 1]);
    } finally {
      await sink.stop();
    }
  });

  test('a second sink of the same query (a restart) skips batches already written', async () => {
    const table = tableName();
    const first = await openSink(table, WORDS, 'append', { createTable: 'true' });
    await first.addBatch(0, [{ word: 'a', n: 1 }], 'digest-0');
    await first.stop();
    const again = await openSink(table, WORDS, 'append');
    await again.addBatch(0, [{ word: 'a', n: 1 }], 'digest-0');
    await again.addBatch(1, [{ word: 'b', n: 2 }], 'digest-1');
    await again.stop();
    assert.deepEqual(await rowsOf(table, 'word'), [{ word: 'a', n: '1' }, { word: 'b', n: '2' }]);
  });

  test('update upserts on the grouping key; a window is flattened into _start and _end columns', async () => {
    const table = tableName();
    const schema: Schema = [
      { name: 'window', type: WINDOW_TYPE, nullable: false },
      { name: 'word', type: 'string', nullable: false },
      { name: 'count', type: 'long', nullable: false },
    ];
    const sink = await openSink(table, schema, 'update', { createTable: 'true' }, ['window', 'word']);
    try {
      const w = { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 0, 1, 0, 0, 10) };
      await sink.addBatch(0, [{ window: w, word: 'a', count: 1 }, { window: w, word: 'b', count: 1 }], 'digest-0');
      await sink.addBatch(1, [{ window: w, word: 'a', count: 2 }], 'digest-1');
      const rows = await rowsOf(table, 'word');
      assert.deepEqual(rows.map((r) => [(r['window_start'] as unknown as Date).toISOString(), (r['window_end'] as unknown as Date).toISOString(),
        r['word'], r['count']]), [
        ['2024-01-01T00:00:00.000Z', '2024-01-01T00:00:10.000Z', 'a', '2'],
        ['2024-01-01T00:00:00.000Z', '2024-01-01T00:00:10.000Z', 'b', '1'],
      ]);
      const pk = await db.admin.query(`SELECT count(*)::int AS n FROM pg_index WHERE indrelid = '"${table}"'::regclass AND indisprimary`);
      assert.equal(pk.rows[0].n, 1);
    } finally {
      await sink.stop();
    }
  });

  test('complete replaces the table in the batch transaction', async () => {
    const table = tableName();
    const sink = await openSink(table, WORDS, 'complete', { createTable: 'true' });
    try {
      await sink.addBatch(0, [{ word: 'a', n: 1 }, { word: 'b', n: 1 }], 'digest-0');
      await sink.addBatch(1, [{ word: 'a', n: 2 }], 'digest-1');
      await sink.addBatch(0, [{ word: 'a', n: 1 }, { word: 'b', n: 1 }], 'digest-0');
      assert.deepEqual(await rowsOf(table, 'word'), [{ word: 'a', n: '2' }]);
    } finally {
      await sink.stop();
    }
  });

  test('types: text, integer, bigint, double, boolean, timestamptz, date, arrays and jsonb round-trip', async () => {
    const table = tableName();
    const schema: Schema = [
      { name: 's', type: 'string', nullable: true }, { name: 'i', type: 'integer', nullable: true },
      { name: 'l', type: 'long', nullable: true }, { name: 'd', type: 'double', nullable: true },
      { name: 'b', type: 'boolean', nullable: true }, { name: 'ts', type: 'timestamp', nullable: true },
      { name: 'day', type: 'date', nullable: true }, { name: 'tags', type: { kind: 'array', element: 'string' }, nullable: true },
      { name: 'times', type: { kind: 'array', element: 'timestamp' }, nullable: true },
      { name: 'm', type: { kind: 'map', key: 'string', value: 'long' }, nullable: true },
      { name: 'nested', type: { kind: 'array', element: { kind: 'array', element: 'integer' } }, nullable: true },
    ];
    const sink = await openSink(table, schema, 'append', { createTable: 'true' });
    try {
      const ts = Date.UTC(2024, 5, 1, 12, 30, 0, 250);
      await sink.addBatch(0, [{ s: 'x', i: 7, l: 2 ** 40, d: 1.5, b: true, ts, day: Date.UTC(2024, 5, 1), tags: ['p', null, 'q"{'],
        times: [ts], m: { k: 1 }, nested: [[1], [2, 3]] }], 'digest-0');
      const res = await db.admin.query(`SELECT s, i, l::text AS l, d, b, (extract(epoch from ts) * 1000)::bigint::text AS ts, day::text AS day, tags,
        (extract(epoch from times[1]) * 1000)::bigint::text AS t1, m, nested FROM "${table}"`);
      assert.deepEqual(res.rows[0], { s: 'x', i: 7, l: String(2 ** 40), d: 1.5, b: true, ts: String(ts), day: '2024-06-01',
        tags: ['p', null, 'q"{'], t1: String(ts), m: { k: 1 }, nested: [[1], [2, 3]] });
      const types = await db.admin.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1
        AND column_name IN ('tags', 'times', 'm', 'nested') ORDER BY column_name`, [table]);
      assert.deepEqual(types.rows.map((r: { column_name: string; data_type: string }) => `${r.column_name} ${r.data_type}`),
        ['m jsonb', 'nested jsonb', 'tags ARRAY', 'times ARRAY']);
    } finally {
      await sink.stop();
    }
  });

  test('a table whose columns do not fit is refused, naming each column', async () => {
    const table = tableName();
    await db.admin.query(`CREATE TABLE "${table}" (word integer, extra text NOT NULL)`);
    await assert.rejects(openSink(table, WORDS, 'append'), (err: unknown) => {
      assert.ok(err instanceof ConnectorError);
      assert.equal(err.code, 'POSTGRES_SCHEMA_MISMATCH');
      assert.match(err.message, new RegExp(`Table '${table}'`));
      assert.match(err.message, /column 'word' is integer, the query writes text/);
      assert.match(err.message, /column 'n' \(bigint\) is missing/);
      assert.match(err.message, /column 'extra' is NOT NULL without a default/);
      return true;
    });
  });

  test('an existing table that fits is accepted (varchar, numeric, timestamp without time zone)', async () => {
    const table = tableName();
    await db.admin.query(`CREATE TABLE "${table}" (word varchar(20), n numeric(20), note text)`);
    const sink = await openSink(table, WORDS, 'append');
    await sink.addBatch(0, [{ word: 'a', n: 5 }], 'digest-0');
    await sink.stop();
    assert.deepEqual(await rowsOf(table, 'word'), [{ word: 'a', n: '5', note: null }]);
  });

  test('a missing table without createTable is refused, naming the table and the option', async () => {
    const table = tableName();
    await assert.rejects(openSink(table, WORDS, 'append'), (err: unknown) => {
      assert.ok(err instanceof ConnectorError);
      assert.equal(err.code, 'POSTGRES_NO_TABLE');
      assert.match(err.message, new RegExp(`Table '${table}' does not exist`));
      assert.match(err.message, /createTable/);
      return true;
    });
  });

  test('update mode on a table without a unique key on the grouping columns is refused', async () => {
    const table = tableName();
    await db.admin.query(`CREATE TABLE "${table}" (word text, n bigint)`);
    await assert.rejects(openSink(table, WORDS, 'update', {}, ['word']), (err: unknown) => {
      assert.ok(err instanceof ConnectorError);
      assert.equal(err.code, 'POSTGRES_NO_UNIQUE_KEY');
      assert.match(err.message, /grouping key \(word\)/);
      assert.match(err.message, /ADD PRIMARY KEY \("word"\)/);
      return true;
    });
  });

  test('missing options and an unreachable server are reported by name', async () => {
    assert.throws(() => new PostgresSink({ format: 'postgres', options: new Options({ table: 't' }, 'postgres sink'), path: null }),
      (err: unknown) => err instanceof AnalysisError && err.code === 'MISSING_OPTION' && /'url'/.test(err.message));
    assert.throws(() => new PostgresSink({ format: 'postgres', options: new Options({ url: db.url }, 'postgres sink'), path: null }),
      (err: unknown) => err instanceof AnalysisError && /'table'/.test(err.message));
    const closed = new URL(db.url);
    closed.port = '1';
    closed.password = 'secret';
    const sink = new PostgresSink({ format: 'postgres', options: new Options({ url: closed.toString(), table: 't' }), path: null });
    await assert.rejects(sink.open({ queryId: 'q', queryName: null, schema: WORDS, outputMode: 'append', keyColumns: [] }),
      (err: unknown) => {
        assert.ok(err instanceof ConnectorError);
        assert.equal(err.code, 'POSTGRES_CONNECTION');
        assert.match(err.message, /127\.0\.0\.1:1/);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      });
  });

  test('a row the database refuses (a CHECK constraint) fails the batch naming the row and both fixes; nothing is written', async () => {
    const table = tableName();
    await db.admin.query(`CREATE TABLE "${table}" (word text, n bigint CHECK (n >= 0))`);
    const sink = await openSink(table, WORDS, 'append');
    try {
      await assert.rejects(sink.addBatch(0, [{ word: 'a', n: 1 }, { word: 'b', n: -1 }], 'digest-0'), (err: unknown) => {
        assert.ok(err instanceof ConnectorError);
        assert.equal(err.code, 'SINK_REJECTED_ROW');
        assert.match(err.message, /row 1 of batch 0/);
        assert.match(err.message, /check constraint/);
        assert.match(err.message, /"word":"b"/);
        assert.match(err.message, /filter such rows out in the query/);
        assert.match(err.message, /'deadLetterTable'/);
        return true;
      });
      assert.deepEqual(await batchesOf(`q-${table}`), []);
      assert.deepEqual(await rowsOf(table, 'word'), []);
      await sink.addBatch(0, [{ word: 'a', n: 1 }], 'digest-0');
      assert.deepEqual(await rowsOf(table, 'word'), [{ word: 'a', n: '1' }]);
    } finally {
      await sink.stop();
    }
  });

  test('connection loss mid-batch: error, nothing of the batch written, a retry writes it exactly once', async () => {
    const table = tableName();
    const sink = await openSink(table, WORDS, 'append', { createTable: 'true' });
    // Row 'stall' blocks inside the batch's transaction (after the rows before it were inserted)
    // until the test has killed the sink's connection.
    await db.admin.query(`CREATE FUNCTION "${table}_stall"() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN IF NEW.word = 'stall' THEN PERFORM pg_advisory_xact_lock(4711); END IF; RETURN NEW; END $$`);
    await db.admin.query(`CREATE TRIGGER stall BEFORE INSERT ON "${table}" FOR EACH ROW EXECUTE FUNCTION "${table}_stall"()`);
    await db.admin.query('SELECT pg_advisory_lock(4711)');
    try {
      const rows: Row[] = Array.from({ length: 2500 }, (_, i) => ({ word: i === 2100 ? 'stall' : `w${i}`, n: i }));
      const writing = sink.addBatch(0, rows, 'digest-0');
      let pid: number | undefined;
      while (pid === undefined) {
        const res = await db.admin.query(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`);
        pid = res.rows[0]?.pid;
      }
      await db.admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await assert.rejects(writing, (err: unknown) => {
        assert.ok(err instanceof ConnectorError);
        assert.equal(err.code, 'POSTGRES_CONNECTION');
        assert.match(err.message, /Lost the connection to PostgreSQL .* while writing batch 0 to table/);
        assert.match(err.message, /restart the query: either way the batch is written exactly once/);
        return true;
      });
      assert.equal((await db.admin.query(`SELECT count(*)::int AS n FROM "${table}"`)).rows[0].n, 0);
      assert.deepEqual(await batchesOf(`q-${table}`), []);
    } finally {
      await db.admin.query('SELECT pg_advisory_unlock(4711)');
    }
    await db.admin.query(`DROP TRIGGER stall ON "${table}"`);
    await db.admin.query(`DROP FUNCTION "${table}_stall"()`);
    const again: Row[] = Array.from({ length: 2500 }, (_, i) => ({ word: `w${i}`, n: i }));
    await sink.addBatch(0, again, 'digest-0');
    await sink.addBatch(0, again, 'digest-0');
    await sink.stop();
    const res = await db.admin.query(`SELECT count(*)::int AS n, count(DISTINCT word)::int AS d FROM "${table}"`);
    assert.deepEqual(res.rows[0], { n: 2500, d: 2500 });
    assert.deepEqual(await batchesOf(`q-${table}`), [0]);
  });

  test('a windowed aggregation written through the public API in update mode', async () => {
    const table = tableName();
    const dir = await mkdtemp(join(tmpdir(), 'weir-pg-'));
    const weir = new Weir();
    try {
      const input = weir.memoryStream<{ ts: number; word: string }>({ ts: 'timestamp', word: 'string' });
      const query = await input.toDF().withWatermark('ts', '10 seconds')
        .groupBy(window(col('ts'), '10 seconds'), col('word')).count()
        .writeStream.format('postgres').option('url', db.url).option('table', table).option('createTable', true)
        .outputMode('update').option('checkpointLocation', dir).trigger({ processingTime: 0 }).start();
      input.addData([{ ts: 1_000, word: 'a' }, { ts: 2_000, word: 'a' }, { ts: 3_000, word: 'b' }]);
      await query.processAllAvailable();
      input.addData([{ ts: 4_000, word: 'a' }, { ts: 12_000, word: 'b' }]);
      await query.processAllAvailable();
      await query.stop();
      const rows = await db.admin.query(`SELECT extract(epoch from window_start)::int AS s, word, count::int AS c
        FROM "${table}" ORDER BY s, word`);
      assert.deepEqual(rows.rows, [{ s: 0, word: 'a', c: 3 }, { s: 0, word: 'b', c: 1 }, { s: 10, word: 'b', c: 1 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('crash test: nats -> windowed count -> postgres killed at several steps writes each result exactly once',
    { timeout: 120_000, skip: nats.skip }, async () => {
      const table = tableName();
      const stream = `WEIR_PG_${process.pid}`;
      const handle = await connectJetStream([nats.url()], 'test');
      const dir = await mkdtemp(join(tmpdir(), 'weir-pg-crash-'));
      try {
        await handle.jsm.streams.add({ name: stream, subjects: [`weir.pg.${process.pid}`] });
        for (const e of crashInput()) await handle.js.publish(`weir.pg.${process.pid}`, JSON.stringify(e));
        const config = { checkpoint: dir, natsUrl: nats.url(), inputStream: stream, sink: { format: 'postgres' as const, url: db.url, table } };
        for (const fault of CRASH_FAULTS) assert.equal(await runPipeline(config, fault), 'SIGKILL', `killed at ${fault}`);
        assert.equal(await runPipeline(config, null), null);
      } finally {
        await handle.jsm.streams.delete(stream).catch(() => false);
        await handle.nc.close();
        await rm(dir, { recursive: true, force: true });
      }
      const res = await db.admin.query(`SELECT (extract(epoch from window_start) * 1000)::bigint::text AS s, word, count::text AS c
        FROM "${table}"`);
      assert.deepEqual(res.rows.map((r: { s: string; word: string; c: string }) => `${r.s}|${r.word}|${r.c}`).sort(), expectedCounts());
    });
});
