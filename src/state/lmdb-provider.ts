/**
 * The 'lmdb' state store provider: state that outgrows the heap, and restarts that do not reload it.
 *
 * The checkpoint stays the source of truth and keeps the memory provider's format: each commit writes
 * the batch's changes as delta files through the checkpoint storage (a changelog, as Spark's RocksDB
 * changelog checkpointing), with snapshots rebuilt from them in the background. The keys themselves
 * live in a local LMDB working copy (lmdb-working-copy.ts) that is caught up to the version asked for
 * on open: already there (a restart: milliseconds), one step back with its undo record (a re-run of a
 * batch whose state commit landed before `commits/N`), forward by replaying deltas (into memory, as the
 * versions that were waiting before a kill), or rebuilt from the files when it is missing, from another
 * history, or too far away.
 *
 * A batch's changes are held in memory until commit, so a batch that fails leaves the copy untouched.
 * Committed versions then wait in memory too (their delta files are durable) and go into the copy
 * together at snapshot versions, at close, or when many keys wait: LMDB's cost is per B-tree page a
 * write touches, so the commit itself stays the delta files alone.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { StateStorePaths } from '../checkpoint/layout.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { CheckpointError, errorMessage, WeirError } from '../common/errors.js';
import { injectFault } from '../common/faults.js';
import { decodeStateKey, encodeStateKey } from './binary-keys.js';
import { packValue, unpackData } from './lmdb-value-format.js';
import type { KeyChange, LmdbWorkingCopy, VersionDigest } from './lmdb-working-copy.js';
import { EventTimeHeap } from './event-time-heap.js';
import { LmdbSnapshotSchedule } from './lmdb-snapshots.js';
import {
  decodeRecords, DELTA_KIND, discardVersionsAfter, loadPartition, purgeStateFiles, refuseOldKeyFormat, writeDeltas,
} from './state-files.js';
import {
  compareStateKeys, StateKey, StateStore, StateStoreMetrics, StateStoreOptions, StateStoreProvider, StateStoreStatus,
} from './state-store.js';

export const LMDB_PROVIDER_NAME = 'lmdb';

/** Working copies open in this process: one store per copy (other processes are kept out by the checkpoint lock). */
const openCopies = new Set<string>();

export interface LmdbStateStoreConfig {
  /**
   * Where working copies go when the checkpoint is not a local folder (e.g. a replicated checkpoint
   * storage), one folder per store. A local checkpoint keeps its copies inside its state folders.
   * Default: `weir-lmdb-state` in the OS temp folder.
   */
  readonly localDir?: string;
}

/** An lmdb provider; `lmdbStateStoreProvider` (registered as 'lmdb') uses the default configuration. */
export function createLmdbStateStoreProvider(config: LmdbStateStoreConfig = {}): StateStoreProvider {
  return {
    name: LMDB_PROVIDER_NAME,
    async open<V>(options: StateStoreOptions<V>): Promise<StateStore<V>> {
      const path = workingCopyPath(options.storage, config);
      if (openCopies.has(path)) {
        throw new CheckpointError('STATE_STORE_IN_USE', path, `The lmdb state working copy ${path} is already open in ` +
          'this process: close the other store of this operator first (one query per checkpoint at a time).');
      }
      let copy: LmdbWorkingCopy;
      try {
        // Loaded on first use: queries on the memory provider never load the native addon.
        const { LmdbWorkingCopy } = await import('./lmdb-working-copy.js');
        copy = LmdbWorkingCopy.open(path);
      } catch (err) {
        throw new CheckpointError('STATE_WORKING_COPY', path, `The lmdb state working copy ${path} cannot be opened ` +
          `(${errorMessage(err)}). Delete that folder: it is rebuilt from the checkpoint's state files.`, { cause: err });
      }
      let waiting: WaitingVersions;
      try {
        await discardVersionsAfter(options.storage, options.numPartitions, options.version);
        waiting = await catchUp(copy, options);
      } catch (err) {
        await copy.close();
        throw err;
      }
      openCopies.add(path);
      return new LmdbStateStore(options, copy, path, waiting, () => openCopies.delete(path));
    },
  };
}

