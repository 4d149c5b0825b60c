import { MAX_PRECISION } from './decimal.js';
import { AnalysisError } from './errors.js';

/**
 * DECIMAL(p,s) as a type: its name is the text `decimal(p,s)` (Spark's own spelling), so it is an
 * atomic type like `'integer'`, compared with `===` and written into schemas as is. The rules for
 * the types of results are Spark's (DecimalPrecision with allowPrecisionLoss = true, its default).
 */
export type DecimalType = `decimal(${number},${number})`;

export interface DecimalParams { readonly precision: number; readonly scale: number }

const NAME = /^decimal\((\d+),(\d+)\)$/;
const paramsCache = new Map<string, DecimalParams>();

export function isDecimalType(t: unknown): t is DecimalType {
  return typeof t === 'string' && t.startsWith('decimal(');
}

/** Precision and scale of a decimal type. */
export function decimalParams(t: DecimalType): DecimalParams {
  let params = paramsCache.get(t);
  if (!params) {
    const m = NAME.exec(t)!;
    params = { precision: Number(m[1]), scale: Number(m[2]) };
    paramsCache.set(t, params);
  }
  return params;
}

/**
 * DECIMAL(precision, scale), checked as Spark checks it: precision 1–38, scale 0–precision.
 * `where` names where the type was written, for the message.
 */
export function decimalType(precision: number, scale: number, where: string): DecimalType {
  if (!Number.isInteger(precision) || precision < 1 || precision > MAX_PRECISION) {
    throw new AnalysisError(`DECIMAL(${precision},${scale}) in ${where}: the precision (total digits) must be 1 to ` +
      `${MAX_PRECISION}.`, 'INVALID_DECIMAL_TYPE');
  }
  if (!Number.isInteger(scale) || scale < 0 || scale > precision) {
    throw new AnalysisError(`DECIMAL(${precision},${scale}) in ${where}: the scale (digits after the point) must be ` +
      `0 to the precision ${precision}.`, 'INVALID_DECIMAL_TYPE');
  }
  return `decimal(${precision},${scale})`;
}

/** The type without checks, for the results of rules below (always in range). */
function type(precision: number, scale: number): DecimalType {
  return `decimal(${precision},${scale})`;
}

/** Spark's DECIMAL without parameters. */
export const DEFAULT_DECIMAL: DecimalType = 'decimal(10,0)';
/** The decimal types integers widen to when they meet a decimal (Spark's IntDecimal, LongDecimal). */
export const INT_DECIMAL: DecimalType = 'decimal(10,0)';
export const LONG_DECIMAL: DecimalType = 'decimal(20,0)';

/** Spark's DecimalType.bounded: precision and scale capped at 38. */
function bounded(precision: number, scale: number): DecimalType {
  return type(Math.min(precision, MAX_PRECISION), Math.min(scale, MAX_PRECISION));
}

/** Spark's minimum scale kept when a result needs more than 38 digits. */
const MINIMUM_ADJUSTED_SCALE = 6;

/**
 * A result type of more than 38 digits keeps its integral digits and gives up fraction digits, down to
 * 6 (or its own scale when smaller): Spark's adjustPrecisionScale.
 */
function adjusted(precision: number, scale: number): DecimalType {
  if (precision <= MAX_PRECISION) return type(precision, scale);
  const integral = precision - scale;
  const minScale = Math.min(scale, MINIMUM_ADJUSTED_SCALE);
  return type(MAX_PRECISION, Math.max(MAX_PRECISION - integral, minScale));
}

export type DecimalOp = '+' | '-' | '*' | '/' | '%';

/** The type of `a op b` for decimals a: DECIMAL(p1,s1) and b: DECIMAL(p2,s2) (Spark's DecimalPrecision). */
export function arithmeticType(op: DecimalOp, a: DecimalType, b: DecimalType): DecimalType {
  const { precision: p1, scale: s1 } = decimalParams(a);
  const { precision: p2, scale: s2 } = decimalParams(b);
  switch (op) {
    case '+': case '-': {
      const scale = Math.max(s1, s2);
      return adjusted(Math.max(p1 - s1, p2 - s2) + scale + 1, scale);
    }
    case '*': return adjusted(p1 + p2 + 1, s1 + s2);
    case '/': {
      const scale = Math.max(MINIMUM_ADJUSTED_SCALE, s1 + p2 + 1);
      return adjusted(p1 - s1 + s2 + scale, scale);
    }
    case '%': return adjusted(Math.min(p1 - s1, p2 - s2) + Math.max(s1, s2), Math.max(s1, s2));
  }
}

/** sum of DECIMAL(p,s): DECIMAL(p+10, s), capped at 38. */
export function sumType(t: DecimalType): DecimalType {
  const { precision, scale } = decimalParams(t);
  return bounded(precision + 10, scale);
}

/** avg of DECIMAL(p,s): DECIMAL(p+4, s+4), capped at 38. */
export function avgType(t: DecimalType): DecimalType {
  const { precision, scale } = decimalParams(t);
  return bounded(precision + 4, scale + 4);
}

/** The decimal type of an integer literal: just its digits (Spark picks the minimum precision for literals). */
export function integerLiteralType(v: number | bigint): DecimalType {
  return type(Math.max(String(v < 0 ? -v : v).length, 1), 0);
}

/** The wider of two decimal types, holding both exactly (Spark's widerDecimalType), for union, CASE and coalesce. */
export function widerDecimal(a: DecimalType, b: DecimalType): DecimalType {
  const { precision: p1, scale: s1 } = decimalParams(a);
  const { precision: p2, scale: s2 } = decimalParams(b);
  const scale = Math.max(s1, s2);
  return bounded(Math.max(p1 - s1, p2 - s2) + scale, scale);
}
