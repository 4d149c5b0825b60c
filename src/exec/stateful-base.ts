import { PrefixedStorage } from '../checkpoint/prefixed-storage.js';
import { Schema } from '../common/schema.js';
import { OutputMode } from '../common/output-mode.js';
import { compareStateKeys, StateKey, StateStore, StateStoreMetrics, StateValueCodec } from '../state/state-store.js';
import { PhysicalOperator, StatefulOperator, StateOperatorProgress, StateSetup } from './physical.js';

/** Rows an operator counts itself where its stores' key counts say less (a join buffers several rows per key). */
export interface StateRowCounts { readonly total: number; readonly updated: number; readonly removed: number }

/**
 * The state handling every stateful operator shares: its stores' life (open, commit, abort,
 * retention, close), their metrics, late-row counting and watermark eviction in one key order.
 * An operator keeps one store in its folder, or several in named sub-folders (a join: `left`, `right`).
 */
export abstract class StatefulBase<V> extends PhysicalOperator implements StatefulOperator {
  private stores: StateStore<V>[] = [];
  /** Rows dropped as late in the current batch. */
  protected droppedByWatermark = 0;
  private lastEvictionWatermarkMs = -Infinity;

  protected constructor(readonly operatorName: string, schema: Schema, children: readonly PhysicalOperator[],
    private readonly codec: StateValueCodec<V>,
    /** True when the operator has an event-time column to drop late rows and evict by. */
    protected readonly hasEventTime: boolean,
    /** One sub-folder per store; [''] keeps one store in the operator's folder itself. */
    private readonly storeFolders: readonly string[] = ['']) {
    super(schema, children);
  }

  /** The store of this batch (the i-th of the operator's folders). */
  protected storeAt(i: number): StateStore<V> {
    return this.stores[i]!;
  }

  protected get store(): StateStore<V> {
    return this.stores[0]!;
  }

  async open(setup: StateSetup): Promise<void> {
    const eventTimeOf = this.hasEventTime ? this.stateEventTime() : undefined;
    this.stores = await Promise.all(this.storeFolders.map((folder) => setup.provider.open({
      storage: folder === '' ? setup.storage : new PrefixedStorage(setup.storage, folder),
      numPartitions: setup.numPartitions, version: setup.version, codec: this.codec, snapshotInterval: setup.snapshotInterval,
      ...(eventTimeOf ? { eventTimeOf } : {}),
    })));
  }

  /**
   * The event time a state value is evicted by, given to the stores when they open: a store that keeps
   * an index by it (the lmdb store) evicts without reading every key. Undefined: the operator evicts by scan.
   */
  protected stateEventTime(): ((value: V) => number) | undefined {
    return undefined;
  }

  async commit(): Promise<void> {
    await Promise.all(this.stores.map((s) => s.commit()));
    this.stores = this.stores.map((s) => s.next());
  }

  async abort(): Promise<void> {
    await Promise.all(this.stores.map((s) => s.abort()));
  }

  progress(): StateOperatorProgress {
    const metrics = this.stores.map((s) => s.metrics());
    const sum = (field: keyof StateStoreMetrics): number => metrics.reduce((n, m) => n + m[field], 0);
    const rows = this.stateRowCounts() ?? {
      total: sum('numRowsTotal'), updated: sum('numRowsUpdated'), removed: sum('numRowsRemoved'),
    };
    return {
      operatorName: this.operatorName, numRowsTotal: rows.total, numRowsUpdated: rows.updated,
      numRowsRemoved: rows.removed, numRowsDroppedByWatermark: this.droppedByWatermark,
      memoryUsedBytes: sum('memoryUsedBytes'), diskBytesUsed: sum('diskBytesUsed'), commitTimeMs: sum('commitTimeMs'),
    };
  }

  override stateProgress(): StateOperatorProgress {
    return this.progress();
  }

  /** The operator's own row counts, when its stores' key counts are not its rows; null: the stores'. */
  protected stateRowCounts(): StateRowCounts | null {
    return null;
  }

  async purgeBefore(version: number): Promise<void> {
    await Promise.all(this.stores.map((s) => s.purgeBefore(version)));
  }

  async close(): Promise<void> {
    await Promise.all(this.stores.map((s) => s.close()));
  }

  evictsByWatermark(outputMode: OutputMode): boolean {
    return this.hasEventTime && outputMode !== 'complete';
  }

  /**
   * The entries of `store` that `due` selects, in key order: a re-run of a batch must emit the same
   * rows in the same order (the NATS sink de-duplicates by row index), but a map's order depends on its
   * history (a restart loads it partition by partition).
   */
  protected dueEntries(store: StateStore<V>, due: (value: V) => boolean): [StateKey, V][] {
    const found: [StateKey, V][] = [];
    for (const entry of store.entries()) if (due(entry[1])) found.push(entry);
    return found.sort((a, b) => compareStateKeys(a[0], b[0]));
  }

  /** Removes every entry whose event time is at or below the watermark; returns them. */
  protected evict(watermarkMs: number, eventTimeOf: (value: V) => number): V[] {
    // Late rows are dropped before they reach state, so nothing new can fall below an unchanged watermark.
    if (watermarkMs <= this.lastEvictionWatermarkMs) return [];
    this.lastEvictionWatermarkMs = watermarkMs;
    const store = this.store;
    // A store with an event-time index removes exactly the due entries, in key order, without a scan.
    if (store.removeAtOrBelow && this.hasEventTime && this.stateEventTime()) return store.removeAtOrBelow(watermarkMs).map(([, value]) => value);
    const evicted = this.dueEntries(store, (value) => eventTimeOf(value) <= watermarkMs);
    for (const [key] of evicted) this.store.remove(key);
    return evicted.map(([, value]) => value);
  }
}

/** The identity codec: state values that are plain data already. */
export function jsonCodec<V>(): StateValueCodec<V> {
  return { encode: (v) => v, decode: (d) => d as V };
}
