import { AnalysisError } from '../common/errors.js';

/** Spark's precision for a relative standard deviation: p = ceil(2 * log2(1.106 / rsd)). */
export function hllPrecision(rsd: number): number {
  const p = Math.ceil(2 * Math.log2(1.106 / rsd));
  if (!Number.isFinite(rsd) || rsd <= 0 || p < 4) {
    throw new AnalysisError(`approx_count_distinct's relative standard deviation must be in (0, 0.39], got ${rsd}: ` +
      'HyperLogLog needs at least 4 bits of addressing.', 'INVALID_ARGUMENT');
  }
  if (p > MAX_PRECISION) {
    throw new AnalysisError(`approx_count_distinct's relative standard deviation ${rsd} needs 2^${p} registers per group; ` +
      `weir supports down to ${(1.106 / 2 ** (MAX_PRECISION / 2)).toFixed(4)} (2^${MAX_PRECISION} registers).`, 'INVALID_ARGUMENT');
  }
  return p;
}

/** 2^18 registers (256 KiB of state per group) bounds the memory a single aggregate may take. */
const MAX_PRECISION = 18;

/** Spark's default relative standard deviation (2^9 registers). */
export const DEFAULT_RSD = 0.05;
