import { QueryHealthStatus, StreamingQueryProgress, StreamingQueryStatus } from '../engine/progress.js';
import { sourceLag } from './query-view.js';

/** When a query counts as in trouble. Every field has a default (see {@link DEFAULT_HEALTH_THRESHOLDS}). */
export interface HealthThresholds {
  /** Stalled: data is available but no batch committed for this many trigger intervals… */
  readonly stalledTriggerIntervals: number;
  /** …and at least this long (the floor for triggers with a short or no interval). */
  readonly stalledAfterMs: number;
  /** Falling behind: input rate above processing rate, or source lag growing, over this many consecutive batches. */
  readonly fallingBehindBatches: number;
  /** Watermark stuck: batches with input keep coming but the watermark has not moved for this long. */
  readonly watermarkStuckAfterMs: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  stalledTriggerIntervals: 3, stalledAfterMs: 30_000, fallingBehindBatches: 5, watermarkStuckAfterMs: 5 * 60_000,
};

/** Everything the judgement looks at, gathered by the monitor from the query and its events. */
export interface HealthObservation {
  readonly isActive: boolean;
  /** `code: message` of the error the query stopped with. */
  readonly failure: string | null;
  readonly status: StreamingQueryStatus;
  readonly triggerIntervalMs: number;
  /** Wall-clock ms of the last committed batch, or of the start when none committed in this run. */
  readonly lastCommitAtMs: number;
  /** This run's progress records, oldest first (only the last few matter). */
  readonly recent: readonly StreamingQueryProgress[];
  /** When the watermark last moved (wall-clock ms), and how many batches with input ran since. */
  readonly watermarkMovedAtMs: number;
  readonly batchesWithInputSinceWatermarkMoved: number;
}

export interface HealthJudgement {
  readonly status: QueryHealthStatus;
  readonly reasons: readonly string[];
}

/**
 * A query's health: the most severe condition that holds (failed, stopped, stalled, falling-behind,
 * watermark-stuck), else idle or healthy. Reasons name every condition that holds, with the figures.
 */
export function judgeHealth(o: HealthObservation, nowMs: number, t: HealthThresholds): HealthJudgement {
  if (o.failure !== null) return { status: 'failed', reasons: [o.failure] };
  if (!o.isActive) return { status: 'stopped', reasons: [] };
  const found: { status: QueryHealthStatus; reason: string }[] = [];
  const stalledAfter = Math.max(t.stalledTriggerIntervals * o.triggerIntervalMs, t.stalledAfterMs);
  const sinceCommit = nowMs - o.lastCommitAtMs;
  if (o.status.isDataAvailable && sinceCommit >= stalledAfter) {
    found.push({ status: 'stalled', reason: `data is available but no batch committed for ${seconds(sinceCommit)} ` +
      `(threshold ${seconds(stalledAfter)}); the query is at: ${o.status.message}` });
  }
  const window = o.recent.slice(-t.fallingBehindBatches);
  if (window.length === t.fallingBehindBatches) {
    if (window.every((p) => p.numInputRows > 0 && p.inputRowsPerSecond > p.processedRowsPerSecond)) {
      const last = window[window.length - 1]!;
      found.push({ status: 'falling-behind', reason: `input rate above processing rate in the last ${window.length} ` +
        `batches (now ${last.inputRowsPerSecond} vs ${last.processedRowsPerSecond} rows/s)` });
    }
    const lags = o.recent.slice(-t.fallingBehindBatches - 1).map(totalLag);
    if (lags.length > t.fallingBehindBatches && lags.every((lag, i) => lag !== null && (i === 0 || lag > lags[i - 1]!))) {
      found.push({ status: 'falling-behind', reason: `source lag grew in each of the last ${t.fallingBehindBatches} ` +
        `batches (${lags[0]} -> ${lags[lags.length - 1]} records)` });
    }
  }
  const stuckFor = nowMs - o.watermarkMovedAtMs;
  const hasWatermark = o.recent.some((p) => p.eventTime['watermark'] !== undefined);
  if (hasWatermark && o.batchesWithInputSinceWatermarkMoved >= 2 && stuckFor >= t.watermarkStuckAfterMs) {
    found.push({ status: 'watermark-stuck', reason: `the watermark has not moved for ${seconds(stuckFor)} while ` +
      `${o.batchesWithInputSinceWatermarkMoved} batches with input ran (threshold ${seconds(t.watermarkStuckAfterMs)}): ` +
      'are the event times old, or is one source idle under the min policy?' });
  }
  if (found.length > 0) return { status: found[0]!.status, reasons: found.map((f) => f.reason) };
  return o.status.isDataAvailable || o.status.isTriggerActive ? { status: 'healthy', reasons: [] } : { status: 'idle', reasons: [] };
}

/** Sum of the sources' reported lag, or null when none reports one. */
function totalLag(progress: StreamingQueryProgress): number | null {
  const lags = progress.sources.map((s) => sourceLag(s.metrics)).filter((l): l is number => l !== null);
  return lags.length === 0 ? null : lags.reduce((a, b) => a + b, 0);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
