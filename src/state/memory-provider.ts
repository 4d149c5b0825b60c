import { StateStorePaths } from '../checkpoint/layout.js';
import { writeSnapshotsInBackground } from './snapshot-writer.js';
import { encodeDelta, listStateFiles, loadPartition, StateRecord } from './state-files.js';
import {
  partitionOf, StateKey, StateStore, StateStoreMetrics, StateStoreOptions, StateStoreProvider,
} from './state-store.js';

/**
 * The default provider: state lives in a Map, and each commit writes only the keys the batch
 * changed (one delta file per partition), so commit cost follows the batch, not the state size.
 * Snapshots are rebuilt from the files every `snapshotInterval` versions, never from the live map
 * (so they cost the batch loop no copying), in a worker thread when the checkpoint is local.
 */
export const inMemoryStateProvider: StateStoreProvider = {
  name: 'memory',
  async open<V>(options: StateStoreOptions<V>): Promise<StateStore<V>> {
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
  private maintenance: Promise<void> = Promise.resolve();
  private currentVersion: number;

  constructor(private readonly options: StateStoreOptions<V>, private readonly map: Map<StateKey, V>) {
    this.currentVersion = options.version;
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
    const byPartition: StateRecord[][] = Array.from({ length: numPartitions }, () => []);
    for (const key of this.changed) byPartition[partitionOf(key, numPartitions)]!.push([key, codec.encode(this.map.get(key)!)]);
    for (const key of this.removed) byPartition[partitionOf(key, numPartitions)]!.push([key]);
    // Every partition gets a delta, empty or not, so a missing file is always detectable.
    await Promise.all(byPartition.map((records, p) => storage.writeAtomic(StateStorePaths.delta(p, version),
      encodeDelta(records), { overwrite: true })));
    this.lastMetrics = this.measure(this.changed.size, this.removed.size, performance.now() - started);
    this.changed.clear();
    this.removed.clear();
    this.currentVersion = version;
    if (version > 0 && version % this.options.snapshotInterval === 0) {
      this.maintenance = this.maintenance.then(() => writeSnapshotsInBackground(storage, numPartitions, version))
        .catch(() => undefined); // a missing snapshot only means loading reads more deltas
    }
  }

  metrics(): StateStoreMetrics {
    return this.lastMetrics;
  }

  async purgeBefore(version: number): Promise<void> {
    await this.maintenance;
    const { storage, numPartitions } = this.options;
    for (let p = 0; p < numPartitions; p++) {
      const files = await listStateFiles(storage, p);
      // Keep the newest snapshot at or below `version` and everything after it: that rebuilds any kept version.
      const base = Math.max(-1, ...files.filter((f) => f.snapshot && f.version <= version).map((f) => f.version));
      if (base < 0) continue;
      for (const f of files) if (f.version < base) await storage.delete(`${StateStorePaths.partition(p)}/${f.name}`);
    }
  }

  async close(): Promise<void> {
    await this.maintenance;
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

