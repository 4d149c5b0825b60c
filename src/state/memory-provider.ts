import { StateStorePaths } from '../checkpoint/layout.js';
import { WeirError } from '../common/errors.js';
import { MapStateFollower } from './map-follower.js';
import { SnapshotSchedule } from './snapshot-writer.js';
import { discardVersionsAfter, loadPartition, purgeStateFiles, refuseOldKeyFormat, writeDeltas } from './state-files.js';
import { StateFollower, StateKey, StateStore, StateStoreMetrics, StateStoreOptions, StateStoreProvider, StateStoreStatus } from './state-store.js';

/**
 * The default provider: state lives in a Map, and each commit writes only the keys the batch
 * changed (one delta file per partition), so commit cost follows the batch, not the state size.
 * Snapshots are rebuilt from the files every `snapshotInterval` versions, never from the live map
 * (so they cost the batch loop no copying), in a worker thread when the checkpoint is local.
 */
export const inMemoryStateProvider: StateStoreProvider = {
  name: 'memory',
  async open<V>(options: StateStoreOptions<V>): Promise<StateStore<V>> {
    const { storage, numPartitions, version } = options;
    // A re-run of the batches after `version` must not meet files (say a snapshot) from their first run.
    await discardVersionsAfter(storage, numPartitions, version);
    const map = new Map<StateKey, V>();
    const formats: (number | null)[] = [];
    for (let p = 0; p < numPartitions; p++) formats.push(await loadPartition(storage, p, version, map, options.codec.decode));
    refuseOldKeyFormat(formats, map.size, storage, version);
    return new InMemoryStateStore(new LoadedState(options, map), version);
  },
  follow<V>(options: StateStoreOptions<V>): Promise<StateFollower<V>> {
    return MapStateFollower.start(options, (map, version) => new InMemoryStateStore(new LoadedState(options, map), version));
  },
};

/** What the stores of one operator's successive versions share: the map, the snapshot schedule, the last figures. */
class LoadedState<V> {
  lastMetrics: StateStoreMetrics;
  readonly snapshots: SnapshotSchedule;
  /** Set by an abort: the map holds changes that are not in any version. */
  discarded = false;

  constructor(readonly options: StateStoreOptions<V>, readonly map: Map<StateKey, V>) {
    this.lastMetrics = measure(map, 0, 0, 0);
    this.snapshots = new SnapshotSchedule(options.storage, options.numPartitions, options.snapshotInterval);
  }
}

class InMemoryStateStore<V> implements StateStore<V> {
  readonly liveValues = true;
  /** The keys put in this batch with their values, so the commit encodes them without looking each up again. */
  private readonly changed = new Map<StateKey, V>();
  /** Values changed in place (markChanged): a list, since the caller marks each key once; the commit skips those removed since. */
  private readonly marked: [StateKey, V][] = [];
  private readonly removed = new Set<StateKey>();
  private currentStatus: StateStoreStatus = 'updating';
  /** The commit in flight or done (abort waits for it); null until commit() is called. */
  private committing: Promise<void> | null = null;

  constructor(private readonly loaded: LoadedState<V>, readonly version: number) {}

  get status(): StateStoreStatus { return this.currentStatus; }
  get size(): number { return this.readable('size').size; }

  get(key: StateKey): V | undefined {
    return this.readable('get').get(key);
  }

  put(key: StateKey, value: V): void {
    this.updatable('put');
    this.loaded.map.set(key, value);
    this.changed.set(key, value);
    // Removals come after the puts in most batches (eviction follows the merge): skip the lookup then.
    if (this.removed.size > 0) this.removed.delete(key);
  }

  markChanged(key: StateKey, value: V): void {
    this.updatable('markChanged');
    this.marked.push([key, value]);
  }

  remove(key: StateKey): void {
    this.updatable('remove');
    if (!this.loaded.map.delete(key)) return;
    this.changed.delete(key);
    this.removed.add(key);
  }

  entries(): IterableIterator<[StateKey, V]> {
    return this.readable('entries').entries();
  }