export const lmdbStateStoreProvider = createLmdbStateStoreProvider();

function workingCopyPath(storage: CheckpointStorage, config: LmdbStateStoreConfig): string {
  if (storage.localRoot !== undefined) return nodePath.join(storage.localRoot, StateStorePaths.workingCopy(LMDB_PROVIDER_NAME));
  // One folder per store of each checkpoint: its location names it, hashed into a folder name.
  const name = createHash('sha256').update(storage.description).digest('hex').slice(0, 32);
  return nodePath.join(config.localDir ?? nodePath.join(tmpdir(), 'weir-lmdb-state'), name);
}

/**
 * Moves the working copy towards `options.version` by the cheapest way its history allows; returns the
 * versions replayed from their delta files that the store keeps waiting in memory on top of the copy.
 */
async function catchUp<V>(copy: LmdbWorkingCopy, options: StateStoreOptions<V>): Promise<WaitingVersions> {
  const target = options.version;
  const held = copy.version;
  if (target < 0) {
    if (held >= 0) await copy.clear();
    return noWaitingVersions();
  }
  // The copy belongs to this checkpoint only if it agrees on the newest version both have.
  const common = Math.min(held, target);
  const sameHistory = held >= 0 && copy.digest(common) !== undefined
    && copy.digest(common) === (await readDelta(options.storage, options.numPartitions, common))?.digest;
  if (sameHistory && held > target) {
    const at = await copy.rollBackTo(target);
    const replayed = at === null ? null : await replayDeltas(copy, options, at + 1, target);
    if (replayed !== null) return replayed;
  }
  const replayed = sameHistory && held <= target ? await replayDeltas(copy, options, held + 1, target) : null;
  if (replayed !== null) return replayed;
  await rebuild(copy, options);
  return noWaitingVersions();
}

interface DeltaVersion { readonly files: Buffer[]; readonly digest: string }

/** A version's delta files of every partition and their digest; null when one is missing. */
async function readDelta(storage: CheckpointStorage, numPartitions: number, version: number): Promise<DeltaVersion | null> {
  const files: Buffer[] = [];
  for (let p = 0; p < numPartitions; p++) {
    const data = await storage.read(StateStorePaths.delta(p, version));
    if (data === null) return null;
    files.push(data);
  }
  return { files, digest: digestOf(files) };
}

function digestOf(files: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(file);
  return hash.digest('hex');
}

/**
 * Reads versions `from`..`to` from their delta files, merged by key; null when one is gone (retention),
 * so a rebuild is due. They stay in memory, as the waiting versions they were before the process stopped
 * (a restart after a kill writes nothing into LMDB), except that every MAX_WAITING_KEYS keys go into the copy.
 */
async function replayDeltas<V>(copy: LmdbWorkingCopy, options: StateStoreOptions<V>, from: number, to: number):
  Promise<WaitingVersions | null> {
  let waiting = noWaitingVersions();
  for (let version = from; version <= to; version++) {
    const delta = await readDelta(options.storage, options.numPartitions, version);
    if (delta === null) return null;
    delta.files.forEach((data, p) => {
      for (const record of decodeRecords(data, DELTA_KIND, options.storage.locate(StateStorePaths.delta(p, version))).records) {
        waiting.keys.set(record[0], record.length === 2 ? waitingValue(record[1], options) : null);
      }
    });
    waiting.versions.push({ version, digest: delta.digest });
    if (waiting.keys.size >= MAX_WAITING_KEYS) {
      await copy.apply(waiting.versions, toKeyChanges(waiting.keys), true);
      waiting = noWaitingVersions();
    }
  }
  return waiting;
}

