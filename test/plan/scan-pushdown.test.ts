import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { col, count, Row, Weir, window } from '../../src/index.js';
import type { DataFrame } from '../../src/index.js';
import { streamColumnsRead, streamFilters } from '../../src/plan/scan-pushdown.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const SCHEMA = 'ts TIMESTAMP, ad STRING, kind STRING, user STRING';

async function jsonStream(lines: readonly string[], options: Record<string, string> = {}): Promise<{ weir: Weir; df: DataFrame; dir: string }> {
  const dir = await tempDir('weir-pruning-');
  await mkdir(join(dir, 'in'));
  await writeFile(join(dir, 'in', 'a.json'), `${lines.join('\n')}\n`);
  const weir = new Weir({ logLevel: 'silent' });
  let reader = weir.readStream.format('json').schema(SCHEMA);
  for (const [k, v] of Object.entries(options)) reader = reader.option(k, v);
  return { weir, df: reader.load(join(dir, 'in')), dir };
}

async function drain(df: DataFrame, dir: string): Promise<Row[]> {
  const out: Row[] = [];
  const query = await df.writeStream.foreachBatch((rows) => { out.push(...rows); })
    .option('checkpointLocation', join(dir, 'cp')).trigger({ availableNow: true }).start();
  await query.awaitTermination();
  return out;
}

const line = (ad: string, kind: unknown, user: unknown): string =>
  JSON.stringify({ ts: '2024-01-01T00:00:01Z', ad, kind, user });

function columnsOf(df: DataFrame): string[] | null {
  const [columns] = [...streamColumnsRead(df.plan).values()];
  return columns === null || columns === undefined ? null : [...columns].sort();
}

describe('scan pushdown: columns', () => {
  test('each stream leaf reads the columns the query uses, every column where rows leave whole', async () => {
    const { df } = await jsonStream([]);
    assert.deepEqual(columnsOf(df.filter(col('kind').equalTo('view')).select(col('ad'))), ['ad', 'kind']);
    assert.deepEqual(columnsOf(df.withWatermark('ts', '10 seconds').groupBy(window(col('ts'), '10 seconds'), col('ad'))
      .agg(count('*').as('n'))), ['ad', 'ts']);
    assert.deepEqual(columnsOf(df.filter(col('kind').equalTo('view'))), null, 'the sink sees every column');
    assert.deepEqual(columnsOf(df.select(col('*'))), null);
    assert.deepEqual(columnsOf(df.dropDuplicates(['ad']).select(col('ad'))), null);
    assert.deepEqual(columnsOf(df.union(df).select(col('ad'))), null, 'a union passes whole rows');
    assert.deepEqual(columnsOf(df.select(col('ad'), col('kind')).union(df.select(col('user'), col('kind')))), ['ad', 'kind', 'user'],
      'a leaf read twice reads what either use needs');
  });

  test('a stream-static join reads the join key and the columns used above it', async () => {
    const { weir, df } = await jsonStream([]);
    const table = weir.createDataFrame([{ ad: 'a1', campaign: 'c1' }], 'ad STRING, campaign STRING');
    assert.deepEqual(columnsOf(df.select(col('ad'), col('ts')).join(table, 'ad').groupBy(col('campaign')).count()), ['ad', 'ts']);
    assert.deepEqual(columnsOf(df.join(table, 'ad').select(col('campaign'), col('user'))), ['ad', 'user']);
  });

  test('json: a value of the wrong type in a column the query does not use is not checked (as Spark\'s pruned scan)', async () => {
    // ts (TIMESTAMP) holds an object: the record fails FAILFAST only when a query reads ts.
    const lines = [line('a1', 'view', 'u1'), JSON.stringify({ ts: { bad: true }, ad: 'a2', kind: 'view', user: 'u2' })];
    const pruned = await jsonStream(lines, { mode: 'FAILFAST' });
    const rows = await drain(pruned.df.filter(col('kind').equalTo('view')).select(col('ad')), pruned.dir);
    assert.deepEqual(rows.map((r) => r['ad']), ['a1', 'a2']);
    const whole = await jsonStream(lines, { mode: 'FAILFAST' });
    await assert.rejects(drain(whole.df.filter(col('kind').equalTo('view')), whole.dir), /ts/);
  });

  test('json: a record that is not valid JSON is refused however few columns are read', async () => {
    const { df, dir } = await jsonStream([line('a1', 'view', 'u1'), '{"ad": "a2", "kind": "view", "user": '], { mode: 'FAILFAST' });
    await assert.rejects(drain(df.select(col('ad')), dir), /JSON/);
  });

  test('json: DROPMALFORMED drops the same records whether or not the used columns are pruned', async () => {
    const lines = [line('a1', 'view', 'u1'), JSON.stringify({ ts: 'soon', ad: 'a2', kind: 'view', user: 'u2' }), line('a3', 'click', 'u3')];
    const { df, dir } = await jsonStream(lines, { mode: 'DROPMALFORMED' });
    const rows = await drain(df.select(col('ad'), col('ts')), dir);
    assert.deepEqual(rows.map((r) => r['ad']), ['a1', 'a3']);
  });
});

describe('scan pushdown: filters', () => {
  const pushed = (df: DataFrame): number => streamFilters(df.plan).size;

  test('a filter right above a stream leaf used once is pushed; one with a function call, or over a leaf used twice, is not', async () => {
    const { df } = await jsonStream([]);
    assert.equal(pushed(df.filter(col('kind').equalTo('view').and(col('user').isNotNull())).select(col('ad'))), 1);
    assert.equal(pushed(df.select(col('ad'), col('kind')).filter(col('kind').equalTo('view'))), 0, 'not right above the leaf');
    assert.equal(pushed(df.filter(col('ad').startsWith('a'))), 0, 'function calls are not pushed');
    assert.equal(pushed(df.filter(col('kind').equalTo('view')).union(df)), 0, 'the other use of the leaf needs every row');
  });

  test('json: rows the pushed filter drops never reach the query, the others come through whole; progress counts the rows read', async () => {
    const lines = [line('a1', 'view', 'u1'), line('a2', 'click', 'u2'), line('a3', 'view', 'u3'), line('a4', 'purchase', 'u4')];
    const { weir, df, dir } = await jsonStream(lines);
    const counted: number[] = [];
    weir.streams.addListener({ onQueryProgress: (e) => { counted.push(e.progress.numInputRows); } });
    const rows = await drain(df.filter(col('kind').equalTo('view')).select(col('ad'), col('user')), dir);
    assert.deepEqual(rows, [{ ad: 'a1', user: 'u1' }, { ad: 'a3', user: 'u3' }]);
    assert.deepEqual(counted.filter((n) => n > 0), [2]);
  });

  test('json: a malformed record is handled by the mode whatever the filter says of it', async () => {
    const lines = [line('a1', 'view', 'u1'), JSON.stringify({ ts: 'soon', ad: 'a2', kind: 'click', user: 'u2' })];
    const { df, dir } = await jsonStream(lines, { mode: 'FAILFAST' });
    await assert.rejects(drain(df.filter(col('kind').equalTo('view')).select(col('ad'), col('ts')), dir), /ts/);
  });
});