  async commit(): Promise<void> {
    this.updatable('commit');
    if (this.committing) throw this.lifecycleError('commit', 'already attempted a commit (after one that failed, abort)');
    this.committing = this.write();
    await this.committing;
    this.currentStatus = 'committed';
  }

  private async write(): Promise<void> {
    const started = performance.now();
    const version = this.version + 1;
    const { map, options } = this.loaded;
    const { numPartitions, codec, storage } = options;
    const changed: [StateKey, unknown][] = [];
    for (const [key, value] of this.marked) if (!this.removed.has(key)) changed.push([key, codec.encode(value)]);
    for (const [key, value] of this.changed) changed.push([key, codec.encode(value)]);
    await writeDeltas(storage, numPartitions, version, changed, this.removed);
    this.loaded.lastMetrics = measure(map, changed.length, this.removed.size, performance.now() - started);
    this.loaded.snapshots.committed(version);
  }

  async abort(): Promise<void> {
    const commitAttempted = this.committing !== null;
    if (this.committing) await this.committing.catch(() => undefined);
    if (this.currentStatus !== 'updating') return;
    this.currentStatus = 'aborted';
    // Changes were made in place, so the map no longer matches any version: drop it (a new open reloads).
    this.loaded.discarded = true;
    this.loaded.map.clear();
    if (commitAttempted) {
      const { storage, numPartitions } = this.loaded.options;
      for (let p = 0; p < numPartitions; p++) await storage.delete(StateStorePaths.delta(p, this.version + 1));
    }
  }

  next(): StateStore<V> {
    if (this.currentStatus !== 'committed') throw this.lifecycleError('next', 'has not committed');
    return new InMemoryStateStore(this.loaded, this.version + 1);
  }

  metrics(): StateStoreMetrics {
    return this.loaded.lastMetrics;
  }

  async purgeBefore(version: number): Promise<void> {
    await this.loaded.snapshots.idle();
    await purgeStateFiles(this.loaded.options.storage, this.loaded.options.numPartitions, version);
  }

  async close(): Promise<void> {
    await this.loaded.snapshots.idle();
  }

  private updatable(operation: string): void {
    if (this.currentStatus !== 'updating') throw this.lifecycleError(operation, `is ${this.currentStatus}`);
  }

  private readable(operation: string): Map<StateKey, V> {
    if (this.loaded.discarded) throw this.lifecycleError(operation, 'was aborted (its changes were discarded)');
    return this.loaded.map;
  }

  private lifecycleError(operation: string, why: string): WeirError {
    const { storage } = this.loaded.options;
    return new WeirError('STATE_STORE_LIFECYCLE', `Cannot ${operation} the state store of ${storage.description} ` +
      `(version ${this.version} -> ${this.version + 1}): it ${why}. A store takes changes until commit() or abort(); ` +
      'the next batch uses next() after a commit, or a new open() after an abort.');
  }
}

function measure(map: Map<StateKey, unknown>, updated: number, removed: number, commitTimeMs: number): StateStoreMetrics {
  return {
    numRowsTotal: map.size, numRowsUpdated: updated, numRowsRemoved: removed,
    memoryUsedBytes: estimateMemory(map), diskBytesUsed: 0, commitTimeMs: Math.round(commitTimeMs),
  };
}

/** A live value may hold a bigint (a decimal sum's running unscaled value), which JSON cannot write by itself. */
function bigintAsText(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** Bytes held, estimated from a sample of entries (exact accounting would cost a walk of the whole map). */
function estimateMemory(map: Map<StateKey, unknown>): number {
  if (map.size === 0) return 0;
  let sampled = 0;
  let bytes = 0;
  for (const [key, value] of map) {
    bytes += 64 + (typeof key === 'string' ? key.length * 2 : 8) + (JSON.stringify(value, bigintAsText)?.length ?? 8) * 2;
    if (++sampled === 64) break;
  }
  return Math.round((bytes / sampled) * map.size);
}

