import { OutputMode } from '../common/output-mode.js';
import { compareStateKeys, StateKey, StateStore, StateValueCodec } from '../state/state-store.js';
import { StateOperatorProgress, StateSetup } from './physical.js';

/** The state handling every stateful operator shares: open, commit, metrics, retention. */
export abstract class StatefulBase<V> {
  protected store!: StateStore<V>;
  /** Rows dropped as late in the current batch. */
  protected droppedByWatermark = 0;
  private lastEvictionWatermarkMs = -Infinity;

  protected constructor(readonly operatorName: string, private readonly codec: StateValueCodec<V>,
    /** True when the operator has an event-time column to drop late rows and evict by. */
    protected readonly hasEventTime: boolean) {}

  async open(setup: StateSetup): Promise<void> {
    this.store = await setup.provider.open({
      storage: setup.storage, numPartitions: setup.numPartitions, version: setup.version, codec: this.codec,
      snapshotInterval: setup.snapshotInterval,
    });
  }

  async commit(): Promise<void> {
    await this.store.commit();
  }

  progress(): StateOperatorProgress {
    const m = this.store.metrics();
    return {
      operatorName: this.operatorName, numRowsTotal: m.numRowsTotal, numRowsUpdated: m.numRowsUpdated,
      numRowsRemoved: m.numRowsRemoved, numRowsDroppedByWatermark: this.droppedByWatermark,
      memoryUsedBytes: m.memoryUsedBytes, commitTimeMs: m.commitTimeMs,
    };
  }

  purgeBefore(version: number): Promise<void> {
    return this.store.purgeBefore(version);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  evictsByWatermark(outputMode: OutputMode): boolean {
    return this.hasEventTime && outputMode !== 'complete';
  }

  /** Removes every entry whose event time is at or below the watermark; returns them. */
  protected evict(watermarkMs: number, eventTimeOf: (value: V) => number): V[] {
    // Late rows are dropped before they reach state, so nothing new can fall below an unchanged watermark.
    if (watermarkMs <= this.lastEvictionWatermarkMs) return [];
    this.lastEvictionWatermarkMs = watermarkMs;
    const evicted: [StateKey, V][] = [];
    for (const entry of this.store.entries()) {
      if (eventTimeOf(entry[1]) <= watermarkMs) evicted.push(entry);
    }
    // A re-run of a batch must emit the same rows in the same order (the NATS sink de-duplicates by row
    // index), but the map's order depends on its history: a restart loads it partition by partition.
    evicted.sort((a, b) => compareStateKeys(a[0], b[0]));
    for (const [key] of evicted) this.store.remove(key);
    return evicted.map(([, value]) => value);
  }
}

/** The identity codec: state values that are JSON data already. */
export function jsonCodec<V>(): StateValueCodec<V> {
  return { encode: (v) => v, decode: (d) => d as V };
}
