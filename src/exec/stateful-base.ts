import { PrefixedStorage } from '../checkpoint/prefixed-storage.js';
import { Schema } from '../common/schema.js';
import { OutputMode } from '../common/output-mode.js';
import { compareStateKeys, StateFollower, StateKey, StateStore, StateStoreMetrics, StateStoreOptions, StateValueCodec } from '../state/state-store.js';
import { ExecContext, PhysicalOperator, StatefulOperator, StateOpening, StateOperatorProgress, StateSetup } from './physical.js';

/**
 * The two watermarks a stateful operator works with in one batch (Spark 3.5's propagation): rows at
 * or below `lateMs` are dropped as late, state at or below `evictMs` is evicted (and, in append
 * mode, emitted).
 */
export interface OperatorWatermarks { readonly lateMs: number; readonly evictMs: number }

/** Rows an operator counts itself where its stores' key counts say less (a join buffers several rows per key). */
export interface StateRowCounts { readonly total: number; readonly updated: number; readonly removed: number }

/**
 * The state handling every stateful operator shares: its stores' life (open, commit, abort,
 * retention, close), their metrics, late-row counting and watermark eviction in one key order.
 * An operator keeps one store in its folder, or several in named sub-folders (a join: `left`, `right`).
 */
export abstract class StatefulBase<V> extends PhysicalOperator implements StatefulOperator {
  private stores: StateStore<V>[] = [];
  /** A standby's warm copies (see follow()), until open() takes them over. */
  private followers: { readonly copies: StateFollower<V>[]; readonly partitions: number } | null = null;
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

  async open(setup: StateSetup): Promise<StateOpening> {
    const followers = this.followers;
    this.followers = null;
    const samePartitions = followers === null || followers.partitions === setup.numPartitions;
    const taken = followers && samePartitions ? await Promise.all(followers.copies.map((f) => f.takeOver(setup.version))) : [];
    const coldReason = samePartitions ? taken.find((t) => t.store === null)?.reason
      : `the warm copy has ${followers.partitions} partitions, the checkpoint ${setup.numPartitions}`;
    // Each store over its warm copy when that copy was right, loaded from the checkpoint otherwise.
    this.stores = await Promise.all(this.storeOptions(setup).map((options, i) => taken[i]?.store ?? setup.provider.open(options)));
    return {
      warm: taken.length > 0 && coldReason === undefined, rows: this.stores.reduce((n, s) => n + s.size, 0),
      ...(coldReason !== undefined ? { coldReason } : {}),
    };
  }

  async follow(setup: StateSetup): Promise<boolean> {
    const { provider } = setup;
    if (!provider.follow) return false;
    const copies = await Promise.all(this.storeOptions(setup).map((options) => provider.follow!(options)));
    this.followers = { copies, partitions: setup.numPartitions };
    return true;
  }

  async advanceFollowers(version: number): Promise<void> {
    await Promise.all((this.followers?.copies ?? []).map((f) => f.advanceTo(version)));
  }

  followedRows(): number {
    return (this.followers?.copies ?? []).reduce((n, f) => n + f.size, 0);
  }

  private storeOptions(setup: StateSetup): StateStoreOptions<V>[] {
    const eventTimeOf = this.hasEventTime ? this.stateEventTime() : undefined;
    return this.storeFolders.map((folder) => ({
      storage: folder === '' ? setup.storage : new PrefixedStorage(setup.storage, folder),
      numPartitions: setup.numPartitions, version: setup.version, codec: this.codec, snapshotInterval: setup.snapshotInterval,
      ...(eventTimeOf ? { eventTimeOf } : {}),
    }));
  }

  /**
   * The event time a state value is evicted by, given to the stores when they open: a store that keeps
   * an index by it (the lmdb store) evicts without reading every key. Undefined: the operator evicts by scan.
   */
  protected stateEventTime(): ((value: V) => number) | undefined {
    return undefined;
  }

