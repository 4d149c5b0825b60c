import { SnapshotSchedule } from './snapshot-writer.js';
import { discardVersionsAfter, loadPartition, purgeStateFiles, writeDeltas } from './state-files.js';
import { StateKey, StateStore, StateStoreMetrics, StateStoreOptions, StateStoreProvider } from './state-store.js';

/**
 * The default provider: state lives in a Map, and each commit writes only the keys the batch
 * changed (one delta file per partition), so commit cost follows the batch, not the state size.
 * Snapshots are rebuilt from the files every `snapshotInterval` versions, never from the live map
 * (so they cost the batch loop no copying), in a worker thread when the checkpoint is local.
 */
export const inMemoryStateProvider: StateStoreProvider = {
  name: 'memory',
  async open<V>(options: StateStoreOptions<V>): Promise<StateStore<V>> {
    await discardVersionsAfter(options.storage, options.numPartitions, options.version);
    const map = new Map<StateKey, V>();
    for (let p = 0; p < options.numPartitions; p++) {
      await loadPartition(options.storage, p, options.version, map, options.codec.decode);
    }
    return new InMemoryStateStore(options, map);
  },
};

class InMemoryStateStore<V> implements StateStore<V> {
  private readonly changed = new Set<StateKey>();
  private readonly removed = new Set<StateKey>();
  private lastMetrics: StateStoreMetrics;
  private readonly snapshots: SnapshotSchedule;
  private currentVersion: number;

  constructor(private readonly options: StateStoreOptions<V>, private readonly map: Map<StateKey, V>) {
    this.currentVersion = options.version;
    this.snapshots = new SnapshotSchedule(options.storage, options.numPartitions, options.snapshotInterval);
    this.lastMetrics = this.measure(0, 0, 0);
  }

  get version(): number { return this.currentVersion; }
  get size(): number { return this.map.size; }

  get(key: StateKey): V | undefined {
    return this.map.get(key);
  }

  put(key: StateKey, value: V): void {
    this.map.set(key, value);
    this.changed.add(key);
    this.removed.delete(key);
  }

  remove(key: StateKey): void {
    if (!this.map.delete(key)) return;
    this.changed.delete(key);
    this.removed.add(key);
  }

  entries(): IterableIterator<[StateKey, V]> {
    return this.map.entries();
  }

  async commit(): Promise<void> {
    const started = performance.now();
    const version = this.currentVersion + 1;
    const { numPartitions, codec, storage } = this.options;
    const changed = [...this.changed].map((key): [StateKey, unknown] => [key, codec.encode(this.map.get(key)!)]);
    await writeDeltas(storage, numPartitions, version, changed, this.removed);
    this.lastMetrics = this.measure(this.changed.size, this.removed.size, performance.now() - started);
    this.changed.clear();
    this.removed.clear();
    this.currentVersion = version;
    this.snapshots.committed(version);
  }

  metrics(): StateStoreMetrics {
    return this.lastMetrics;
  }

  async purgeBefore(version: number): Promise<void> {
    await this.snapshots.idle();
    await purgeStateFiles(this.options.storage, this.options.numPartitions, version);
  }

  async close(): Promise<void> {
    await this.snapshots.idle();
  }

  private measure(updated: number, removed: number, commitTimeMs: number): StateStoreMetrics {
    return {
      numRowsTotal: this.map.size, numRowsUpdated: updated, numRowsRemoved: removed,
      memoryUsedBytes: estimateMemory(this.map), commitTimeMs: Math.round(commitTimeMs),
    };
  }
}

/** Bytes held, estimated from a sample of entries (exact accounting would cost a walk of the whole map). */
function estimateMemory(map: Map<StateKey, unknown>): number {
  if (map.size === 0) return 0;
  let sampled = 0;
  let bytes = 0;
  for (const [key, value] of map) {
    bytes += 64 + (typeof key === 'string' ? key.length * 2 : 8) + (JSON.stringify(value)?.length ?? 8) * 2;
    if (++sampled === 64) break;
  }
  return Math.round((bytes / sampled) * map.size);
}

