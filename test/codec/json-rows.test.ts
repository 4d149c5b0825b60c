import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TIMESTAMP_MAX_MS, TIMESTAMP_MIN_MS } from '../../src/codec/domains.js';
import { JsonRowReader } from '../../src/codec/json-rows.js';
import { compileTextConverter } from '../../src/codec/text-rows.js';
import { ProblemSlot } from '../../src/codec/value-problems.js';
import { Decimal } from '../../src/common/decimal.js';
import { Row, Schema, toSchema } from '../../src/common/schema.js';
import { POISON } from './poison.js';

function read(schema: string | Schema, text: string): { row: Row | null; problem: string | null } {
  const reader = new JsonRowReader(typeof schema === 'string' ? toSchema(schema) : schema);
  const row = reader.readText(text);
  return { row, problem: reader.problem };
}

describe('JSON records', () => {
  test('values outside their type\'s domain are problems naming the field, the value as written and the domain', () => {
    for (const [schema, json, reason] of POISON) {
      const column = schema.split(' ')[0]!;
      const { row, problem } = read(schema, `{"${column}": ${json}}`);
      assert.match(problem ?? 'no problem', reason, `${schema} <- ${json}`);
      assert.equal(row?.[column], null);
    }
    assert.match(read('s STRING NOT NULL', '{}').problem!, /field 's' is missing but the schema says NOT NULL/);
  });

  test('the edges of each domain are admitted; a fraction of a millisecond is dropped; -0 reads as 0', () => {
    const { row, problem } = read('a TIMESTAMP, b TIMESTAMP, c TIMESTAMP, l LONG, m LONG, i INT, d DOUBLE, day DATE',
      `{"a": ${TIMESTAMP_MIN_MS}, "b": ${TIMESTAMP_MAX_MS}, "c": 1.75, "l": 9007199254740991, "m": -9007199254740991, ` +
      `"i": -2147483648, "d": -0, "day": "9999-12-31T23:59:59.999Z"}`);
    assert.equal(problem, null);
    assert.deepEqual(row, { a: TIMESTAMP_MIN_MS, b: TIMESTAMP_MAX_MS, c: 1, l: 2 ** 53 - 1, m: -(2 ** 53 - 1), i: -(2 ** 31), d: 0,
      day: Date.UTC(9999, 11, 31) });
    assert.ok(Object.is(row!['d'], 0));
  });

  test('a DECIMAL column reads a JSON number from its text, every digit kept, or a string holding one', () => {
    const { row, problem } = read('a DECIMAL(38,18), b DECIMAL(10,2), c DECIMAL(10,2), d DECIMAL(4,1), s STRUCT<x: DECIMAL(30,0)>, ' +
      'xs ARRAY<DECIMAL(3,2)>',
    '{"a": 12345678901234567890.123456789012345678, "b": "-0.005", "c": 1e3, "d": 1.25, "s": {"x": 123456789012345678901234567890}, ' +
      '"xs": [0.1, "0.25", 1]}');
    assert.equal(problem, null);
    const text = (v: unknown): unknown => (Array.isArray(v) ? v.map(text) : v instanceof Decimal ? v.toString()
      : typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, text(x)])) : v);
    assert.deepEqual(text(row), {
      a: '12345678901234567890.123456789012345678', b: '-0.01', c: '1000.00', d: '1.3',
      s: { x: '123456789012345678901234567890' }, xs: ['0.10', '0.25', '1.00'],
    });
  });

  test('CSV text reads into DECIMAL exactly, rounded half up to the scale, refused beyond the precision', () => {
    const convert = compileTextConverter(toSchema('a DECIMAL(20,2), b DECIMAL(3,1)'), null, '');
    const slot: ProblemSlot = { problem: null };
    const row = convert(['123456789012345678.125', '-0.05'], Int32Array.from([0, 1]), slot);
    assert.equal(slot.problem, null);
    assert.deepEqual([String(row['a']), String(row['b'])], ['123456789012345678.13', '-0.1']);
    const bad = convert(['1', '100'], Int32Array.from([0, 1]), slot);
    assert.match(slot.problem ?? '', /field 'b' is "100", not a decimal\(3,1\)/);
    assert.equal(bad['b'], null);
  });

  test('a STRING column keeps the text of a number or nested value as written', () => {
    const { row, problem } = read('id STRING, big STRING, dec STRING, neg STRING, nested STRING, flag STRING, esc STRING',
      '{"id":12345678901234567890, "big": 1e400, "dec": 1.50, "neg": -0, "nested": {"a": [1, 12345678901234567890]}, ' +
      '"flag": true, "e\\u0073c": 7, "id": 98765432109876543210}');
    assert.equal(problem, null);
    assert.deepEqual(row, { id: '98765432109876543210', big: '1e400', dec: '1.50', neg: '-0',
      nested: '{"a": [1, 12345678901234567890]}', flag: 'true', esc: '7' });
  });

  test('inside nested types and in elements of a JSON array text', () => {
    const schema: Schema = [{ name: 'o', nullable: true, type: { kind: 'struct', fields: [
      { name: 'ids', nullable: true, type: { kind: 'array', element: 'string' } },
      { name: 'ts', nullable: false, type: 'timestamp' },
    ] } }];
    const nested = read(schema, '{"o": {"ids": ["a", 12345678901234567891, {"x": 1.0}], "ts": "2024-01-02"}}');
    assert.equal(nested.problem, null);
    assert.deepEqual(nested.row, { o: { ids: ['a', '12345678901234567891', '{"x": 1.0}'], ts: Date.UTC(2024, 0, 2) } });
    assert.match(read(schema, '{"o": {"ids": []}}').problem!, /field 'o\.ts' is missing but the schema says NOT NULL/);
    assert.match(read(schema, '{"o": {"ids": [1], "ts": 1e17}}').problem!, /field 'o\.ts' is 1e17, not a timestamp/);

    const reader = new JsonRowReader(toSchema('id STRING, n LONG'));
    const body = '[ {"id": 1}, {"n": 2, "id": 12345678901234567892} ,{"id": 3.0e0}]';
    const items = JSON.parse(body) as unknown[];
    assert.deepEqual(items.map((item, i) => reader.readElement(item, body, i)),
      [{ id: '1', n: null }, { id: '12345678901234567892', n: 2 }, { id: '3.0e0', n: null }]);
  });

  test('a field named like an Object.prototype member is read only when the record holds it', () => {
    const schema = 'constructor STRING, toString INT, hasOwnProperty BOOLEAN, __proto__ STRING, valueOf TIMESTAMP';
    const empty = read(schema, '{}');
    assert.equal(empty.problem, null);
    assert.deepEqual(Object.entries(empty.row!), [['constructor', null], ['toString', null], ['hasOwnProperty', null],
      ['__proto__', null], ['valueOf', null]]);
    const full = read(schema, '{"constructor": "c", "toString": 1, "hasOwnProperty": true, "__proto__": "p", "valueOf": 5}');
    assert.deepEqual(Object.entries(full.row!), [['constructor', 'c'], ['toString', 1], ['hasOwnProperty', true], ['__proto__', 'p'],
      ['valueOf', 5]]);
    assert.equal(Object.getPrototypeOf(full.row), Object.prototype);
    assert.match(read('constructor STRING NOT NULL', '{}').problem!, /field 'constructor' is missing/);
    const struct: Schema = [{ name: 's', nullable: true, type: { kind: 'struct', fields: [{ name: 'toString', nullable: true, type: 'string' }] } }];
    assert.deepEqual(read(struct, '{"s": {}}').row, { s: { toString: null } });
  });

  test('text that is not a JSON object', () => {
    assert.match(read('a INT', '{"a": ').problem!, /^not valid JSON/);
    assert.match(read('a INT', '[1]').problem!, /^expected a JSON object, got \[1\]/);
  });
});