  /**
   * This batch's watermarks as this operator sees them. Spark 3.5 propagates the global watermark
   * through the plan (each operator's input watermark is the lowest its inputs' output watermarks) and
   * filters late rows by the previous batch's propagated value, evicting by the current one, so rows
   * an upstream operator emits in the batch that evicts them are never late downstream.
   *
   * One departure, from weir's millisecond timestamps: Spark gives a window's event time as its end
   * minus 1 µs, weir as its end minus 1 ms (`window_time`). A window emitted upstream can then carry an
   * event time equal to the previous watermark where Spark's is 999 µs above it; so rows of an input fed
   * by another stateful operator are dropped only when their time is below, not at, the late watermark.
   * No other row such an input carries sits exactly there (an upstream operator emits only rows above its
   * own watermark); rows straight from a source keep Spark's rule. `input` is the child the rows come from.
   */
  protected operatorWatermarks(ctx: ExecContext, input = 0): OperatorWatermarks {
    const lateMs = this.inputWatermarkMs(ctx.previousWatermarkMs);
    const child = this.children[input];
    return { lateMs: child && emitsStatefulOutput(child) ? lateMs - 1 : lateMs, evictMs: this.inputWatermarkMs(ctx.watermarkMs) };
  }

  /** Spark's input watermark of a stateful operator: 0 while the global one is 0, never negative. */
  private inputWatermarkMs(globalMs: number): number {
    if (globalMs === 0) return 0;
    return Math.max(0, super.outputWatermarkMs(globalMs) ?? 0);
  }

  override outputWatermarkMs(globalMs: number): number | null {
    const input = super.outputWatermarkMs(globalMs);
    return input === null ? null : this.produceOutputWatermark(input);
  }

  /**
   * The watermark of the rows this operator emits, given its input watermark. Its own: every operator
   * emits rows at or above its input watermark (an aggregation emits a window once the watermark passes
   * its end); a join overrides it, since it keeps rows below the watermark that can still match.
   */
  protected produceOutputWatermark(inputMs: number): number | null {
    return inputMs;
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
    return sortByKey(found);
  }

  /** Removes every entry whose event time is at or below the watermark; returns them. */
  protected evict(watermarkMs: number, eventTimeOf: (value: V) => number): V[] {
    // Late rows are dropped before they reach state, so nothing new can fall below an unchanged watermark.
    if (watermarkMs <= this.lastEvictionWatermarkMs) return [];
    this.lastEvictionWatermarkMs = watermarkMs;
    const store = this.store;
    // A store with an event-time index removes exactly the due entries, in key order, without a scan.
    if (store.removeAtOrBelow && this.hasEventTime && this.stateEventTime()) return store.removeAtOrBelow(watermarkMs).map(([, value]) => value);
    const evicted = this.dueByIndex(watermarkMs) ?? this.dueEntries(store, (value) => eventTimeOf(value) <= watermarkMs);
    for (const [key] of evicted) store.remove(key);
    return evicted.map(([, value]) => value);
  }

  /**
   * The entries at or below the watermark, in key order, taken from an index the operator keeps of its
   * state by event time (and dropped from it); null: the operator keeps none, and eviction scans the store.
   */
  protected dueByIndex(_watermarkMs: number): [StateKey, V][] | null {
    return null;
  }
}

/** Units from which UTF-16 order differs from UTF-8 order (surrogates sort below U+E000 in UTF-16, above it in UTF-8). */
const HIGH_UNIT = /[\uD800-\uFFFF]/;

/**
 * `entries` sorted by key in {@link compareStateKeys} order. Distinct string keys with no unit from
 * U+D800 up (the usual case) sort by JavaScript's own comparison, which gives that order at a test per
 * key instead of two per comparison.
 */
export function sortByKey<T extends readonly [StateKey, ...unknown[]]>(entries: T[]): T[] {
  const plainText = entries.every(([key]) => typeof key === 'string' && !HIGH_UNIT.test(key));
  return entries.sort(plainText ? (a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1) : (a, b) => compareStateKeys(a[0], b[0]));
}

/** True when `op`'s rows come from a stateful operator (it is one, or one is below it). */
function emitsStatefulOutput(op: PhysicalOperator): boolean {
  return op instanceof StatefulBase || op.children.some(emitsStatefulOutput);
}

/** The identity codec: state values that are plain data already. */
export function jsonCodec<V>(): StateValueCodec<V> {
  return { encode: (v) => v, decode: (d) => d as V };
}
