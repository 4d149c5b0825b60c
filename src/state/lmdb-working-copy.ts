/**
 * The lmdb provider's local working copy of one store: the state of one version in an LMDB environment,
 * plus what moves it to a neighbouring version without reading the whole checkpoint. Per version it keeps
 * an undo record (the previous bytes of every key the version changed, to step back when a batch is
 * re-run) and the digest of the version's delta files (to tell that this copy and the checkpoint share
 * their history). Every change lands in one LMDB transaction with the new version number, so a crash
 * leaves the copy at the old version or the new one, never between.
 *
 * Durability is the checkpoint's job (its delta files are synced before a version counts), so the copy
 * is written without syncing, through a writable memory map: a commit is memory writes, not I/O
 * (measured: a third of the synced commit's time), and a killed process loses nothing, since its
 * writes are in the OS's page cache. Only a machine that stops (power cut, kernel crash) can lose
 * them and leave the file torn: the copy records the boot it was last written in without a sync,
 * and one opened after another boot is discarded and rebuilt from the checkpoint (see `syncGuard`).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { Database, open, RootDatabase, RootDatabaseOptionsWithPath } from 'lmdb';
import { injectFault } from '../common/faults.js';
import { asBuffer, readOrderedDouble, writeOrderedDouble } from './binary-keys.js';
import { encodeUndoRecord, UndoEntry, undoRecordEntries, undoRecordPreviousVersion } from './lmdb-undo-record.js';
import { eventTimeOfPacked } from './lmdb-value-format.js';

/** A key's new stored bytes (see lmdb-value-format.ts), or null when the key is removed. */
export interface KeyChange {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

/** A version and the digest of its delta files. */
export interface VersionDigest {
  readonly version: number;
  readonly digest: string;
}

const VERSION = 'version';
const COUNT = 'count';
const FORMAT = 'format';
/**
 * 2: values carry their event time in a fixed header (lmdb-value-format.ts); 3: binary undo records
 * (lmdb-undo-record.ts). A copy of another format is rebuilt.
 */
const COPY_FORMAT = 3;
const MARK = Buffer.of(1);
/** Present while the copy may hold writes not yet on disk: the boot id of the system that wrote them. */
const UNSYNCED_MARKER = 'unsynced-since-boot';

export class LmdbWorkingCopy {
  private constructor(
    private readonly path: string,
    private readonly root: RootDatabase,
    private readonly state: Database<Buffer, Buffer>,
    private readonly byEventTime: Database<Buffer, Buffer>,
    private readonly undo: Database<Buffer, number>,
    private readonly digests: Database<string, number>,
    private readonly meta: Database<number, string>,
  ) {}

  static open(path: string): LmdbWorkingCopy {
    const unsynced = syncGuard(path);
    checkHeader(nodePath.join(path, 'data.mdb'));
    const root = open(environmentOptions(path, unsynced));
    const binary = { keyEncoding: 'binary', encoding: 'binary' } as const;
    const copy = new LmdbWorkingCopy(path, root,
      root.openDB<Buffer, Buffer>({ name: 'state', ...binary }),
      root.openDB<Buffer, Buffer>({ name: 'by-event-time', ...binary }),
      root.openDB<Buffer, number>({ name: 'undo', keyEncoding: 'ordered-binary', encoding: 'binary' }),
      root.openDB<string, number>({ name: 'digests', keyEncoding: 'ordered-binary', encoding: 'string' }),
      root.openDB<number, string>({ name: 'meta', keyEncoding: 'ordered-binary', encoding: 'msgpack' }));
    copy.syncedOnClose = unsynced;
    if (copy.meta.get(FORMAT) !== COPY_FORMAT) {
      // Written by an earlier weir (or new): its values cannot be read as this format's, so it starts empty.
      root.transactionSync(() => {
        for (const db of copy.databases) db.clearSync();
        copy.meta.putSync(FORMAT, COPY_FORMAT);
      });
    }
    return copy;
  }

  /** Whether close() must sync the file and drop the unsynced marker (the copy is written without syncs). */
  private syncedOnClose = false;

  private get databases(): { clearSync(): void }[] {
    return [this.state, this.byEventTime, this.undo, this.digests, this.meta];
  }

  /** The version this copy holds; -1 when empty. */
  get version(): number { return this.meta.get(VERSION) ?? -1; }
  get count(): number { return this.meta.get(COUNT) ?? 0; }

  digest(version: number): string | undefined {
    return this.digests.get(version);
  }

