/**
 * Strings as Spark sees them: sequences of Unicode code points stored as UTF-8. JavaScript strings are
 * UTF-16, so a character beyond U+FFFF is two units; these helpers count and cut by code point, and
 * order by UTF-8 bytes (which is code point order), never splitting a surrogate pair.
 */

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

/** Number of code points (Spark's `length`). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if (isHighSurrogate(s.charCodeAt(i)) && isLowSurrogate(s.charCodeAt(i + 1))) { n--; i++; }
  }
  return n;
}

/** The UTF-16 index where code point number `index` starts (s.length when past the end). */
function unitIndex(s: string, index: number): number {
  let unit = 0;
  for (let cp = 0; cp < index && unit < s.length; cp++) {
    unit += isHighSurrogate(s.charCodeAt(unit)) && isLowSurrogate(s.charCodeAt(unit + 1)) ? 2 : 1;
  }
  return unit;
}

/** Code points [start, end) of `s`, 0-based, end exclusive; both already clamped to >= 0 by the caller. */
export function codePointSlice(s: string, start: number, end: number): string {
  if (end <= start) return '';
  const from = unitIndex(s, start);
  return s.slice(from, from + unitIndex(s.slice(from), end - start));
}

/**
 * UTF-16 units compare like code points except that a surrogate (U+D800..U+DFFF, the halves of a
 * character beyond U+FFFF) sorts below U+E000..U+FFFF; moving both ranges restores code point order.
 */
function codePointRank(unit: number): number {
  return unit < 0xd800 ? unit : unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** A UTF-16 unit at or above U+D800: only where both strings have one can UTF-16 order differ from code point order. */
const HIGH_UNIT = /[\uD800-\uFFFF]/;

/** Spark's string order: by UTF-8 bytes, the same as by code points. */
export function compareUtf8(a: string, b: string): number {
  // At the first difference, a unit below U+D800 orders the same in both: JavaScript's comparison is right then.
  const native = a < b ? -1 : a > b ? 1 : 0;
  if (native === 0 || !HIGH_UNIT.test(a) || !HIGH_UNIT.test(b)) return native;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Java's String.trim(): every character up to U+0020 at either end (Spark trims number text this way). */
export function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}