/** Rebuilds the copy from the checkpoint's snapshot and deltas, one partition in memory at a time. */
async function rebuild<V>(copy: LmdbWorkingCopy, options: StateStoreOptions<V>): Promise<void> {
  await copy.clear();
  const delta = await readDelta(options.storage, options.numPartitions, options.version);
  if (delta === null) {
    const where = options.storage.locate(StateStorePaths.delta(0, options.version));
    throw new CheckpointError('STATE_MISSING', where, `The state files of version ${options.version} ` +
      `(${where} and its sibling partitions) are missing, so the operator's state cannot be rebuilt. Restore them ` +
      'from a backup, or start the query on a new checkpointLocation (its state starts empty).');
  }
  for (let p = 0; p < options.numPartitions; p++) {
    const state = new Map<StateKey, unknown>();
    const format = await loadPartition(options.storage, p, options.version, state, (data) => data);
    refuseOldKeyFormat([format], state.size, options.storage, options.version);
    // Every partition but the last goes in without a version; the last one sets it, so a crash mid-way rebuilds again.
    const last = p === options.numPartitions - 1;
    await copy.apply(last ? [{ version: options.version, digest: delta.digest }] : [], toChanges(state, options), false);
  }
}

function* toChanges<V>(state: Map<StateKey, unknown>, options: StateStoreOptions<V>): Generator<KeyChange> {
  const timeOf = options.eventTimeOf;
  for (const [key, data] of state) {
    yield { key: encodeStateKey(key), value: packValue(data, timeOf?.(options.codec.decode(data))) };
  }
}

/**
 * Committed versions wait in memory before they go into the working copy together: a key a batch
 * changes again in the next ones is written to LMDB once, and most commits are the delta files alone.
 * Applied at every snapshot version (the snapshot is read from the copy), at close, and when this many
 * keys wait: a restart after a kill replays the waiting versions from their delta files, so this bounds
 * that work (a batch changing more keys goes into the copy at its own commit).
 */
const MAX_WAITING_KEYS = 100_000;
/** Estimated heap per waiting key (map entry, key, record, a small value), for memoryUsedBytes. */
const WAITING_ENTRY_BYTES = 200;

/**
 * A waiting key's value as of its newest committed version: the codec's plain data (as in the delta
 * file) and its event time. Packed for LMDB only when it goes into the copy, so a key changed in several
 * batches is packed once.
 */
interface WaitingValue {
  readonly data: unknown;
  readonly eventTimeMs: number | undefined;
}

function waitingValue<V>(data: unknown, options: StateStoreOptions<V>, value?: V): WaitingValue {
  const timeOf = options.eventTimeOf;
  const time = timeOf?.(value ?? options.codec.decode(data));
  return { data, eventTimeMs: time !== undefined && Number.isFinite(time) ? time : undefined };
}

/** Committed versions not yet in the working copy: each key as of the newest of them, null when removed. */
interface WaitingVersions {
  readonly keys: Map<StateKey, WaitingValue | null>;
  readonly versions: VersionDigest[];
}

function noWaitingVersions(): WaitingVersions {
  return { keys: new Map(), versions: [] };
}

function toKeyChanges(waiting: ReadonlyMap<StateKey, WaitingValue | null>): KeyChange[] {
  const changes: KeyChange[] = [];
  for (const [key, value] of waiting) {
    changes.push({ key: encodeStateKey(key), value: value === null ? null : packValue(value.data, value.eventTimeMs) });
  }
  return changes;
}

