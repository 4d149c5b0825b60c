/** Rows as columns between threads: every value comes back as it went, whatever the column holds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Decimal } from '../../src/common/decimal.js';
import { Row } from '../../src/common/schema.js';
import { decodeRows, encodeRows, transferList } from '../../src/exec/parallel/row-columns.js';

const roundTrip = (rows: Row[], names: string[]): Row[] => decodeRows(structuredClone(encodeRows(rows, names)));

test('numbers, strings and booleans with nulls; -0, NaN, infinities; text beyond the BMP and empty text', () => {
  const rows: Row[] = [
    { n: -0, s: '', b: true },
    { n: NaN, s: '日本 \u{1F600}', b: null },
    { n: null, s: null, b: false },
    { n: Infinity, s: 'a\u0001b\nc', b: true },
  ];
  const back = roundTrip(rows, ['n', 's', 'b']);
  assert.deepEqual(back, rows);
  assert.ok(Object.is(back[0]!['n'], -0), '-0 stays -0');
});

test('nested, binary and mixed columns go as values; a missing field reads null', () => {
  const rows: Row[] = [
    { w: { start: 1, end: 2 }, x: new Uint8Array([1, 2]), m: 1 },
    { w: { start: 3, end: 4 }, x: null, m: 'text' },
    { w: null, m: [1, 2] },
  ];
  assert.deepEqual(roundTrip(rows, ['w', 'x', 'm']), [
    { w: { start: 1, end: 2 }, x: new Uint8Array([1, 2]), m: 1 },
    { w: { start: 3, end: 4 }, x: null, m: 'text' },
    { w: null, x: null, m: [1, 2] },
  ]);
});

test('a decimal column comes back as decimals, exactly (structured clone alone would leave plain objects)', () => {
  const big = Decimal.parse('12345678901234567890123456.7890')!;
  const back = roundTrip([{ d: big }, { d: null }, { d: Decimal.parse('-0.10')! }], ['d']);
  assert.ok(back[0]!['d'] instanceof Decimal && back[2]!['d'] instanceof Decimal);
  assert.deepEqual(back.map((r) => (r['d'] === null ? null : String(r['d']))), ['12345678901234567890123456.7890', null, '-0.10']);
});

test("a field named like an Object.prototype member is read as the row's own, never inherited", () => {
  const back = roundTrip([{ constructor: 'mine' }, {}], ['constructor']);
  assert.deepEqual(back.map((r) => Object.hasOwn(r, 'constructor') ? r['constructor'] : 'absent'), ['mine', null]);
});

test('numeric and string columns travel in buffers that are moved, not copied; an empty batch is empty', () => {
  const encoded = encodeRows([{ n: 1, s: 'a' }, { n: 2, s: 'b' }], ['n', 's']);
  assert.equal(transferList(encoded).length, 2);
  assert.deepEqual(decodeRows(encodeRows([], ['n'])), []);
});
