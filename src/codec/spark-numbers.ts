/**
 * Spark's casts of text to numbers (non-ANSI: text that is not a number gives null, never an error).
 * JavaScript's Number() is far more lenient ('1e3', '0x1A', '' and '  ' are numbers to it).
 */
import { javaTrim } from '../common/spark-strings.js';

/**
 * Spark's integer parser (UTF8String.toInt/toLong): an optional sign, decimal digits, and an optional
 * fraction that must be digits and is dropped ('1.9' is 1, '.' is 0); no exponent, no hex, no
 * separators. Null for anything else and for a value outside [min, max].
 */
export function parseSparkIntegral(text: string, min: number, max: number): number | null {
  const s = javaTrim(text);
  let i = 0;
  const negative = s[0] === '-';
  if (negative || s[0] === '+') i++;
  if (s.length === 0 || i === s.length) return null;
  let result = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) break;
    if (c < 0x30 || c > 0x39) return null;
    result = result * 10 + (c - 0x30);
    // Past the bound the value is refused; the check also keeps `result` exact below 2^53.
    if (result > max + 1) return null;
  }
  for (i++; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
  }
  const value = negative ? -result : result;
  return value < min || value > max ? null : value + 0;
}

const JAVA_DECIMAL = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)$/;
const JAVA_HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)[fFdD]?$/;

/** Spark's own literals, tried when Java's parser refuses the text (case-insensitive, trimmed). */
const SPECIAL_LITERALS: Readonly<Record<string, number>> = {
  inf: Infinity, '+inf': Infinity, infinity: Infinity, '+infinity': Infinity,
  '-inf': -Infinity, '-infinity': -Infinity, nan: NaN, '+nan': NaN, '-nan': NaN,
};

/**
 * Spark's cast of text to double: Java's Double.parseDouble syntax (decimal with optional exponent and
 * type suffix, `NaN`, `Infinity`, hexadecimal with a binary exponent `0x1.8p1`), then Spark's `inf` and
 * `nan` spellings; null otherwise.
 */
export function parseJavaDouble(text: string): number | null {
  const s = javaTrim(text);
  if (JAVA_DECIMAL.test(s)) return Number(s.replace(/[fFdD]$/, ''));
  const hex = JAVA_HEX.exec(s);
  if (hex && (hex[2] !== '' || (hex[3] ?? '') !== '')) {
    const [, sign, whole, fraction = '', exponent] = hex as unknown as [string, string, string, string | undefined, string];
    const mantissa = Number.parseInt(`${whole}${fraction}` || '0', 16);
    const value = mantissa * 2 ** (Number(exponent) - 4 * fraction.length);
    return sign === '-' ? -value : value;
  }
  return SPECIAL_LITERALS[s.toLowerCase()] ?? null;
}