class LmdbStateStore<V> implements StateStore<V> {
  /** This batch's values by key (live objects the operator may still change in place until commit). */
  private readonly changed = new Map<StateKey, V>();
  private readonly removed = new Set<StateKey>();
  /** Committed versions not yet in the working copy (see WaitingVersions). Reads look here before the copy. */
  private readonly waiting: Map<StateKey, WaitingValue | null>;
  private readonly waitingVersions: VersionDigest[];
  /** The waiting keys by event time (see EventTimeHeap: an entry counts only while its time is the key's). */
  private readonly waitingByTime = new EventTimeHeap();
  /** Rows as of the last commit. */
  private committedRows: number;
  /** Rows as of the last commit plus this batch's new keys minus its removed ones. */
  private rows: number;
  private lastMetrics: StateStoreMetrics;
  private readonly snapshots: LmdbSnapshotSchedule;
  private currentVersion: number;
  /** The key of the last read from the working copy and whether it was there (valid until the next commit or abort). */
  private lastRead: StateKey | undefined;
  private lastReadExists = false;
  private currentStatus: StateStoreStatus = 'updating';
  /** Whether this batch was handed a waiting version's data, which it may have changed in place (see lend). */
  private lentWaiting = false;

  constructor(private readonly options: StateStoreOptions<V>, private readonly copy: LmdbWorkingCopy, copyPath: string,
    waiting: WaitingVersions, private readonly onClose: () => void) {
    this.currentVersion = options.version;
    this.waiting = new Map();
    this.waitingVersions = [];
    this.committedRows = copy.count + this.track(waiting);
    this.rows = this.committedRows;
    this.snapshots = new LmdbSnapshotSchedule(options.storage, copyPath, options.numPartitions, options.snapshotInterval);
    this.lastMetrics = this.measure(0, 0, 0);
  }

  get version(): number { return this.currentVersion; }
  get size(): number { return this.rows; }
  get status(): StateStoreStatus { return this.currentStatus; }

  get(key: StateKey): V | undefined {
    const pending = this.changed.get(key);
    if (pending !== undefined) return pending;
    if (this.removed.has(key)) return undefined;
    const waiting = this.waiting.get(key);
    if (waiting !== undefined) return waiting === null ? undefined : this.lend(waiting);
    const bytes = this.copy.get(encodeStateKey(key));
    this.lastRead = key;
    this.lastReadExists = bytes !== undefined;
    return bytes === undefined ? undefined : this.options.codec.decode(unpackData(bytes));
  }

  put(key: StateKey, value: V): void {
    this.updatable('put');
    // A key new to the store, or put back after this batch removed it, adds a row. Operators put right
    // after a get of the same key, whose answer saves looking the key up again.
    if (!this.changed.has(key) && (this.removed.delete(key) || !this.committedHas(key))) this.rows++;
    this.changed.set(key, value);
  }

  private committedHas(key: StateKey): boolean {
    const waiting = this.waiting.get(key);
    if (waiting !== undefined) return waiting !== null;
    return key === this.lastRead ? this.lastReadExists : this.copy.has(encodeStateKey(key));
  }

  remove(key: StateKey): void {
    this.updatable('remove');
    const pending = this.changed.delete(key);
    if (this.removed.has(key)) return;
    const committed = this.committedHas(key);
    if (committed) this.removed.add(key);
    if (pending || committed) this.rows--;
  }

