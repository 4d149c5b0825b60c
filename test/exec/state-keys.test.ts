/** State keys are injective, and the compiled key expression computes exactly the runtime one. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from '../../src/common/schema.js';
import { keyCode, keyPart, stateKeyOf } from '../../src/exec/state-keys.js';
import { StateKey } from '../../src/state/state-store.js';
import { mulberry32 } from '../connectors/harness.js';

const seed = process.env['WEIR_TEST_SEED'] !== undefined ? Number(process.env['WEIR_TEST_SEED']) : Date.now() % 1_000_000;

/**
 * Values made of the characters that separator- and length-based codes trip on. `kind` (0 to 1)
 * restricts them to one type (or null), as in a column; without it any type comes.
 */
function randomValue(random: () => number, depth = 0, kind?: number): Value {
  if (kind !== undefined && random() < 0.15) return null;
  const pick = kind ?? random();
  if (pick < 0.45) {
    const alphabet = ['\u0001', '\u0000', ':', '#', ';', '~', '1', '2', 'T', 'F', '[', ']', '{', '}', 'x', 'null'];
    let s = '';
    for (let n = Math.floor(random() * 5); n > 0; n--) s += alphabet[Math.floor(random() * alphabet.length)];
    return s;
  }
  if (pick < 0.7) return [0, -0, 1, 12, 1.5, -2, NaN, Infinity, -Infinity, 1e21][Math.floor(random() * 10)]!;
  if (pick < 0.8) return kind === undefined ? null : 'typed';
  if (pick < 0.87) return random() < 0.5;
  if (depth > 1) return 'leaf';
  if (pick < 0.94) return Array.from({ length: Math.floor(random() * 3) }, () => randomValue(random, depth + 1));
  return { start: randomValue(random, depth + 1), end: randomValue(random, depth + 1) };
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
  // One value is its own key, so one column's values are of its one type (string, number, boolean, array,
  // struct); several values are coded whatever their types.
  const cases = [...[0.2, 0.6, 0.85, 0.9, 0.97].map((kind) => ({ arity: 1, kind })), { arity: 2 }, { arity: 3 }];
  for (const { arity, kind } of cases as { arity: number; kind?: number }[]) {
    const compiled = compiledKey(arity);
    const tuplesByKey = new Map<StateKey, string>();
    for (let i = 0; i < 3000; i++) {
      const values = Array.from({ length: arity }, () => randomValue(random, 0, kind));
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
  differ([1, 'a'], ['1', 'a']);
  differ([NaN, 1], [Infinity, 1]);
  differ([{ start: 1, end: 2 }, 'a'], [{ start: 1, end: 3 }, 'a']);
  differ([{ start: 1, end: 2 }], ['{"start":1,"end":2}']);
  // Equal as Spark's grouping keys: -0 and 0, NaN and NaN.
  assert.equal(stateKeyOf([-0, 'a']), stateKeyOf([0, 'a']));
  assert.equal(stateKeyOf([NaN, 'a']), stateKeyOf([NaN, 'a']));
});
