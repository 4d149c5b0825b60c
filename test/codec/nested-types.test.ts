/** Nested types: STRUCT, ARRAY and MAP in schema DDL, in the JSON row reader and through the file sink. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { JsonRowReader } from '../../src/codec/json-rows.js';
import { schemaToString, toSchema } from '../../src/common/schema.js';
import { jsonEncoder } from '../../src/connectors/nats/sink.js';
import { AnalysisError, Weir } from '../../src/index.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const NESTED = 'id INT, s STRUCT<a: INT, b STRING>, tags ARRAY<STRING>, m MAP<STRING, BIGINT>, ' +
  'deep ARRAY<STRUCT<t: TIMESTAMP, xs: ARRAY<DOUBLE>>>';

describe('schema DDL with nested types', () => {
  test('struct, array and map parse to nested types, commas inside them not splitting columns', () => {
    const schema = toSchema(NESTED);
    assert.deepEqual(schema.map((f) => f.name), ['id', 's', 'tags', 'm', 'deep']);
    assert.equal(schemaToString(schema),
      'id integer, s struct<a:integer,b:string>, tags array<string>, m map<string,long>, ' +
      'deep array<struct<t:timestamp,xs:array<double>>>');
    assert.deepEqual(toSchema('s struct<a int not null, `b c` string>')[0]!.type,
      { kind: 'struct', fields: [{ name: 'a', type: 'integer', nullable: false }, { name: 'b c', type: 'string', nullable: true }] });
    assert.deepEqual(toSchema('d DECIMAL(10, 2), n STRING NOT NULL COMMENT \'x\'').map((f) => [f.type, f.nullable]),
      [['decimal(10,2)', true], ['string', false]]);
  });

  test('an object schema takes nested type names too', () => {
    assert.deepEqual(toSchema({ m: 'map<string, array<int>>' })[0]!.type,
      { kind: 'map', key: 'string', value: { kind: 'array', element: 'integer' } });
  });

  test('bad DDL is refused naming the position and what was expected', () => {
    const refused = (ddl: string, message: RegExp, code = 'INVALID_SCHEMA'): void => assert.throws(() => toSchema(ddl),
      (e: unknown) => e instanceof AnalysisError && e.code === code && message.test(e.message), ddl);
    refused('s STRUCT<a INT', /expected '>' at position 15, found the end of the text/);
    refused('a ARRAY<INT>>', /one '>' too many/);
    refused('m MAP<INT, STRING>', /STRING as the map key type/);
    refused('a INT, a STRING', /names field 'a' twice/);
    refused('s STRUCT<a: INT, a: INT>', /names field 'a' twice/);
    refused('a VARCHAR2', /Unknown type 'VARCHAR2'.*ARRAY<type>/, 'UNKNOWN_TYPE');
    refused('a', /expected a type name at position 2/);
  });
});

describe('JSON records with nested types', () => {
  const read = (text: string): { row: unknown; problem: string | null } => {
    const reader = new JsonRowReader(toSchema(NESTED));
    const row = reader.readText(text);
    return { row, problem: reader.problem };
  };

  test('structs, arrays and maps are read by their types, timestamps inside them too', () => {
    const { row, problem } = read('{"id": 1, "s": {"a": 2, "b": "x", "zz": 9}, "tags": ["p", null], "m": {"k": 5, "constructor": 6, "n": null},' +
      ' "deep": [{"t": "1970-01-01T00:00:01Z", "xs": [1.5]}, null]}');
    assert.equal(problem, null);
    const expected = { id: 1, s: { a: 2, b: 'x' }, tags: ['p', null], m: { k: 5, constructor: 6, n: null }, deep: [{ t: 1000, xs: [1.5] }, null] };
    assert.deepEqual(row, expected);
  });

  test('a map key named __proto__ is an own entry, not the prototype', () => {
    const { row, problem } = read('{"m": {"__proto__": 7}}');
    assert.equal(problem, null);
    const m = (row as { m: Record<string, unknown> }).m;
    assert.ok(Object.hasOwn(m, '__proto__'));
    assert.equal(Object.getPrototypeOf(m), Object.prototype);
  });

  test('a value outside a map value\'s type is a problem naming its key', () => {
    assert.match(read('{"m": {"k": "five"}}').problem ?? '', /m.*k/);
    assert.match(read('{"m": [1]}').problem ?? '', /m/);
    assert.match(read('{"m": {"big": 9007199254740993}}').problem ?? '', /9007199254740993/);
  });
});

test('the file sink writes nested columns as nested JSON, read back the same with the schema', async () => {
  const [out, checkpoint] = [await tempDir(), await tempDir()];
  const weir = new Weir();
  const input = weir.memoryStream(NESTED);
  const row = { id: 1, s: { a: 2, b: 'x' }, tags: ['p', null], m: { k: 5, n: null }, deep: [{ t: 1000, xs: [1.5] }] };
  input.addData([row]);
  const query = await input.toDF().writeStream.format('json').option('checkpointLocation', checkpoint).start(out);
  await query.processAllAvailable();
  await query.stop();
  const back = await weir.read.format('json').schema(NESTED).load(out).collect();
  assert.deepEqual(back, [row]);
});

test('the NATS sink\'s JSON reads back through the shared row codec: binary as base64, times as ISO text, at any depth', () => {
  const schema = toSchema('b BINARY, s STRUCT<t: TIMESTAMP, bs: ARRAY<BINARY>>, m MAP<STRING, DATE>');
  const row = { b: Buffer.from('hi'), s: { t: 1500, bs: [Buffer.from([0, 255]), null] }, m: { d: Date.UTC(2024, 0, 2) } };
  const text = jsonEncoder(schema)(row);
  assert.equal(text, '{"b":"aGk=","s":{"t":"1970-01-01T00:00:01.500Z","bs":["AP8=",null]},"m":{"d":"2024-01-02"}}');
  const reader = new JsonRowReader(schema);
  assert.deepEqual(reader.readText(text), row);
  assert.equal(reader.problem, null);
});
