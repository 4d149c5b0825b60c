/**
 * The state key of a tuple of key values: grouping columns, dedup columns, join keys. Distinct
 * tuples never share a key, whatever the values hold (FIX-protocol text carries U+0001, which a
 * plain join of the values with U+0001 confuses with its separator).
 *
 * - One value of an atomic type is its own key, null included: a Map compares keys by SameValueZero,
 *   so NaN equals NaN and -0 equals 0, as Spark's normalized grouping keys do.
 * - Several values are joined with U+0001 after each is coded so that it holds no U+0001: a string
 *   with U+0002 written as U+0002 U+0002 and U+0001 as U+0002 U+0003; null as a lone U+0002 (which
 *   no coded string is); a number or boolean as its text; a struct or array as U+0002 and its
 *   structured code (below). Splitting at U+0001 gives back each value's code, and a column's codes
 *   are distinct, so the key is injective.
 *
 * - A decimal is its value's text without trailing fraction zeros ({@link Decimal.keyText}): 1.0 and
 *   1.00 are one group, as in Spark, and the text holds no control character.
 *
 * Columns are typed, so a number and a string never meet in one column; the hot path (strings
 * without control characters, numbers) builds the key with no more pieces than a plain join: a
 * length-prefixed code measured 44% slower on a dedup of 1M rows.
 */
import { Decimal } from '../common/decimal.js';
import { Value } from '../common/schema.js';
import { StateKey } from '../state/state-store.js';

const SEPARATOR = '\u0001';
const ESCAPE = '\u0002';
const NULL_CODE = ESCAPE;

/** The code of one value in a key of several (see above). */
export function keyPart(v: Value): string {
  if (typeof v === 'string') {
    return v.indexOf(SEPARATOR) < 0 && v.indexOf(ESCAPE) < 0 ? v
      : v.replaceAll(ESCAPE, ESCAPE + ESCAPE).replaceAll(SEPARATOR, `${ESCAPE}\u0003`);
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return NULL_CODE;
  if (v instanceof Decimal) return v.keyText();
  return ESCAPE + keyPart(structuredCode(v));
}

/**
 * A prefix-free code of a struct or array value (fields in name order): string `<length>:<chars>`,
 * number `#<text>;`, null `~`, true `T`, false `F`, array `[<codes>]`, struct `{<name><value>...}`.
 * Read left to right it parses one way only, so it is injective over nested values of any type.
 */
function structuredCode(v: Value): string {
  if (typeof v === 'string') return `${v.length}:${v}`;
  if (typeof v === 'number') return `#${v};`;
  if (v instanceof Decimal) return `#${v.keyText()};`;
  if (v === null || v === undefined) return '~';
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (Array.isArray(v)) return `[${(v as readonly Value[]).map(structuredCode).join('')}]`;
  const struct = v as { readonly [k: string]: Value };
  return `{${Object.keys(struct).sort().map((name) => structuredCode(name) + structuredCode(struct[name]!)).join('')}}`;
}

/** The key of a tuple of values (no values: the one group of a global aggregation). */
export function stateKeyOf(values: readonly Value[]): StateKey {
  if (values.length === 0) return '';
  if (values.length === 1) {
    const v = values[0]!;
    return typeof v === 'object' && v !== null ? keyPart(v) : v;
  }
  let key = keyPart(values[0]!);
  for (let i = 1; i < values.length; i++) key += SEPARATOR + keyPart(values[i]!);
  return key;
}

/** The name under which compiled loops receive {@link keyPart} (the caller passes it as that parameter). */
export const KEY_PART_PARAM = 'keyPart';

/**
 * A JavaScript expression computing {@link stateKeyOf} of the values in `locals`, for compiled
 * loops (which take {@link keyPart} as parameter `keyPart`). Plain strings and numbers, the common
 * case, are coded inline.
 */
export function keyCode(locals: readonly string[]): string {
  if (locals.length === 0) return "''";
  if (locals.length === 1) {
    const v = locals[0]!;
    return `(typeof ${v} === 'object' && ${v} !== null ? ${KEY_PART_PARAM}(${v}) : ${v})`;
  }
  const part = (v: string): string => `(typeof ${v} === 'string' ? (${v}.indexOf('\\u0001') < 0 && ${v}.indexOf('\\u0002') < 0 ` +
    `? ${v} : ${KEY_PART_PARAM}(${v})) : typeof ${v} === 'number' ? '' + ${v} : ${KEY_PART_PARAM}(${v}))`;
  return locals.map(part).join(" + '\\u0001' + ");
}