  /** The stored bytes of `key`, valid until the next call into LMDB (callers decode at once). */
  get(key: Buffer): Buffer | undefined {
    return this.state.getBinaryFast(key);
  }

  has(key: Buffer): boolean {
    return this.state.doesExist(key);
  }

  *entries(): Generator<{ key: Buffer; value: Buffer }> {
    for (const { key, value } of this.state.getRange({ snapshot: true })) yield { key, value };
  }

  /** Keys whose event time is at or below `eventTimeMs`, from the index (not a scan of all keys). */
  *keysAtOrBelow(eventTimeMs: number): Generator<Buffer> {
    for (const bytes of this.byEventTime.getKeys({ snapshot: true })) {
      const indexKey = asBuffer(bytes);
      if (readOrderedDouble(indexKey, 0) > eventTimeMs) return;
      yield indexKey.subarray(8);
    }
  }

  /**
   * Applies `changes` in one transaction, taking the copy from its version to `versions`' last: the
   * changes of every version in between, merged (the store applies several committed versions at once).
   * `versions` gives each version's delta digest. With `undoable` the previous bytes are kept so
   * `rollBackTo` can step back over it, to the version the copy held before.
   *
   * Resolves once the transaction is committed, not once it is on disk: the checkpoint's delta files,
   * written and synced before this, are what makes a version durable (see the file's comment).
   */
  async apply(versions: readonly VersionDigest[], changes: Iterable<KeyChange>, undoable: boolean): Promise<void> {
    // No version: the changes go in and the copy's version stays (a rebuild in parts sets it with its last).
    const last = versions[versions.length - 1];
    await this.root.transaction(() => {
      const undo: UndoEntry[] = [];
      let count = this.count;
      for (const { key, value } of changes) {
        const old = this.state.getBinary(key);
        if (old === undefined && value === null) continue;
        if (undoable) undo.push(old === undefined ? [key] : [key, old]);
        count += (old === undefined ? 1 : 0) - (value === null ? 1 : 0);
        this.write(key, old, value);
      }
      if (last !== undefined) injectFault('midWorkingCopyWrite', last.version);
      this.meta.put(COUNT, count);
      if (last === undefined) return;
      if (undoable) this.undo.put(last.version, encodeUndoRecord(this.version, undo));
      for (const { version, digest } of versions) this.digests.put(version, digest);
      this.meta.put(VERSION, last.version);
    });
  }

  /**
   * Steps back with the undo records to `version` or the newest version before it the copy held (the
   * caller replays the deltas from there); returns that version, or null (nothing changed) when an
   * undo record is missing.
   */
  async rollBackTo(version: number): Promise<number | null> {
    const steps: number[] = [];
    let at = this.version;
    while (at > version) {
      const record = this.undo.getBinary(at);
      if (record === undefined) return null;
      steps.push(at);
      at = undoRecordPreviousVersion(record);
    }
    await this.root.transaction(() => {
      let count = this.count;
      for (const step of steps) {
        const undo = [...undoRecordEntries(this.undo.getBinary(step)!)];
        for (let i = undo.length - 1; i >= 0; i--) {
          const [key, previous] = undo[i]!;
          const current = this.state.getBinary(key);
          count += (previous === undefined ? 0 : 1) - (current === undefined ? 0 : 1);
          this.write(key, current, previous ?? null);
        }
        this.undo.remove(step);
      }
      for (const v of this.digests.getKeys({ start: at + 1 })) this.digests.remove(v);
      this.meta.put(COUNT, count);
      this.meta.put(VERSION, at);
    });
    await this.root.flushed;
    return at;
  }

  /** Empties the copy (before rebuilding it from the checkpoint). */
  async clear(): Promise<void> {
    await this.root.transaction(() => {
      for (const db of this.databases) db.clearSync();
      this.meta.put(FORMAT, COPY_FORMAT);
    });
    await this.root.flushed;
  }

  /** Drops undo records no re-run can need (versions at or below `version`) and older digests. */
  async purgeBefore(version: number): Promise<void> {
    await this.root.transaction(() => {
      for (const v of this.undo.getKeys({ end: version + 1 })) this.undo.remove(v);
      for (const v of this.digests.getKeys({ end: version })) this.digests.remove(v);
    });
  }

  /** Bytes the copy's file takes on disk (allocated blocks: LMDB grows its file sparsely). */
  diskBytes(): number {
    try {
      return statSync(nodePath.join(this.path, 'data.mdb')).blocks * 512;
    } catch {
      return 0;
    }
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
    if (this.syncedOnClose) markSynced(this.path);
  }

