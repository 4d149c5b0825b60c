/** explode, explode_outer, posexplode, posexplode_outer in select: a row per array element or map entry. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AnalysisError, col, count, explode, explode_outer, posexplode, posexplode_outer, Row, Weir } from '../../src/index.js';
import { assertRows, removeTempDirs, startCollecting } from './helpers.js';

after(removeTempDirs);

const SCHEMA = 'id INT, tags ARRAY<STRING>, attrs MAP<STRING, INT>';
const ROWS: Row[] = [
  { id: 1, tags: ['a', 'b'], attrs: { x: 1, y: 2 } },
  { id: 2, tags: [], attrs: {} },
  { id: 3, tags: null, attrs: null },
];

async function run(select: (df: ReturnType<ReturnType<Weir['memoryStream']>['toDF']>) => ReturnType<ReturnType<Weir['memoryStream']>['toDF']>): Promise<{ rows: Row[]; columns: string[] }> {
  const input = new Weir().memoryStream(SCHEMA);
  const df = select(input.toDF());
  const batches: [number, Row[]][] = [];
  const query = await startCollecting(df, batches);
  input.addData(ROWS);
  await query.processAllAvailable();
  await query.stop();
  return { rows: batches.flatMap(([, rows]) => rows), columns: df.columns };
}

test('explode gives a row per element (none for null or empty), keeping the other columns in place', async () => {
  const { rows, columns } = await run((df) => df.select(col('id'), explode(col('tags')).as('tag'), col('id').as('again')));
  assert.deepEqual(columns, ['id', 'tag', 'again']);
  assert.deepEqual(rows, [{ id: 1, tag: 'a', again: 1 }, { id: 1, tag: 'b', again: 1 }]);
});

test('explode_outer keeps rows with a null or empty array as one row of nulls; posexplode adds pos', async () => {
  assert.deepEqual((await run((df) => df.select(col('id'), explode_outer('tags')))).rows,
    [{ id: 1, col: 'a' }, { id: 1, col: 'b' }, { id: 2, col: null }, { id: 3, col: null }]);
  assert.deepEqual((await run((df) => df.select(posexplode('tags'), col('id')))).rows,
    [{ pos: 0, col: 'a', id: 1 }, { pos: 1, col: 'b', id: 1 }]);
  assert.deepEqual((await run((df) => df.select(col('id'), posexplode_outer('tags')))).rows,
    [{ id: 1, pos: 0, col: 'a' }, { id: 1, pos: 1, col: 'b' }, { id: 2, pos: null, col: null }, { id: 3, pos: null, col: null }]);
});

test('a map explodes to key and value; the exploded rows aggregate like any other', async () => {
  const { rows, columns } = await run((df) => df.select(col('id'), explode('attrs')));
  assert.deepEqual(columns, ['id', 'key', 'value']);
  assert.deepEqual(rows, [{ id: 1, key: 'x', value: 1 }, { id: 1, key: 'y', value: 2 }]);
  const input = new Weir().memoryStream(SCHEMA);
  const batches: [number, Row[]][] = [];
  const query = await startCollecting(input.toDF().withColumn('tag', explode('tags')).groupBy('tag').agg(count('*').as('n')),
    batches, { mode: 'complete' });
  input.addData(ROWS);
  input.addData([{ id: 4, tags: ['b'], attrs: null }]);
  await query.processAllAvailable();
  await query.stop();
  assertRows(batches[batches.length - 1]![1], [{ tag: 'a', n: 1 }, { tag: 'b', n: 2 }]);
});

test('a generator is refused where Spark refuses it, naming what to do', async () => {
  const df = new Weir().memoryStream(SCHEMA).toDF();
  const refused = (make: () => unknown, message: RegExp): void => assert.throws(make,
    (e: unknown) => e instanceof AnalysisError && message.test(e.message));
  refused(() => df.select(explode('tags'), explode('attrs')), /Only one generator/);
  refused(() => df.select(explode('id')), /explode needs an array or a map, got integer/);
  refused(() => df.select(explode('attrs').as('kv')), /gives two columns, key and value/);
});
