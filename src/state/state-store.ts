import { CheckpointStorage } from '../checkpoint/storage.js';
import { compareUtf8 } from '../common/spark-strings.js';

/** Keys are a grouping key's value (one column) or its encoded parts (several columns). */
export type StateKey = string | number;

/** A fixed order of keys (independent of a map's history), for output that must be the same on every run. */
export function compareStateKeys(a: StateKey, b: StateKey): number {
  if (typeof a === 'string' && typeof b === 'string') return compareUtf8(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Converts live state values to plain data (numbers, strings, arrays, objects) and back (e.g. a Set held for countDistinct). */
export interface StateValueCodec<V> {
  encode(value: V): unknown;
  decode(data: unknown): V;
}

export interface StateStoreMetrics {
  readonly numRowsTotal: number;
  readonly numRowsUpdated: number;
  readonly numRowsRemoved: number;
  readonly memoryUsedBytes: number;
  readonly commitTimeMs: number;
}

/**
 * One stateful operator's keyed state, as of version `version` (= the batch id that produced it;
 * -1 is empty). A batch reads version N-1, changes it through put/remove and commits version N.
 * Values passed to put() are serialized at commit, so the caller may keep updating them in place
 * until then — which is why put() is needed only on a key's first change in a batch.
 */
export interface StateStore<V> {
  readonly version: number;
  readonly size: number;
  get(key: StateKey): V | undefined;
  put(key: StateKey, value: V): void;
  remove(key: StateKey): void;
  entries(): IterableIterator<[StateKey, V]>;
  /** Makes the changes durable as version `version + 1`. */
  commit(): Promise<void>;
  /** Metrics of the last batch (since the previous commit). */
  metrics(): StateStoreMetrics;
  /** Removes versions no re-run can need: all older than `version` except what rebuilds it. */
  purgeBefore(version: number): Promise<void>;
  close(): Promise<void>;
}

export interface StateStoreOptions<V> {
  /** The operator's folder, `state/<operatorId>/`. */
  readonly storage: CheckpointStorage;
  readonly numPartitions: number;
  /** The version to load: the last committed batch id, or -1. */
  readonly version: number;
  readonly codec: StateValueCodec<V>;
  /** Every this many versions a snapshot is written in the background (deltas in between). */
  readonly snapshotInterval: number;
}

/** A state store implementation, chosen per query; the in-memory one is the default. */
export interface StateStoreProvider {
  readonly name: string;
  open<V>(options: StateStoreOptions<V>): Promise<StateStore<V>>;
}

/** The partition of a key: stable across processes and versions (FNV-1a over its text). */
export function partitionOf(key: StateKey, numPartitions: number): number {
  const text = typeof key === 'number' ? String(key) : key;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % numPartitions;
}
