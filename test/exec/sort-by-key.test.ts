/** Evicted state is emitted in one key order whichever way sortByKey sorts it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sortByKey } from '../../src/exec/stateful-base.js';
import { compareStateKeys, StateKey } from '../../src/state/state-store.js';
import { mulberry32 } from '../connectors/harness.js';

const seed = process.env['WEIR_TEST_SEED'] !== undefined ? Number(process.env['WEIR_TEST_SEED']) : Date.now() % 1_000_000;

/** Distinct keys drawn from `alphabet` (plus, when `mixed`, numbers, booleans and null). */
function randomKeys(random: () => number, alphabet: readonly string[], mixed: boolean): StateKey[] {
  const keys = new Set<StateKey>();
  while (keys.size < 400) {
    const pick = random();
    if (mixed && pick < 0.1) keys.add([null, true, false, 0, -1.5, 7, NaN, Infinity][Math.floor(random() * 8)]!);
    else {
      let s = '';
      for (let n = Math.floor(random() * 6); n > 0; n--) s += alphabet[Math.floor(random() * alphabet.length)];
      keys.add(s);
    }
  }
  return [...keys];
}

test('sortByKey orders entries as compareStateKeys does, with and without units from U+D800 up', () => {
  console.log(`seed ${seed} (set WEIR_TEST_SEED to repeat)`);
  const random = mulberry32(seed);
  const plain = ['a', 'b', 'Z', '0', '\u0001', '\u0000', '\u00e9', '\u4e00', '\uD7FF'];
  // UTF-16 puts a surrogate pair (U+1F600) below U+E000 and U+FFFF; UTF-8, and Spark, put it above.
  const wide = [...plain, '\uD83D\uDE00', '\uE000', '\uFFFF'];
  for (const [alphabet, mixed] of [[plain, false], [wide, false], [plain, true], [wide, true]] as const) {
    for (let round = 0; round < 20; round++) {
      const keys = randomKeys(random, alphabet, mixed);
      const expected = [...keys].sort(compareStateKeys);
      const sorted = sortByKey(keys.map((k, i) => [k, i] as [StateKey, number])).map(([k]) => k);
      assert.deepEqual(sorted, expected, `seed ${seed}, alphabet of ${alphabet.length}, mixed ${mixed}`);
    }
  }
});
