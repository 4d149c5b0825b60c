import { EventTimeStats, StatefulOperator } from '../exec/physical.js';
import { ListenerBus, OperatorProgress, SourceProgress, StreamingQueryProgress, TakeoverReport } from './progress.js';

export interface QueryIdentity {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
}

/** What one committed batch reports. */
export interface BatchFigures {
  readonly batchId: number;
  readonly batchWatermarkMs: number;
  /** When its trigger started (epoch ms). */
  readonly triggerStartMs: number;
  readonly durationsMs: Readonly<Record<string, number>>;
  readonly sources: readonly SourceProgress[];
  /** One entry per `withWatermark` input. */
  readonly eventTimes: readonly EventTimeStats[];
  readonly numOutputRows: number;
  /** The sink's own figures for the batch (e.g. `numRejectedRows`). */
  readonly sinkMetrics: Readonly<Record<string, number>>;
  readonly operators: readonly OperatorProgress[];
}

/**
 * Turns committed batches into `StreamingQueryProgress` objects (Spark's `ProgressReporter`): keeps the
 * recent ones, computes rates between triggers, and posts progress and idle events to the listeners.
 */
export class ProgressReporter {
  readonly recentProgress: StreamingQueryProgress[] = [];
  private lastTriggerStartMs = 0;
  private idleReported = false;
  /** Reported with the next batch's progress (the run's first after a takeover). */
  private pendingTakeover: TakeoverReport | null = null;

  constructor(private readonly query: QueryIdentity, private readonly listeners: ListenerBus,
    private readonly recentProgressSize: number, private readonly stateful: readonly StatefulOperator[],
    private readonly sinkDescription: string, private readonly hasWatermark: boolean) {}

  batchCommitted(batch: BatchFigures): void {
    this.idleReported = false;
    const numInputRows = batch.sources.reduce((n, s) => n + s.numInputRows, 0);
    const sinceLast = this.lastTriggerStartMs > 0 ? (batch.triggerStartMs - this.lastTriggerStartMs) / 1000 : 0;
    this.lastTriggerStartMs = batch.triggerStartMs;
    const seconds = (batch.durationsMs['triggerExecution'] ?? 0) / 1000;
    const rate = (rows: number, s: number): number => (s > 0 ? Math.round((rows / s) * 10) / 10 : 0);
    const progress: StreamingQueryProgress = {
      id: this.query.id, runId: this.query.runId, name: this.query.name, timestamp: new Date(batch.triggerStartMs).toISOString(),
      batchId: batch.batchId, numInputRows, inputRowsPerSecond: rate(numInputRows, sinceLast),
      processedRowsPerSecond: rate(numInputRows, seconds),
      durationMs: Object.fromEntries(Object.entries(batch.durationsMs).map(([k, v]) => [k, Math.round(v)])),
      eventTime: this.eventTime(batch), stateOperators: this.stateful.map((op) => op.progress()),
      sources: batch.sources.map((s) => ({
        ...s, inputRowsPerSecond: rate(s.numInputRows, sinceLast), processedRowsPerSecond: rate(s.numInputRows, seconds),
      })),
      sink: { description: this.sinkDescription, numOutputRows: batch.numOutputRows, metrics: batch.sinkMetrics },
      operators: batch.operators,
      ...(this.pendingTakeover ? { takeover: this.pendingTakeover } : {}),
    };
    this.pendingTakeover = null;
    this.recentProgress.push(progress);
    if (this.recentProgress.length > this.recentProgressSize) this.recentProgress.shift();
    this.listeners.post('onQueryProgress', { progress });
  }

  tookOver(report: TakeoverReport): void {
    this.pendingTakeover = report;
  }

  /** A trigger found nothing to do: posts `onQueryIdle` once per idle stretch. */
  triggerIdle(): void {
    if (this.idleReported) return;
    this.idleReported = true;
    this.listeners.post('onQueryIdle', { id: this.query.id, runId: this.query.runId, timestamp: new Date().toISOString() });
  }

  private eventTime(batch: BatchFigures): Record<string, string> {
    const eventTime: Record<string, string> = {};
    if (!this.hasWatermark) return eventTime;
    eventTime['watermark'] = new Date(batch.batchWatermarkMs).toISOString();
    const seen = batch.eventTimes.filter((s) => s.count > 0);
    if (seen.length > 0) {
      const count = seen.reduce((n, s) => n + s.count, 0);
      eventTime['min'] = new Date(Math.min(...seen.map((s) => s.min))).toISOString();
      eventTime['max'] = new Date(Math.max(...seen.map((s) => s.max))).toISOString();
      eventTime['avg'] = new Date(Math.round(seen.reduce((n, s) => n + s.sum, 0) / count)).toISOString();
    }
    return eventTime;
  }
}
