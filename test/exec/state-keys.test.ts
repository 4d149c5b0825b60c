/** State keys are injective, and the compiled key expression computes exactly the runtime one. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from '../../src/common/schema.js';
import { keyCode, keyPart, stateKeyOf } from '../../src/exec/state-keys.js';
import { StateKey } from '../../src/state/state-store.js';
import { mulberry32 } from '../connectors/harness.js';

const seed = process.env['WEIR_TEST_SEED'] !== undefined ? Number(process.env['WEIR_TEST_SEED']) : Date.now() % 1_000_000;

const KINDS = ['string', 'number', 'boolean', 'array', 'struct'] as const;
type Kind = typeof KINDS[number];

/** A value of a column of type `kind` (or null), made of the characters that separator and escape codes trip on. */
function randomValue(random: () => number, kind: Kind, depth = 0): Value {
  if (random() < 0.15) return null;
  const nested = (): Value => (depth > 1 ? 'leaf' : randomValue(random, KINDS[Math.floor(random() * KINDS.length)]!, depth + 1));
  switch (kind) {
    case 'string': {
      const alphabet = ['\u0001', '\u0002', '\u0003', '\u0000', ':', '#', ';', '~', '1', 'T', '[', '{', 'x', 'null'];
      let s = '';
      for (let n = Math.floor(random() * 5); n > 0; n--) s += alphabet[Math.floor(random() * alphabet.length)];
      return s;
    }
    case 'number': return [0, -0, 1, 12, 1.5, -2, NaN, Infinity, -Infinity, 1e21][Math.floor(random() * 10)]!;
    case 'boolean': return random() < 0.5;
    case 'array': return Array.from({ length: Math.floor(random() * 3) }, nested);
    case 'struct': return { start: nested(), end: nested() };
  }
}

/** Equal as grouping keys are equal (Spark: NaN = NaN, -0 = 0; struct fields by name). */
function canonical(v: Value): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'n:NaN' : `n:${v === 0 ? 0 : v}`;
  if (v === null || typeof v !== 'object') return `${typeof v}:${String(v)}`;
  if (Array.isArray(v)) return `[${(v as Value[]).map(canonical).join(',')}]`;
  const o = v as Record<string, Value>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}=${canonical(o[k]!)}`).join(',')}}`;
}

function compiledKey(arity: number): (values: readonly Value[]) => StateKey {
  const locals = Array.from({ length: arity }, (_, i) => `v${i}`);
  const body = `const [${locals.join(', ')}] = values; return ${keyCode(locals)};`;
  const fn = new Function('values', 'keyPart', body) as (values: readonly Value[], kp: typeof keyPart) => StateKey;
  return (values) => fn(values, keyPart);
}

test(`distinct tuples get distinct keys and equal tuples equal keys; compiled and runtime keys agree (seed ${seed})`, () => {
  const random = mulberry32(seed);
  // Each column has one type (values of it or null), as a schema gives them.
  const randomKind = (): Kind => KINDS[Math.floor(random() * KINDS.length)]!;
  const cases: Kind[][] = [...KINDS.map((kind) => [kind]), ...Array.from({ length: 12 }, () => [randomKind(), randomKind()]),
    ...Array.from({ length: 6 }, () => [randomKind(), randomKind(), randomKind()]), ['string', 'string', 'string']];
  for (const columns of cases) {
    const compiled = compiledKey(columns.length);
    const tuplesByKey = new Map<StateKey, string>();
    for (let i = 0; i < 2000; i++) {
      const values = columns.map((kind) => randomValue(random, kind));
      const key = stateKeyOf(values);
      const fromCode = compiled(values);
      assert.ok(fromCode === key || (Number.isNaN(key) && Number.isNaN(fromCode)),
        `seed ${seed}: compiled key differs for ${JSON.stringify(values)}`);
      const tuple = values.map(canonical).join('|');
      const seen = tuplesByKey.get(key);
      assert.ok(seen === undefined || seen === tuple, `seed ${seed}: ${seen} and ${tuple} share the key ${JSON.stringify(key)}`);
      tuplesByKey.set(key, tuple);
    }
  }
});

test('the collisions of the former encoding are gone', () => {
  const differ = (a: readonly Value[], b: readonly Value[]): void => assert.notEqual(stateKeyOf(a), stateKeyOf(b), JSON.stringify([a, b]));
  differ(['x\u0001y', 'z'], ['x', 'y\u0001z']);
  differ([null, 'q'], ['\u0000', 'q']);
  differ([null], ['\u0000']);
  differ([NaN, 1], [Infinity, 1]);
  differ([{ start: 1, end: 2 }, 'a'], [{ start: 1, end: 3 }, 'a']);
  differ(['\u0002', 'a'], [null, 'a']);
  differ(['a\u0002\u0003', 'b'], ['a\u0001', 'b']);
  // Equal as Spark's grouping keys: -0 and 0, NaN and NaN.
  assert.equal(stateKeyOf([-0, 'a']), stateKeyOf([0, 'a']));
  assert.equal(stateKeyOf([NaN, 'a']), stateKeyOf([NaN, 'a']));
});
