/**
 * The state key of a tuple of key values: grouping columns, dedup columns, join keys. Distinct
 * tuples never share a key, whatever the values hold (FIX-protocol text carries U+0001, and a
 * scheme that joins values with a separator merges `("x\u0001y", "z")` with `("x", "y\u0001z")`).
 *
 * - One value of an atomic type is its own key, null included: a Map compares keys by SameValueZero,
 *   so NaN equals NaN and -0 equals 0, as Spark's normalized grouping keys do.
 * - Several values, or a struct or array, become text: each value's self-delimiting code, one after
 *   the other. No code is a prefix of another, so the text can be read back one way only:
 *     string `<length>:<chars>` (starts with a digit), number `#<digits>;`, null `~`, true `T`,
 *     false `F`, array `[<codes>]`, struct `{<name code><value code>...}` with fields in name order.
 *
 * Within one column all values have the column's type, so a struct's code never meets a string key.
 */
import { Value } from '../common/schema.js';
import { StateKey } from '../state/state-store.js';

/** The code of one value (see above). Numbers print as JavaScript prints them: -0 as 0, NaN as NaN. */
export function keyPart(v: Value): string {
  if (typeof v === 'string') return `${v.length}:${v}`;
  if (typeof v === 'number') return `#${v};`;
  if (v === null || v === undefined) return '~';
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (Array.isArray(v)) return `[${(v as readonly Value[]).map(keyPart).join('')}]`;
  const struct = v as { readonly [k: string]: Value };
  return `{${Object.keys(struct).sort().map((name) => keyPart(name) + keyPart(struct[name]!)).join('')}}`;
}

/** The key of a tuple of values (no values: the one group of a global aggregation). */
export function stateKeyOf(values: readonly Value[]): StateKey {
  if (values.length === 0) return '';
  if (values.length === 1) {
    const v = values[0]!;
    return typeof v === 'object' && v !== null ? keyPart(v) : v;
  }
  let key = '';
  for (const v of values) key += keyPart(v);
  return key;
}

/** The name under which compiled loops receive {@link keyPart} (the caller passes it as that parameter). */
export const KEY_PART_PARAM = 'keyPart';

/**
 * A JavaScript expression computing {@link stateKeyOf} of the values in `locals`, for compiled
 * loops (which take {@link keyPart} as parameter `keyPart`). Strings and numbers, the common case on
 * the hot path, are coded inline.
 */
export function keyCode(locals: readonly string[]): string {
  if (locals.length === 0) return "''";
  if (locals.length === 1) {
    const v = locals[0]!;
    return `(typeof ${v} === 'object' && ${v} !== null ? ${KEY_PART_PARAM}(${v}) : ${v})`;
  }
  const part = (v: string): string =>
    `(typeof ${v} === 'string' ? ${v}.length + ':' + ${v} : typeof ${v} === 'number' ? '#' + ${v} + ';' : ${KEY_PART_PARAM}(${v}))`;
  return locals.map(part).join(' + ');
}
