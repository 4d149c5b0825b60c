import { BatchConf } from '../checkpoint/offset-log.js';
import { EventTimeStats } from '../exec/physical.js';

/** Where the watermarks stand after recovery: what the next batch runs with, and what the last one ran with. */
export interface WatermarkPosition {
  readonly nextBatchMs: number;
  readonly lastBatchMs: number;
  /** Each `withWatermark` input's own watermark (empty: none recorded; all start at 0). */
  readonly operatorMs: readonly number[];
}

/** What committing a batch moves the watermarks to. */
export interface WatermarkAdvance {
  readonly nextBatchMs: number;
  readonly operatorMs: readonly number[];
}

/**
 * The event-time watermark of a query (Spark's `WatermarkTracker`): each `withWatermark` input moves to
 * max(previous, max event time − delay); the global one combines them by the logged policy and never
 * goes back. It changes only when a batch commits, so a re-run sees the watermark its offsets entry logged.
 */
export class WatermarkTracker {
  private nextBatchMs: number;
  private lastBatchMs: number;
  private operatorMs: readonly number[];

  constructor(private readonly delaysMs: readonly number[], private readonly policy: BatchConf['multipleWatermarkPolicy'],
    from: WatermarkPosition) {
    this.nextBatchMs = from.nextBatchMs;
    this.lastBatchMs = from.lastBatchMs;
    // A commit from a plan with another number of watermark inputs says nothing about this one's.
    this.operatorMs = from.operatorMs.length === delaysMs.length ? [...from.operatorMs] : delaysMs.map(() => 0);
  }

  /** The watermark the next planned batch runs with. */
  get nextBatchWatermarkMs(): number {
    return this.nextBatchMs;
  }

  /** The watermark the last batch ran with (what the next batch drops late rows by, see ExecContext). */
  get lastBatchWatermarkMs(): number {
    return this.lastBatchMs;
  }

  /** True when the watermark moved past the one the last batch ran with (a no-data batch may have work). */
  get movedSinceLastBatch(): boolean {
    return this.nextBatchMs > this.lastBatchMs;
  }

  /** The watermarks after a batch with these event times; nothing changes until {@link committed}. */
  advance(eventTimes: readonly EventTimeStats[]): WatermarkAdvance {
    if (this.delaysMs.length === 0) return { nextBatchMs: this.nextBatchMs, operatorMs: this.operatorMs };
    const operatorMs = this.operatorMs.map((previous, i) => {
      const stats = eventTimes[i]!;
      return stats.count === 0 ? previous : Math.max(previous, stats.max - this.delaysMs[i]!);
    });
    const combine = this.policy === 'max' ? Math.max : Math.min;
    return { nextBatchMs: Math.max(this.nextBatchMs, combine(...operatorMs)), operatorMs };
  }

  /** The batch that ran with `batchWatermarkMs` committed `advance`. */
  committed(batchWatermarkMs: number, advance: WatermarkAdvance): void {
    this.lastBatchMs = batchWatermarkMs;
    this.nextBatchMs = advance.nextBatchMs;
    this.operatorMs = advance.operatorMs;
  }
}
