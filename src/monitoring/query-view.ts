import { StreamingQueryProgress, StreamingQueryStatus } from '../engine/progress.js';

/**
 * What the monitor reads of a running query. The session's StreamingQuery has this shape; the monitor
 * sits below the api layer, so it names the shape instead of importing the class.
 */
export interface MonitoredQuery {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  readonly isActive: boolean;
  readonly status: StreamingQueryStatus;
  readonly exception: { readonly code: string; readonly message: string; readonly cause?: unknown } | null;
  readonly lastProgress: StreamingQueryProgress | null;
}

/** The error code that says what went wrong: the cause's own code when the query wrapped one. */
export function rootErrorCode(error: { readonly code: string; readonly cause?: unknown }): string {
  const cause = error.cause;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') return cause.code;
  return error.code;
}

/** `progress.sink.numRejectedRows`, when the sink reports rows it refused. */
export function sinkRejectedRows(progress: StreamingQueryProgress): number {
  const sink: object = progress.sink;
  return 'numRejectedRows' in sink && typeof sink.numRejectedRows === 'number' ? sink.numRejectedRows : 0;
}

/** Now minus the batch's watermark in ms, or null when the query has no watermark. */
export function watermarkGapMs(progress: StreamingQueryProgress, nowMs: number): number | null {
  const watermark = progress.eventTime['watermark'];
  return watermark === undefined ? null : Math.max(0, nowMs - Date.parse(watermark));
}

/**
 * A source's backlog from its metrics: NATS and rate report `lag`, the HTTP source `backlog` (records
 * acknowledged to clients but not yet read by a batch); null when the source reports neither.
 */
export function sourceLag(metrics: Readonly<Record<string, number | string>>): number | null {
  const value = metrics['lag'] ?? metrics['backlog'];
  return typeof value === 'number' ? value : null;
}
