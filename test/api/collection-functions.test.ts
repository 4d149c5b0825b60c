/** Spark's functions over structs, arrays and maps, through the DataFrame API and SQL. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  AnalysisError, array, array_contains, col, element_at, expr, from_json, lit, map_keys, map_values, size, struct, to_json, upper, Weir,
} from '../../src/index.js';
import { removeTempDirs, tempDir } from './helpers.js';

after(removeTempDirs);

const SCHEMA = 'id INT, s STRUCT<a: INT, b: STRING>, xs ARRAY<INT>, m MAP<STRING, STRING>, t TIMESTAMP, value BINARY';

async function events(): Promise<ReturnType<Weir['read']['load']>> {
  const folder = await tempDir();
  await writeFile(join(folder, 'a.json'), [
    { id: 1, s: { a: 10, b: 'x' }, xs: [1, 2, null], m: { color: 'red', constructor: 'c' }, t: 1000,
      value: Buffer.from('{"a": 5, "b": "five", "c": 1}').toString('base64') },
    { id: 2, s: null, xs: null, m: null, t: null, value: Buffer.from('not json').toString('base64') },
  ].map((r) => JSON.stringify(r)).join('\n'));
  return new Weir().read.format('json').schema(SCHEMA).load(folder);
}

test('struct fields and map entries read as col(\'s.a\'), getField and element_at', async () => {
  const rows = await (await events()).select(col('s.a'), col('s').getField('b').as('b'), col('m.color').as('color'),
    col('m.constructor').as('ctor'), col('m.toString').as('missing'), element_at('m', 'color').as('e'),
    element_at('xs', 1).as('first'), element_at('xs', -2).as('second_last'), element_at('xs', 9).as('past')).collect();
  assert.deepEqual(rows, [
    { a: 10, b: 'x', color: 'red', ctor: 'c', missing: null, e: 'red', first: 1, second_last: 2, past: null },
    { a: null, b: null, color: null, ctor: null, missing: null, e: null, first: null, second_last: null, past: null },
  ]);
});

test('size (-1 for null, as Spark), array, struct, array_contains with Spark\'s null rule, map_keys, map_values', async () => {
  const df = (await events()).select(size('xs').as('n'), size('m').as('k'), array(col('id'), lit(2.5), lit(null)).as('arr'),
    struct(col('id'), upper(col('s.b')), col('t').as('when')).as('st'), array_contains('xs', 2).as('has2'),
    array_contains('xs', 7).as('has7'), map_keys('m').as('keys'), map_values('m').as('vals'));
  assert.deepEqual(df.schema.map((f) => `${f.name}: ${f.type === null ? '' : JSON.stringify(f.type)}`)[3],
    'st: {"kind":"struct","fields":[{"name":"id","type":"integer","nullable":true},{"name":"col2","type":"string","nullable":true},' +
    '{"name":"when","type":"timestamp","nullable":true}]}');
  assert.deepEqual(await df.collect(), [
    { n: 3, k: 2, arr: [1, 2.5, null], st: { id: 1, col2: 'X', when: 1000 }, has2: true, has7: null,
      keys: ['color', 'constructor'], vals: ['red', 'c'] },
    { n: -1, k: -1, arr: [2, 2.5, null], st: { id: 2, col2: null, when: null }, has2: null, has7: null, keys: null, vals: null },
  ]);
});

test('to_json writes nested values with timestamps as ISO text; from_json decodes a Kafka-style value with a DDL schema', async () => {
  const df = (await events()).select(to_json(struct(col('id'), col('t'), col('xs'))).as('j'),
    from_json(col('value').cast('string'), 'a INT, b STRING').as('v'));
  assert.deepEqual(await df.collect(), [
    { j: '{"id":1,"t":"1970-01-01T00:00:01.000Z","xs":[1,2,null]}', v: { a: 5, b: 'five' } },
    { j: '{"id":2,"t":null,"xs":null}', v: { a: null, b: null } },
  ]);
  const fields = await df.select(col('v.a').as('a'), col('v.b').as('b')).collect();
  assert.deepEqual(fields, [{ a: 5, b: 'five' }, { a: null, b: null }]);
});

test('the same functions resolve in SQL, struct naming its fields after the columns', async () => {
  const df = (await events()).selectExpr('element_at(m, \'color\') AS c', 'size(xs) AS n', 'struct(id, s.b) AS st',
    'array_contains(xs, 1) AS one', 'to_json(map_values(m)) AS vs', "from_json(CAST(value AS STRING), 'a INT, c BIGINT') AS fj",
    'array(1, 2) AS arr', "named_struct('k', id) AS ns");
  const [first] = await df.collect();
  assert.deepEqual(first, { c: 'red', n: 3, st: { id: 1, b: 'x' }, one: true, vs: '["red","c"]', fj: { a: 5, c: 1 }, arr: [1, 2], ns: { k: 1 } });
});

test('wrong argument types and bad schemas are analysis errors naming the function', async () => {
  const df = await events();
  const refused = (make: () => unknown, message: RegExp): void => assert.throws(make,
    (e: unknown) => e instanceof AnalysisError && message.test(e.message));
  refused(() => df.select(size('id')), /size needs an array or a map, got integer/);
  refused(() => df.select(map_keys('xs')), /map_keys needs a map, got array<integer>/);
  refused(() => df.select(from_json(col('id'), 'a INT')), /from_json needs JSON text/);
  refused(() => df.select(from_json(col('value').cast('string'), 'a INT,')), /Cannot read schema/);
  refused(() => df.select(array(col('id'), col('s.b'))), /array needs arguments of one type, got integer and string/);
  refused(() => df.select(expr('element_at(xs, 0)')), /indices start at 1/);
  refused(() => df.select(element_at('xs', 0)), /indices start at 1/);
});
