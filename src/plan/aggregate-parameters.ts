/** The literal parameters of the approximate aggregates, checked when the query is analyzed, and their defaults. */
import { AnalysisError } from '../common/errors.js';
import { Value } from '../common/schema.js';

/** Spark's precision for a relative standard deviation: p = ceil(2 * log2(1.106 / rsd)). */
export function hllPrecision(rsd: number): number {
  const p = Math.ceil(2 * Math.log2(1.106 / rsd));
  if (!Number.isFinite(rsd) || rsd <= 0 || p < 4) {
    throw new AnalysisError(`approx_count_distinct's relative standard deviation must be in (0, 0.39], got ${rsd}: ` +
      'HyperLogLog needs at least 4 bits of addressing.', 'WRONG_ARGUMENTS');
  }
  if (p > MAX_PRECISION) {
    throw new AnalysisError(`approx_count_distinct's relative standard deviation ${rsd} needs 2^${p} registers per group; ` +
      `weir supports down to ${(1.106 / 2 ** (MAX_PRECISION / 2)).toFixed(4)} (2^${MAX_PRECISION} registers).`, 'WRONG_ARGUMENTS');
  }
  return p;
}

/** 2^18 registers (256 KiB of state per group) bounds the memory a single aggregate may take. */
const MAX_PRECISION = 18;

/** Spark's default relative standard deviation (2^9 registers). */
export const DEFAULT_RSD = 0.05;

/** Spark's default accuracy of percentile_approx (relative error 1/10000). */
export const DEFAULT_ACCURACY = 10_000;

/** Checks percentile_approx's percentage (a number or an array of numbers in [0, 1]) and accuracy (a positive integer). */
export function checkPercentileParameters(name: string, percentage: Value | undefined, accuracy: Value | undefined): void {
  const percentages = Array.isArray(percentage) ? percentage as readonly Value[] : [percentage];
  if (percentages.length === 0 || !percentages.every((p) => typeof p === 'number' && p >= 0 && p <= 1)) {
    throw new AnalysisError(`${name}: the percentage must be a number between 0.0 and 1.0, or an array of them, ` +
      `got ${JSON.stringify(percentage)}.`, 'WRONG_ARGUMENTS');
  }
  if (accuracy !== undefined && !(typeof accuracy === 'number' && Number.isInteger(accuracy) && accuracy > 0 && accuracy <= 2147483647)) {
    throw new AnalysisError(`${name}: the accuracy must be a positive integer (relative error 1/accuracy; Spark's default ` +
      `${DEFAULT_ACCURACY}), got ${JSON.stringify(accuracy)}.`, 'WRONG_ARGUMENTS');
  }
}