  private write(key: Buffer, old: Buffer | undefined, value: Buffer | null): void {
    const oldTime = old === undefined ? undefined : eventTimeOfPacked(old);
    const newTime = value === null ? undefined : eventTimeOfPacked(value);
    if (oldTime !== undefined && oldTime !== newTime) this.byEventTime.remove(indexKey(oldTime, key));
    if (newTime !== undefined && oldTime !== newTime) this.byEventTime.put(indexKey(newTime, key), MARK);
    if (value === null) this.state.remove(key);
    else this.state.put(key, value);
  }
}

/** A read-only view of a working copy, fixed at the version it held when opened (one LMDB read transaction). */
export interface WorkingCopyReader {
  readonly version: number;
  /** Keys held at that version. */
  readonly count: number;
  entries(): Iterable<{ key: Buffer; value: Buffer }>;
  close(): Promise<void>;
}

/** Opens a working copy for reading in another thread while its store goes on committing. */
export function openWorkingCopyReader(path: string): WorkingCopyReader {
  checkHeader(nodePath.join(path, 'data.mdb'));
  // The same options as the writer's: the environment is shared by every thread of the process.
  const root = open(environmentOptions(path, bootId() !== null));
  const transaction = root.useReadTransaction();
  const state = root.openDB<Buffer, Buffer>({ name: 'state', keyEncoding: 'binary', encoding: 'binary' });
  const meta = root.openDB<number, string>({ name: 'meta', keyEncoding: 'ordered-binary', encoding: 'msgpack' });
  return {
    version: meta.get(VERSION, { transaction }) ?? -1,
    count: meta.get(COUNT, { transaction }) ?? 0,
    entries: () => state.getRange({ transaction }),
    async close() {
      transaction.done();
      await root.close();
    },
  };
}

function environmentOptions(path: string, unsynced: boolean): RootDatabaseOptionsWithPath {
  return { path, maxDbs: 8, compression: false, ...(unsynced ? { noSync: true, useWritemap: true } : {}) };
}

/** This boot of the system (Linux); null where the system does not say, and the copy is then synced as LMDB does by default. */
function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * Before a copy is opened for unsynced writes: discards it if it was written without a sync in another
 * boot (the system stopped before flushing it, so the file may be torn), then records this boot.
 * Returns false where the boot cannot be told (the copy is then opened with LMDB's own syncing).
 */
function syncGuard(path: string): boolean {
  const boot = bootId();
  if (boot === null) return false;
  const marker = nodePath.join(path, UNSYNCED_MARKER);
  let recorded: string | null = null;
  try {
    recorded = readFileSync(marker, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (recorded !== null && recorded !== boot) {
    for (const file of ['data.mdb', 'lock.mdb']) rmSync(nodePath.join(path, file), { force: true });
  }
  if (recorded !== boot) {
    mkdirSync(path, { recursive: true });
    writeFileSync(marker, boot);
    syncFile(marker);
    syncFile(path);
  }
  return true;
}

/** After a clean close: the file is flushed, so it survives a stop of the system and no longer needs the marker. */
function markSynced(path: string): void {
  const data = nodePath.join(path, 'data.mdb');
  syncFile(data);
  rmSync(nodePath.join(path, UNSYNCED_MARKER), { force: true });
  syncFile(path);
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** LMDB's first meta page starts with its magic number after the 16-byte page header. */
const MAGIC_OFFSET = 16 + 8;
const LMDB_MAGIC = 0xbeefc0de;

/**
 * Refuses a data file whose header is not LMDB's: LMDB maps its file into memory and trusts it, so a
 * file overwritten with other bytes would crash the process instead of failing with an error.
 */
function checkHeader(file: string): void {
  let header: Buffer;
  try {
    header = readFileHead(file, MAGIC_OFFSET + 4);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // a new copy
    throw err;
  }
  if (header.length < MAGIC_OFFSET + 4 || header.readUInt32LE(MAGIC_OFFSET) !== LMDB_MAGIC) {
    throw new Error(`${file} is not an LMDB data file (its header is ${header.length < MAGIC_OFFSET + 4 ? 'truncated' : 'wrong'})`);
  }
}

function readFileHead(file: string, bytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(bytes);
    return head.subarray(0, readSync(fd, head, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

function indexKey(eventTimeMs: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + key.length);
  writeOrderedDouble(out, 0, eventTimeMs);
  key.copy(out, 8);
  return out;
}