describe('text fields (CSV)', () => {
  const convert = (schema: string, field: string): { row: Row; problem: string | null } => {
    const slot: ProblemSlot = { problem: null };
    const row = compileTextConverter(toSchema(schema), null, '')([field], Int32Array.of(0), slot);
    return { row, problem: slot.problem };
  };

  test('the same domains and timestamp parser as JSON', () => {
    const cases: [string, string, RegExp][] = [
      ['ts TIMESTAMP', '100000000000000000', /field 'ts' is "100000000000000000", not a timestamp/],
      ['ts TIMESTAMP', '10000-01-01T00:00:00Z', /not a timestamp/],
      ['ts TIMESTAMP', '2023-02-29 10:00', /not a timestamp/],
      ['d DATE', '2023-02-29', /not a date/],
      ['l LONG', '12345678901234567890', /field 'l' is "12345678901234567890", not a long/],
      ['i INT', '2147483648', /not an integer/],
      ['x DOUBLE', '1e400', /not a double/],
    ];
    for (const [schema, text, reason] of cases) assert.match(convert(schema, text).problem ?? 'no problem', reason, `${schema} <- ${text}`);
    assert.deepEqual(convert('ts TIMESTAMP', '2024-01-02 03:04').row, { ts: Date.UTC(2024, 0, 2, 3, 4) });
    assert.deepEqual(convert('s STRING', '12345678901234567890').row, { s: '12345678901234567890' });
  });
});
