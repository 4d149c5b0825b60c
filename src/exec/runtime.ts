import { dayOf, INT_MAX, INT_MIN, isIntegerValue, isLongValue, isTimestampValue } from '../codec/domains.js';
import { parseJavaDouble, parseSparkIntegral } from '../codec/spark-numbers.js';
import { formatTimestamp, sparkDoubleText, sparkTimestampText } from '../codec/spark-text.js';
import { parseTimestamp } from '../codec/timestamp.js';
import { Decimal, decimalArithmetic, rescale } from '../common/decimal.js';
import { decimalParams, isDecimalType } from '../common/decimal-type.js';
import { AtomicType, DataType, Value } from '../common/schema.js';
import { codePointLength, codePointSlice, compareUtf8 } from '../common/spark-strings.js';
import { COLLECTION_RUNTIME } from '../plan/collection-functions.js';
import { likeRegex } from '../plan/like-pattern.js';
import { hllAdd, hllMerge } from './hyperloglog.js';
import { quantileAdd, quantileMerge } from './quantile-summary.js';

/**
 * Helpers that compiled expressions call for work too large to inline. Spark's non-ANSI rules:
 * a value that cannot be converted becomes null rather than failing the batch.
 */
const regexCache = new Map<string, RegExp>();

function cachedRegex(key: string, make: () => RegExp): RegExp {
  let re = regexCache.get(key);
  if (!re) {
    re = make();
    regexCache.set(key, re);
  }
  return re;
}

/**
 * A pattern of `rlike`/`regexp_*`: Java's regexes match code points (`.` is one character even outside
 * the BMP), which JavaScript does only with the `u` flag. That flag also refuses escapes Java accepts
 * (`\\-` outside a class), so such a pattern keeps the UTF-16 reading rather than failing.
 */
function javaLikeRegex(pattern: string, flags: string): RegExp {
  try {
    return new RegExp(pattern, `${flags}u`);
  } catch {
    return new RegExp(pattern, flags);
  }
}

