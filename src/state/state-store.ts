import { CheckpointStorage } from '../checkpoint/storage.js';
import { compareUtf8 } from '../common/spark-strings.js';

/**
 * Keys are a key column's value itself (one column: null included) or the injective text code of
 * several values (see exec/state-keys.ts); the store treats them as opaque.
 */
export type StateKey = string | number | boolean | null;

const KEY_TYPE_RANK = { object: 0, boolean: 1, number: 2, string: 3 } as const;

/**
 * A fixed total order of keys (independent of a map's history), for output that must be the same on
 * every run: null, then booleans, numbers (NaN last, as Spark orders it) and strings by code unit.
 */
export function compareStateKeys(a: StateKey, b: StateKey): number {
  if (a === b) return 0;
  const ta = KEY_TYPE_RANK[typeof a as keyof typeof KEY_TYPE_RANK];
  const tb = KEY_TYPE_RANK[typeof b as keyof typeof KEY_TYPE_RANK];
  if (ta !== tb) return ta - tb;
  if (typeof a === 'number' && typeof b === 'number' && (Number.isNaN(a) || Number.isNaN(b))) {
    return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
  }
  if (typeof a === 'string' && typeof b === 'string') return compareUtf8(a, b);
  return (a as number | boolean) < (b as number | boolean) ? -1 : 1;
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
  /** Heap the store holds (the in-memory provider: every key; the lmdb one: its pending changes and cache). */
  readonly memoryUsedBytes: number;
  /** Bytes the store keeps on local disk besides the checkpoint's files (the lmdb working copy); 0 for the in-memory provider. */
  readonly diskBytesUsed: number;
  readonly commitTimeMs: number;
}

/**
 * Where a store is in its life (as Spark's state stores): `updating` takes reads and changes;
 * `committed` made its changes durable and takes reads only; `aborted` discarded its changes and
 * takes nothing.
 */
export type StateStoreStatus = 'updating' | 'committed' | 'aborted';

/**
 * One stateful operator's keyed state, as of version `version` (= the batch id that produced it;
 * -1 is empty). A batch reads version N-1, changes it through put/remove and commits version N;
 * `next()` then gives the store of the following batch. Values passed to put() are serialized at
 * commit, so the caller may keep updating them in place until then — which is why put() is needed
 * only on a key's first change in a batch.
 */
export interface StateStore<V> {
  /** The version this store read: its commit writes `version + 1`. */
  readonly version: number;
  readonly status: StateStoreStatus;
  readonly size: number;
  /**
   * True when get() returns the very object put() stored, and the stores of later versions (next())
   * keep holding it until it is removed or the store aborts: a caller may then index the values itself
   * across batches (the in-memory store). False or absent: get() may return a copy read from disk.
   */
  readonly liveValues?: boolean;
  get(key: StateKey): V | undefined;
  /** Fails unless updating. */
  put(key: StateKey, value: V): void;
  /**
   * Optional, in a store with live values: records that `value`, held under `key` since an earlier
   * batch, changed in place (it is written at commit as put() values are), without the lookups put()
   * makes. Call it at most once per key and batch, and not for a key put() in this batch. Fails unless updating.
   */
  markChanged?(key: StateKey, value: V): void;
  /** Fails unless updating. */
  remove(key: StateKey): void;
  entries(): IterableIterator<[StateKey, V]>;
  /** Makes the changes durable as version `version + 1`. Fails unless updating (a second commit fails). */
  commit(): Promise<void>;
  /**
   * Discards the changes: none of version `version + 1` remains, in memory or on storage (files of a
   * commit that failed half-way are deleted). Waits for a commit in flight; a no-op once committed or aborted.
   */
  abort(): Promise<void>;
  /** The updating store of version `version + 1`, once this one committed (it shares the loaded state: nothing is reloaded). */
  next(): StateStore<V>;
  /** Metrics of the last batch (since the previous commit). */
  metrics(): StateStoreMetrics;
  /**
   * Removes and returns, ordered by key, every entry whose event time (`StateStoreOptions.eventTimeOf`)
   * is at or below `eventTimeMs`. Optional: a store with an event-time index finds them without
   * visiting every key; without it the operator scans `entries()`.
   */
  removeAtOrBelow?(eventTimeMs: number): [StateKey, V][];
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
  /** The event time a value is evicted by (for `removeAtOrBelow`); values that never expire give Infinity. */
  readonly eventTimeOf?: (value: V) => number;
}

/** A state store implementation, chosen per query; the in-memory one is the default. */
export interface StateStoreProvider {
  readonly name: string;
  open<V>(options: StateStoreOptions<V>): Promise<StateStore<V>>;
  /**
   * A warm copy of the state as of `options.version` that a standby keeps current while another process
   * writes the checkpoint, so that its takeover does not load the state from scratch. It only reads the
   * checkpoint. Optional: a provider without it takes over cold (through open()).
   */
  follow?<V>(options: StateStoreOptions<V>): Promise<StateFollower<V>>;
}

/** Why a warm copy was not used at a takeover (the store then opens cold), or the store it became. */
export type TakeoverResult<V> =
  | { readonly store: StateStore<V>; readonly reason?: undefined }
  | { readonly store: null; readonly reason: string };

/**
 * A standby's copy of one store's committed state. Only committed versions are applied (the caller
 * advances it to a version once `commits/<version>` exists), so the copy is never ahead of the commit
 * log that it was advanced by.
 */
export interface StateFollower<V> {
  /** The committed version the copy holds. */
  readonly version: number;
  /** Keys in the copy. */
  readonly size: number;
  /**
   * Applies the deltas of the versions after `version` up to `target`. When some are gone (retention
   * purged them while this copy lagged), the copy is reloaded as of `target` instead.
   */
  advanceTo(target: number): Promise<void>;
  /**
   * Once this process holds the checkpoint: the updating store of `version + 1` over the copy, if the
   * copy is exactly the committed `version` (applying the few deltas it lacks; the checkpoint's files
   * of `version` are those it applied, checked by SHA-256). Otherwise null with the reason: the caller
   * opens the store cold. Either way the follower is used up.
   */
  takeOver(version: number): Promise<TakeoverResult<V>>;
}

/** The partition of a key: stable across processes and versions (FNV-1a over its text). */
export function partitionOf(key: StateKey, numPartitions: number): number {
  const text = typeof key === 'string' ? key : String(key);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % numPartitions;
}
