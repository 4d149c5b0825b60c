/**
 * The hand-written baseline of W2/W3/W8: what a skilled Node engineer writes for "count and sum
 * per key per 1 s tumbling window, emit a window once the watermark passes it", with no durability.
 * Windows are a Map of Maps, so closing a window drops one entry instead of scanning every key.
 */

/** One closed window's result for one key; the same shape as weir's output rows. */
export type WindowResult = { window: { start: number; end: number }; key: string; count: number; sum: number };

interface Acc { count: number; sum: number }

export class HandWindowAggregator {
  private readonly windows = new Map<number, Map<string, Acc>>();
  private maxTs = -Infinity;
  private watermark = 0;
  dropped = 0;

  constructor(private readonly sizeMs: number, private readonly delayMs: number) {}

  add(ts: number, key: string, value: number): void {
    if (ts > this.maxTs) this.maxTs = ts;
    const start = ts - (((ts % this.sizeMs) + this.sizeMs) % this.sizeMs);
    if (start + this.sizeMs <= this.watermark) {
      this.dropped++;
      return;
    }
    let window = this.windows.get(start);
    if (window === undefined) {
      window = new Map();
      this.windows.set(start, window);
    }
    const acc = window.get(key);
    if (acc === undefined) window.set(key, { count: 1, sum: value });
    else {
      acc.count++;
      acc.sum += value;
    }
  }

  /** Ends a batch: moves the watermark and emits (then forgets) every window it closed. */
  endBatch(emit: (row: WindowResult) => void): void {
    this.watermark = Math.max(this.watermark, this.maxTs - this.delayMs);
    for (const [start, window] of this.windows) {
      if (start + this.sizeMs > this.watermark) continue;
      this.emitWindow(start, window, emit);
      this.windows.delete(start);
    }
  }

  /** Emits every window, closed or not (a batch recompute over all data). */
  emitAll(emit: (row: WindowResult) => void): void {
    for (const [start, window] of this.windows) this.emitWindow(start, window, emit);
  }

  private emitWindow(start: number, window: Map<string, Acc>, emit: (row: WindowResult) => void): void {
    const bounds = { start, end: start + this.sizeMs };
    for (const [key, acc] of window) emit({ window: bounds, key, count: acc.count, sum: acc.sum });
  }
}