export const runtime = {
  ...COLLECTION_RUNTIME,
  /** A non-null value of type `from` where a string is expected: Spark's implicit cast (`43.0` for a double). */
  toText(v: Value, from: DataType): string {
    return runtime.cast(v, from, 'string') as string;
  },
  doubleText: sparkDoubleText,
  length: codePointLength,
  /**
   * Spark's substring (1-based; 0 acts as 1; negative counts from the end). The end is computed from the
   * unclamped start, then the start is clamped: substring('hello', -7, 3) is 'h'.
   */
  substring(s: string, pos: number, len: number): string {
    const start = pos > 0 ? pos - 1 : pos < 0 ? codePointLength(s) + pos : 0;
    return codePointSlice(s, Math.max(start, 0), start + len);
  },
  /** Spark's lpad/rpad: pads to `len` code points with `pad` repeated, or cuts to `len` when longer. */
  pad(s: string, len: number, pad: string, left: boolean): string {
    const chars = Array.from(s);
    const missing = len - chars.length;
    if (missing <= 0 || pad === '') return chars.slice(0, Math.max(len, 0)).join('');
    const padChars = Array.from(pad);
    const fill = Array.from({ length: missing }, (_, i) => padChars[i % padChars.length]!).join('');
    return left ? fill + s : s + fill;
  },
  /** Spark's trim functions: without `chars` they remove spaces (U+0020) only, not tabs or newlines. */
  trim(s: string, chars: string, start: boolean, end: boolean): string {
    if (!/[\uD800-\uDFFF]/.test(chars)) {
      // No character beyond U+FFFF to remove: one UTF-16 unit is one candidate, and a surrogate is never removed.
      let from = 0;
      let to = s.length;
      if (start) while (from < to && chars.includes(s[from]!)) from++;
      if (end) while (to > from && chars.includes(s[to - 1]!)) to--;
      return s.slice(from, to);
    }
    const remove = new Set(Array.from(chars));
    const cps = Array.from(s);
    let from = 0;
    let to = cps.length;
    if (start) while (from < to && remove.has(cps[from]!)) from++;
    if (end) while (to > from && remove.has(cps[to - 1]!)) to--;
    return cps.slice(from, to).join('');
  },
  compareText: compareUtf8,
  hllAdd,
  hllMerge,
  quantileAdd,
  quantileMerge,
  likePattern(pattern: string): RegExp {
    return cachedRegex(`like:${pattern}`, () => likeRegex(pattern));
  },
  regex(pattern: string): RegExp {
    return cachedRegex(`re:${pattern}`, () => javaLikeRegex(pattern, ''));
  },
  regexAll(pattern: string): RegExp {
    return cachedRegex(`reg:${pattern}`, () => javaLikeRegex(pattern, 'g'));
  },
  roundHalfUp(x: number, scale: number): number {
    const f = 10 ** scale;
    return Math.sign(x) * Math.round(Math.abs(x) * f) / f;
  },
  /** greatest/least: strings by UTF-8 bytes, other values by JavaScript order; nulls skipped. */
  extreme(values: Value[], direction: 1 | -1): Value {
    let best: Value = null;
    for (const v of values) {
      if (v === null || v === undefined) continue;
      if (best === null || Math.sign(runtime.compare(v, best)) === direction) best = v;
    }
    return best;
  },
  /** Order of two non-null atomic values of one type. */
  compare(a: Value, b: Value): number {
    if (typeof a === 'string' && typeof b === 'string') return compareUtf8(a, b);
    if (a instanceof Decimal) return a.compare(b as Decimal);
    return a! < b! ? -1 : a! > b! ? 1 : 0;
  },
  /** to_timestamp and casts of text: the sources' parser (UTC unless the text names an offset); null when not a timestamp. */
  parseTimestamp(v: Value): number | null {
    if (typeof v === 'number') return isTimestampValue(v) ? v : null;
    const ms = parseTimestamp(String(v).trim());
    return Number.isNaN(ms) ? null : ms;
  },
  truncateTime(unit: Value, ms: number): number | null {
    const d = new Date(ms);
    switch (String(unit).toLowerCase()) {
      case 'year': return Date.UTC(d.getUTCFullYear(), 0);
      case 'month': return Date.UTC(d.getUTCFullYear(), d.getUTCMonth());
      case 'day': return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      case 'hour': return ms - (((ms % 3_600_000) + 3_600_000) % 3_600_000);
      case 'minute': return ms - (((ms % 60_000) + 60_000) % 60_000);
      case 'second': return ms - (((ms % 1000) + 1000) % 1000);
      default: return null;
    }
  },
  timestampText: sparkTimestampText,
  hashValues(values: Value[]): number {
    const text = JSON.stringify(values);
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h | 0;
  },
  decimalArithmetic,
  /** The unscaled value of `v` at `scale` (rounded half up when the scale is smaller). */
  unscaledAt(v: Decimal, scale: number): bigint {
    return rescale(v.unscaled, scale - v.scale);
  },
  /** A whole number (an int or long operand meeting a decimal) as a decimal. */
  decimalOf(n: number): Decimal {
    return Decimal.ofInteger(n);
  },
  /** IN over decimals: by value, so 1.0 matches 1.00; null when there is no match but a null in the list (as `=` gives). */
  decimalIn(v: Decimal, list: readonly (Decimal | null)[]): boolean | null {
    let sawNull = false;
    for (const item of list) {
      if (item === null) sawNull = true;
      else if (v.compare(item) === 0) return true;
    }
    return sawNull ? null : false;
  },
  /** Spark's casts to DECIMAL(p,s): exact, rounded half up to s; null when the value needs more than p digits. */
  castToDecimal(v: Value, from: DataType, precision: number, scale: number): Decimal | null {
    let d: Decimal | null;
    if (v instanceof Decimal) d = v;
    else if (typeof v === 'string') d = Decimal.parse(v);
    else if (typeof v === 'boolean') d = Decimal.ofInteger(v ? 1 : 0);
    // A timestamp is seconds since the epoch, as its cast to double.
    else if (typeof v === 'number') d = from === 'timestamp' ? new Decimal(BigInt(v), 3) : Decimal.ofDouble(v);
    else d = null;
    return d === null ? null : d.toPrecision(precision, scale);
  },
  cast(v: Value, from: DataType, to: AtomicType): Value {
    if (v === null || v === undefined) return null;
    if (isDecimalType(to)) {
      const { precision, scale } = decimalParams(to);
      return runtime.castToDecimal(v, from, precision, scale);
    }
    if (v instanceof Decimal) return castDecimal(v, to);
    switch (to) {
      case 'string':
        if (from === 'timestamp' && typeof v === 'number') return sparkTimestampText(v);
        if (from === 'date' && typeof v === 'number') return formatTimestamp(v).slice(0, 10);
        if (from === 'double' && typeof v === 'number') return sparkDoubleText(v);
        // Spark decodes bytes as UTF-8, replacing invalid sequences.
        if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
        return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
      case 'integer': case 'long': {
        if (typeof v === 'string') return to === 'integer' ? parseSparkIntegral(v, INT_MIN, INT_MAX)
          : parseSparkIntegral(v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        // Spark casts a timestamp to whole seconds since the epoch.
        const n = from === 'timestamp' ? Math.floor(Number(v) / 1000) : Number(v);
        const whole = Math.trunc(n) + 0;
        return (to === 'integer' ? isIntegerValue(whole) : isLongValue(whole)) ? whole : null;
      }
      case 'double': {
        if (from === 'timestamp') return Number(v) / 1000;
        if (typeof v === 'string') return parseJavaDouble(v);
        const n = Number(v);
        return Number.isNaN(n) ? null : n;
      }
      case 'boolean':
        if (typeof v === 'string') {
          const s = v.trim().toLowerCase();
          return s === 'true' || s === 't' || s === '1' || s === 'yes' ? true
            : s === 'false' || s === 'f' || s === '0' || s === 'no' ? false : null;
        }
        return typeof v === 'number' ? v !== 0 : typeof v === 'boolean' ? v : null;
      case 'timestamp': case 'date': {
        // Numbers are seconds since the epoch, as in Spark; text is read by the sources' parser.
        const ms = typeof v !== 'number' ? runtime.parseTimestamp(v)
          : from === 'timestamp' || from === 'date' ? v : Math.round(v * 1000) + 0;
        if (ms === null || !isTimestampValue(ms)) return null;
        return to === 'date' ? dayOf(ms) : ms;
      }
      case 'binary':
        // Spark casts only strings to binary (their UTF-8 bytes).
        return typeof v === 'string' ? Buffer.from(v, 'utf8') : v instanceof Uint8Array ? v : null;
    }
  },
};

/**
 * A decimal as another type: its text; the nearest double; its whole part for int and long (truncated as
 * Spark does, null beyond the type's range, as weir's other casts to integers); seconds for a timestamp.
 */
function castDecimal(d: Decimal, to: AtomicType): Value {
  switch (to) {
    case 'string': return d.toString();
    case 'double': return d.toNumber();
    case 'integer': case 'long': {
      const whole = d.truncated();
      const limit = BigInt(to === 'integer' ? INT_MAX : Number.MAX_SAFE_INTEGER);
      return whole > limit || whole < (to === 'integer' ? BigInt(INT_MIN) : -limit) ? null : Number(whole);
    }
    case 'boolean': return !d.isZero();
    case 'timestamp': case 'date': return runtime.cast(d.toNumber(), 'double', to);
    default: return null;
  }
}

export type Runtime = typeof runtime;