  *entries(): IterableIterator<[StateKey, V]> {
    // Callers may put or remove keys they have been given (a join's eviction): each key comes once, as
    // with a Map, because this batch's keys and the waiting ones are fixed before the copy is read.
    const pending = [...this.changed.keys()];
    const waiting = [...this.waiting];
    const shadowed = new Set<StateKey>([...pending, ...this.waiting.keys()]);
    const decode = this.options.codec.decode;
    for (const { key: bytes, value } of this.copy.entries()) {
      const key = decodeStateKey(bytes);
      if (shadowed.has(key) || this.removed.has(key)) continue;
      yield [key, decode(unpackData(value))];
    }
    for (const [key, value] of waiting) {
      if (value === null || this.changed.has(key) || this.removed.has(key)) continue;
      yield [key, this.lend(value)];
    }
    for (const key of pending) {
      const value = this.changed.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  removeAtOrBelow(eventTimeMs: number): [StateKey, V][] {
    this.updatable('remove');
    const timeOf = this.options.eventTimeOf;
    if (!timeOf) throw new WeirError('STATE_NO_EVENT_TIME', 'removeAtOrBelow needs StateStoreOptions.eventTimeOf.');
    const due: [StateKey, V][] = [];
    const decode = this.options.codec.decode;
    // Committed keys from the copy's index (unless a waiting version or this batch changed them), read
    // by the key bytes the index holds, and the waiting versions' keys by their own event time: each is
    // removed as found, being known to be committed. Then this batch's.
    for (const bytes of this.copy.keysAtOrBelow(eventTimeMs)) {
      const key = decodeStateKey(bytes);
      if (this.changed.has(key) || this.removed.has(key) || this.waiting.has(key)) continue;
      due.push([key, decode(unpackData(this.copy.get(bytes)!))]);
      this.removeCommitted(key);
    }
    for (const [time, key] of this.waitingByTime.popAtOrBelow(eventTimeMs)) {
      const value = this.waiting.get(key);
      if (!value || value.eventTimeMs !== time || this.changed.has(key) || this.removed.has(key)) continue;
      due.push([key, this.lend(value)]);
      this.removeCommitted(key);
    }
    const changedDue = [...this.changed].filter((entry) => timeOf(entry[1]) <= eventTimeMs);
    for (const entry of changedDue) {
      due.push(entry);
      this.remove(entry[0]);
    }
    return due.sort((a, b) => compareStateKeys(a[0], b[0]));
  }

  /**
   * A waiting key's value decoded from its data itself, as the memory provider hands out its live values
   * (a copy per read would cost every batch): a caller that changes the value puts it, and the commit
   * replaces the data. An abort cannot trust the data then (see abort).
   */
  private lend(value: WaitingValue): V {
    this.lentWaiting = true;
    return this.options.codec.decode(value.data);
  }

  /** Removes a key this batch has not changed and the committed state holds. */
  private removeCommitted(key: StateKey): void {
    this.removed.add(key);
    this.rows--;
  }

  async commit(): Promise<void> {
    this.updatable('commit');
    const started = performance.now();
    const version = this.currentVersion + 1;
    const { storage, numPartitions, codec } = this.options;
    const encoded = [...this.changed].map(([key, value]): [StateKey, unknown] => [key, codec.encode(value)]);
    // The checkpoint first: once the copy says version N, the files of N exist to rebuild it anywhere.
    const files = await writeDeltas(storage, numPartitions, version, encoded, this.removed);
    injectFault('midStateCommit', version);
    for (const [key, data] of encoded) this.wait(key, waitingValue(data, this.options, this.changed.get(key)));
    for (const key of this.removed) this.wait(key, null);
    this.waitingVersions.push({ version, digest: digestOf(files) });
    if ((version > 0 && version % this.options.snapshotInterval === 0) || this.waiting.size >= MAX_WAITING_KEYS) await this.applyWaiting();
    this.committedRows = this.rows;
    this.lastMetrics = this.measure(this.changed.size, this.removed.size, performance.now() - started);
    this.discardChanges();
    this.lentWaiting = false;
    this.currentVersion = version;
    this.currentStatus = 'committed';
    this.snapshots.committed(version);
  }

  /** Takes `replayed` as waiting versions; returns how many rows they add to the copy's. */
  private track(replayed: WaitingVersions): number {
    let rows = 0;
    for (const [key, value] of replayed.keys) {
      this.wait(key, value);
      const inCopy = this.copy.has(encodeStateKey(key));
      if (value === null && inCopy) rows--;
      if (value !== null && !inCopy) rows++;
    }
    this.waitingVersions.push(...replayed.versions);
    return rows;
  }

  private wait(key: StateKey, value: WaitingValue | null): void {
    this.waiting.set(key, value);
    if (value?.eventTimeMs !== undefined) this.waitingByTime.push(value.eventTimeMs, key);
  }

  /** Writes the waiting versions into the working copy, as one step its undo record can take back. */
  private async applyWaiting(): Promise<void> {
    if (this.waitingVersions.length === 0) return;
    // A snapshot being started reads the copy as of its version: it must have fixed its view first.
    await this.snapshots.beforeCommit();
    await this.copy.apply(this.waitingVersions, toKeyChanges(this.waiting), true);
    this.forgetWaiting();
    this.lastRead = undefined;
  }

  /** Discards this batch's uncommitted changes (the working copy holds only committed versions); nothing after a commit. */
  async abort(): Promise<void> {
    if (this.currentStatus !== 'updating') return;
    this.discardChanges();
    this.currentStatus = 'aborted';
    // Values lent from the waiting versions may have been changed in place by the aborted batch: read
    // those versions again from their delta files, so this store and the copy it writes at close hold
    // the committed state.
    if (this.lentWaiting && this.waitingVersions.length > 0) await this.reloadWaiting();
  }

  private async reloadWaiting(): Promise<void> {
    const from = this.waitingVersions[0]!.version;
    const reloaded = await replayDeltas(this.copy, this.options, from, this.currentVersion);
    if (reloaded === null) {
      const where = this.options.storage.locate(StateStorePaths.delta(0, from));
      throw new CheckpointError('STATE_MISSING', where, `The state files of versions ${from}..${this.currentVersion} ` +
        `(${where} and its siblings) were deleted while the lmdb store still needed them. Restart the query: the ` +
        'working copy is caught up from the files that remain, or rebuilt.');
    }
    this.forgetWaiting();
    this.track(reloaded);
  }

  private forgetWaiting(): void {
    this.waiting.clear();
    this.waitingByTime.clear();
    this.waitingVersions.length = 0;
  }

  /** The store of the following batch: this one, taking changes again (the working copy advanced in place). */
  next(): StateStore<V> {
    if (this.currentStatus !== 'committed') throw this.lifecycleError('next', 'has not committed');
    this.currentStatus = 'updating';
    return this;
  }

  private discardChanges(): void {
    this.changed.clear();
    this.removed.clear();
    this.rows = this.committedRows;
  }

  private updatable(operation: string): void {
    if (this.currentStatus !== 'updating') throw this.lifecycleError(operation, `is ${this.currentStatus}`);
  }

  private lifecycleError(operation: string, why: string): WeirError {
    return new WeirError('STATE_STORE_LIFECYCLE', `Cannot ${operation} the lmdb state store of ` +
      `${this.options.storage.description} (version ${this.currentVersion}): it ${why}. A store takes changes until ` +
      'commit() or abort(); the next batch uses next() after a commit, or a new open() after an abort.');
  }

  metrics(): StateStoreMetrics {
    return this.lastMetrics;
  }

  async purgeBefore(version: number): Promise<void> {
    await this.snapshots.idle();
    // The deltas of the versions still waiting are what a restart replays: kept whatever the retention says.
    await purgeStateFiles(this.options.storage, this.options.numPartitions, Math.min(version, this.copy.version + 1));
    await this.copy.purgeBefore(version);
  }

  async close(): Promise<void> {
    try {
      // Committed versions go into the copy, so the next open starts there instead of replaying them.
      await this.applyWaiting();
      await this.snapshots.idle();
      await this.copy.close();
    } finally {
      this.onClose();
    }
  }

  private measure(updated: number, removed: number, commitTimeMs: number): StateStoreMetrics {
    return {
      numRowsTotal: this.committedRows, numRowsUpdated: updated, numRowsRemoved: removed,
      // The heap holds the versions waiting for the copy. The keys are in LMDB's memory map, whose pages
      // the OS caches and reclaims (they count in the process's RSS as file pages, not here).
      memoryUsedBytes: this.waiting.size * WAITING_ENTRY_BYTES, diskBytesUsed: this.copy.diskBytes(), commitTimeMs: Math.round(commitTimeMs),
    };
  }
}
