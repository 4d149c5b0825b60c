import { StateOperatorProgress } from '../physical.js';

/** One operator's state figures over its partitions: counts and bytes add up; partitions commit side by side, so the slowest counts. */
export function sumStateProgress(parts: readonly StateOperatorProgress[]): StateOperatorProgress {
  const sum = (field: Exclude<keyof StateOperatorProgress, 'operatorName'>): number => parts.reduce((n, s) => n + s[field], 0);
  return {
    operatorName: parts[0]!.operatorName, numRowsTotal: sum('numRowsTotal'), numRowsUpdated: sum('numRowsUpdated'),
    numRowsRemoved: sum('numRowsRemoved'), numRowsDroppedByWatermark: sum('numRowsDroppedByWatermark'),
    memoryUsedBytes: sum('memoryUsedBytes'), diskBytesUsed: sum('diskBytesUsed'),
    commitTimeMs: Math.max(...parts.map((s) => s.commitTimeMs)),
  };
}
