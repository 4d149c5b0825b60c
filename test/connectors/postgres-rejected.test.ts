/**
 * The PostgreSQL sink and rows it cannot write (U+0000 in text, timestamps outside 0001-9999, NULL in
 * the upsert key, a CHECK constraint): refused naming row, column and fixes, or recorded in
 * `deadLetterTable` in the batch's transaction, once, also across a kill before the commit. A
 * restored checkpoint re-planning a committed batch over other input is refused. Names over 63 bytes
 * are refused at the first start.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CheckpointError, ConnectorError, StreamingQueryException, Weir } from '../../src/index.js';
import { Options } from '../../src/common/options.js';
import { Row, Schema } from '../../src/common/schema.js';
import { OutputMode } from '../../src/common/output-mode.js';
import { PostgresSink } from '../../src/connectors/postgres/sink.js';
import { isPoison, runPoisonChild, writePoisonInput } from '../sinks/poison-child.js';
import { postgresTables } from './postgres-tables.js';
import { service } from './services.js';

const postgres = service('WEIR_TEST_PG_URL');

const WORDS: Schema = [
  { name: 'word', type: 'string', nullable: true },
  { name: 'n', type: 'long', nullable: true },
];

describe('postgres sink: rejected rows, restored checkpoints, long names', { skip: postgres.skip }, () => {
  const db = postgresTables(postgres, 'weir_r');
  const tableName = (): string => db.tableName();
  const folders: string[] = [];

  after(async () => {
    for (const f of folders) await rm(f, { recursive: true, force: true });
  });

  async function folder(): Promise<string> {
    const f = await mkdtemp(join(tmpdir(), 'weir-pg-rejected-'));
    folders.push(f);
    return f;
  }

  async function openSink(table: string, schema: Schema, mode: OutputMode, opts: Record<string, string> = {},
    keyColumns: string[] = []): Promise<PostgresSink> {
    const sink = new PostgresSink({ format: 'postgres', options: new Options({ url: db.url, table, ...opts }, 'postgres sink'), path: null });
    await sink.open({ queryId: `q-${table}`, queryName: null, schema, outputMode: mode, keyColumns });
    return sink;
  }

  async function query(sql: string): Promise<Row[]> {
    return (await db.admin.query(sql)).rows as Row[];
  }

  test('text holding U+0000: refused naming row, column and both options; with deadLetterTable recorded once, the rest written', async () => {
    const [table, dead] = [tableName(), tableName()];
    const rows: Row[] = [{ word: 'a', n: 1 }, { word: 'b\u0000c', n: 2 }, { word: 'd', n: 3 }];
    const strict = await openSink(table, WORDS, 'append', { createTable: 'true' });
    try {
      await assert.rejects(strict.addBatch(0, rows, 'digest-0'), (err: unknown) => {
        assert.ok(err instanceof ConnectorError && err.code === 'SINK_REJECTED_ROW', String(err));
        assert.match(err.message, /row 1 of batch 0, column 'word': the text holds the character U\+0000/);
        assert.match(err.message, /filter such rows out in the query/);
        assert.match(err.message, /option 'deadLetterTable' .* or 'deadLetterPath'/);
        return true;
      });
    } finally {
      await strict.stop();
    }
    assert.deepEqual(await query(`SELECT * FROM "${table}"`), []);
    const sink = await openSink(table, WORDS, 'append', { deadLetterTable: dead });
    try {
      await sink.addBatch(0, rows, 'digest-0');
      assert.deepEqual(sink.metrics(), { numRejectedRows: 1 });
      await sink.addBatch(0, rows, 'digest-0');
      assert.deepEqual(sink.metrics(), { numRejectedRows: 0 }, 'a skipped batch rejects nothing again');
    } finally {
      await sink.stop();
    }
    assert.deepEqual((await query(`SELECT word FROM "${table}" ORDER BY word`)).map((r) => r['word']), ['a', 'd']);
    const letters = await query(`SELECT query_id, batch_id::int AS batch_id, row_index, column_name, reason, row_json FROM "${dead}"`);
    assert.equal(letters.length, 1);
    assert.deepEqual({ ...letters[0], reason: undefined }, {
      query_id: `q-${table}`, batch_id: 0, row_index: 1, column_name: 'word', reason: undefined, row_json: { word: 'b\u0000c', n: 2 },
    });
    assert.match(letters[0]!['reason'] as string, /U\+0000/);
  });

  test('timestamps: years 0001 and 9999 are written exactly; year 10000 and year 0 are rejected by row and column', async () => {
    const [table, dead] = [tableName(), tableName()];
    const schema: Schema = [{ name: 'id', type: 'long', nullable: false }, { name: 'ts', type: 'timestamp', nullable: true }];
    const first = -62_135_596_800_000;
    const last = 253_402_300_799_999;
    const sink = await openSink(table, schema, 'append', { createTable: 'true', deadLetterTable: dead });
    try {
      await sink.addBatch(0, [{ id: 1, ts: first }, { id: 2, ts: last }, { id: 3, ts: last + 1 }, { id: 4, ts: first - 1 }], 'digest-0');
    } finally {
      await sink.stop();
    }
    assert.deepEqual(await query(`SELECT id::int AS id, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS t FROM "${table}" ORDER BY id`),
      [{ id: 1, t: '0001-01-01 00:00:00.000' }, { id: 2, t: '9999-12-31 23:59:59.999' }]);
    const letters = await query(`SELECT row_index, column_name, reason FROM "${dead}" ORDER BY row_index`);
    assert.deepEqual(letters.map((l) => [l['row_index'], l['column_name']]), [[2, 'ts'], [3, 'ts']]);
    assert.match(letters[0]!['reason'] as string, /outside the TIMESTAMP range/);
  });

  test('update mode: a NULL grouping key is refused naming the key column, not a bare not-null violation', async () => {
    const table = tableName();
    const sink = await openSink(table, WORDS, 'update', { createTable: 'true' }, ['word']);
    try {
      await assert.rejects(sink.addBatch(0, [{ word: 'a', n: 1 }, { word: null, n: 2 }], 'digest-0'), (err: unknown) => {
        assert.ok(err instanceof ConnectorError && err.code === 'SINK_REJECTED_ROW', String(err));
        assert.match(err.message, /row 1 of batch 0, column 'word': NULL in the upsert key column 'word' \(the grouping key word\)/);
        return true;
      });
    } finally {
      await sink.stop();
    }
  });

  test('a CHECK constraint refusing rows: with deadLetterTable the refused rows are found and recorded, the others written', async () => {
    const [table, dead] = [tableName(), tableName()];
    await db.admin.query(`CREATE TABLE "${table}" (word text, n bigint CHECK (n >= 0))`);
    const rows: Row[] = Array.from({ length: 50 }, (_, i) => ({ word: `w${i}`, n: i % 17 === 5 ? -i : i }));
    const sink = await openSink(table, WORDS, 'append', { deadLetterTable: dead });
    try {
      await sink.addBatch(0, rows, 'digest-0');
      assert.deepEqual(sink.metrics(), { numRejectedRows: 3 });
    } finally {
      await sink.stop();
    }
    assert.equal((await query(`SELECT count(*)::int AS c FROM "${table}"`))[0]!['c'], 47);
    const letters = await query(`SELECT row_index, reason FROM "${dead}" ORDER BY row_index`);
    assert.deepEqual(letters.map((l) => l['row_index']), [5, 22, 39]);
    assert.match(letters[0]!['reason'] as string, /check constraint/);
  });

  test('a column name over 63 bytes is refused at the first start, before the table is created', async () => {
    const table = tableName();
    const long = `c${'x'.repeat(63)}`;
    await assert.rejects(openSink(table, [{ name: long, type: 'long', nullable: true }], 'append', { createTable: 'true' }),
      (err: unknown) => err instanceof ConnectorError && err.code === 'POSTGRES_NAME_TOO_LONG' &&
        err.message.includes(`Column '${long}' (64 bytes)`) && /withColumnRenamed/.test(err.message));
    assert.deepEqual(await query(`SELECT to_regclass('"${table}"')::text AS t`), [{ t: null }]);
    // A name of exactly 63 bytes (multi-byte characters count as bytes) works, also on the next start.
    const fits = `${'é'.repeat(31)}x`;
    const schema: Schema = [{ name: fits, type: 'long', nullable: true }];
    for (const id of [0, 1]) {
      const sink = await openSink(table, schema, 'append', { createTable: 'true' });
      await sink.addBatch(id, [{ [fits]: id }], `digest-${id}`);
      await sink.stop();
    }
    assert.equal((await query(`SELECT count(*)::int AS c FROM "${table}"`))[0]!['c'], 2);
  });

  test('a batch recorded without a digest (older versions) is skipped as before', async () => {
    const table = tableName();
    const sink = await openSink(table, WORDS, 'append', { createTable: 'true' });
    try {
      await db.admin.query('INSERT INTO weir_batches (query_id, batch_id, committed_at) VALUES ($1, 0, now())', [`q-${table}`]);
      await sink.addBatch(0, [{ word: 'a', n: 1 }], 'digest-0');
      await sink.addBatch(1, [{ word: 'b', n: 2 }], 'digest-1');
      await assert.rejects(sink.addBatch(1, [{ word: 'c', n: 3 }], 'other-digest'), (err: unknown) =>
        err instanceof CheckpointError && err.code === 'SINK_BATCH_CHANGED' && /batch 1/.test(err.message));
    } finally {
      await sink.stop();
    }
    assert.deepEqual((await query(`SELECT word FROM "${table}"`)).map((r) => r['word']), ['b']);
  });

  test('a restored checkpoint re-planning a committed batch over a new file is refused; nothing is skipped silently', async () => {
    const table = tableName();
    const [input, checkpoint, backup] = [await folder(), await folder(), await folder()];
    const addFile = async (name: string, words: string[]): Promise<void> => {
      await writeFile(join(input, `.${name}`), words.map((word) => JSON.stringify({ word, n: 1 })).join('\n') + '\n');
      await rename(join(input, `.${name}`), join(input, name));
    };
    const process = async (): Promise<void> => {
      const q = await new Weir().readStream.format('json').schema('word STRING, n LONG').load(input).writeStream.format('postgres')
        .option('url', db.url).option('table', table).option('createTable', true).option('checkpointLocation', checkpoint)
        .trigger({ availableNow: true }).start();
      await q.awaitTermination();
    };
    await addFile('a.json', ['a']);
    await process();
    await cp(checkpoint, backup, { recursive: true });
    await addFile('b.json', ['b']);
    await process();
    await rm(checkpoint, { recursive: true });
    await cp(backup, checkpoint, { recursive: true });
    await addFile('c.json', ['c']);
    await assert.rejects(process(), (err: unknown) => {
      assert.ok(err instanceof StreamingQueryException && err.batchId === 1, String(err));
      assert.ok(err.cause instanceof CheckpointError && err.cause.code === 'SINK_BATCH_CHANGED', String(err.cause));
      assert.match(err.cause.message, /weir_batches \(query .*, batch 1\)/);
      assert.match(err.cause.message, /Restart from the newest checkpoint rather than a backup/);
      return true;
    });
    assert.deepEqual((await query(`SELECT word FROM "${table}" ORDER BY word`)).map((r) => r['word']), ['a', 'b']);
  });

  test('crash test: killed after the dead-letter rows are inserted, before COMMIT: each rejected row recorded once, output exact',
    { timeout: 120_000 }, async () => {
      const [table, dead] = [tableName(), tableName()];
      const root = await folder();
      const config = {
        input: join(root, 'input'), checkpoint: join(root, 'checkpoint'),
        sink: { format: 'postgres' as const, url: db.url, table, deadLetterTable: dead },
      };
      const files = await writePoisonInput(config.input);
      assert.equal(await runPoisonChild(config, 'midSink@1'), 'SIGKILL');
      assert.equal(await runPoisonChild(config, 'midSink@2'), 'SIGKILL');
      assert.equal(await runPoisonChild(config, null), null);
      const ids = (await query(`SELECT id::int AS id FROM "${table}" ORDER BY id`)).map((r) => r['id']);
      assert.deepEqual(ids, files.flat().filter((r) => !isPoison(r)).map((r) => r.id));
      const letters = await query(`SELECT batch_id::int AS b, row_index AS i, column_name AS c, (row_json->>'id')::int AS id FROM "${dead}"
        ORDER BY batch_id, row_index`);
      assert.deepEqual(letters, [{ b: 1, i: 1, c: 'ts', id: 6 }, { b: 1, i: 3, c: 'ts', id: 8 }, { b: 2, i: 0, c: 'ts', id: 9 }]);
    });
});

