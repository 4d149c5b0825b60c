import { Decimal } from '../common/decimal.js';
import { DecimalType, decimalParams, isDecimalType } from '../common/decimal-type.js';
import { AtomicType } from '../common/schema.js';

/**
 * The domain of every column type: the values a row may hold in a column of that type. Every source
 * (files, HTTP, NATS) admits only values inside it, and casts give null outside it, so a value that
 * one connector accepts reads the same through every other and survives the JSON of logs and sinks.
 *
 * | type      | value in a row              | domain                                                              |
 * |-----------|-----------------------------|---------------------------------------------------------------------|
 * | integer   | number                      | whole numbers −2^31 … 2^31−1 (Spark's INT)                          |
 * | long      | number                      | whole numbers −(2^53−1) … 2^53−1, where a JavaScript number is exact |
 * | double    | number                      | finite doubles; −0 reads as 0 (JSON carries neither NaN nor ±∞)     |
 * | boolean   | true, false                 | both                                                                |
 * | string    | string                      | any text                                                            |
 * | timestamp | epoch milliseconds (UTC)    | whole ms from 0001-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z  |
 * | date      | epoch ms of midnight UTC    | the days from 0001-01-01 to 9999-12-31                              |
 * | binary    | Uint8Array (Buffer)         | any bytes; in JSON and CSV text, their base64 (as Spark reads them)  |
 * | decimal(p,s) | Decimal (common/decimal.ts) | at most p digits, s of them after the point; a value with more     |
 * |           |                             | fraction digits is rounded half up to s (as Spark reads it)          |
 *
 * Longs beyond 2^53 are refused rather than rounded: declare such a column STRING to keep 64-bit ids
 * exact. The timestamp range is Spark's, at millisecond precision.
 */

export const INT_MIN = -(2 ** 31);
export const INT_MAX = 2 ** 31 - 1;
export const LONG_MIN = Number.MIN_SAFE_INTEGER;
export const LONG_MAX = Number.MAX_SAFE_INTEGER;
/** 0001-01-01T00:00:00.000Z */
export const TIMESTAMP_MIN_MS = -62_135_596_800_000;
/** 9999-12-31T23:59:59.999Z */
export const TIMESTAMP_MAX_MS = 253_402_300_799_999;
export const DAY_MS = 86_400_000;

export function isIntegerValue(v: number): boolean {
  return Number.isInteger(v) && v >= INT_MIN && v <= INT_MAX;
}

export function isLongValue(v: number): boolean {
  return Number.isSafeInteger(v);
}

export function isTimestampValue(v: number): boolean {
  return Number.isInteger(v) && v >= TIMESTAMP_MIN_MS && v <= TIMESTAMP_MAX_MS;
}

/** Decimal text (Java BigDecimal syntax) as a value of `type`, rounded half up to its scale; null when it is not a number or too large. */
export function decimalValue(text: string, type: DecimalType): Decimal | null {
  const { precision, scale } = decimalParams(type);
  return Decimal.parse(text)?.toPrecision(precision, scale) ?? null;
}

/** The bytes of base64 text (standard alphabet, padding optional), or undefined when it is not base64. */
export function base64Bytes(text: string): Uint8Array | undefined {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** The start of the UTC day holding `ms` (also for times before 1970). */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** What a value of `type` must be, for messages about values outside the domain. */
export function domainText(type: AtomicType): string {
  if (!isDecimalType(type)) return DOMAIN_TEXT[type];
  const { precision, scale } = decimalParams(type);
  return `a number (JSON number or text) of at most ${precision - scale} digits before the point, rounded to ${scale} after it`;
}

/** What a value of each type must be, for messages about values outside the domain. */
export const DOMAIN_TEXT = {
  binary: 'base64 text',
  integer: `a whole number from ${INT_MIN} to ${INT_MAX}`,
  long: `a whole number from ${LONG_MIN} to ${LONG_MAX} (declare the column STRING to keep larger ids exact)`,
  double: 'a finite number',
  boolean: 'true or false',
  string: 'text',
  timestamp: 'epoch milliseconds or ISO-8601 text (UTC unless it names an offset) within years 0001-9999',
  date: 'a date (yyyy-MM-dd), ISO-8601 timestamp text or epoch milliseconds within years 0001-9999',
} as const;
