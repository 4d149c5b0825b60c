/**
 * The lmdb provider's working copy: a restart reads no state files, a re-run steps back with the undo
 * records, a stale copy catches up from the deltas, a foreign one is rebuilt, eviction reads only the
 * due keys. The contract it shares with the memory provider is in state-store-contract.test.ts.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { operatorStoreFolders } from '../../src/checkpoint/layout.js';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { PrefixedStorage } from '../../src/checkpoint/prefixed-storage.js';
import { CheckpointStorage } from '../../src/checkpoint/storage.js';
import { createLmdbStateStoreProvider } from '../../src/state/lmdb-provider.js';
import { inMemoryStateProvider } from '../../src/state/memory-provider.js';
import { encodeUndoRecord, UndoEntry, undoRecordEntries, undoRecordPreviousVersion } from '../../src/state/lmdb-undo-record.js';
import { encodeSnapshot, SnapshotEncoder, StateRecord } from '../../src/state/state-files.js';
import { StateStore, StateStoreOptions, StateStoreProvider } from '../../src/state/state-store.js';

/** Commits and goes on with the store of the next batch, as the engine does (a committed store takes no changes). */
async function commitNext<V>(store: StateStore<V>): Promise<StateStore<V>> {
  await store.commit();
  return store.next();
}

const root = await mkdtemp(join(tmpdir(), 'weir-lmdb-provider-'));
after(() => rm(root, { recursive: true, force: true }));
let nextFolder = 0;
const folder = (): string => join(root, String(nextFolder++));

/** Values are [eventTimeMs, n]; decodes are counted to tell an index lookup from a scan. */
type Entry = [number, number];
let decodes = 0;
const codec = { encode: (v: Entry): unknown => v, decode: (d: unknown): Entry => { decodes++; return d as Entry; } };

function options(storage: CheckpointStorage, version: number): StateStoreOptions<Entry> {
  return { storage, numPartitions: 3, version, codec, snapshotInterval: 1000, eventTimeOf: (v) => v[0] };
}

/** A new lmdb store over a fresh folder's `state/0`, at version -1. */
async function newStore(overrides: Partial<StateStoreOptions<Entry>> = {}): Promise<{
  local: string; storage: CheckpointStorage; provider: StateStoreProvider; store: StateStore<Entry>;
}> {
  const local = folder();
  const storage = new PrefixedStorage(new FileSystemStorage(local), 'state/0');
  const provider = createLmdbStateStoreProvider();
  return { local, storage, provider, store: await provider.open({ ...options(storage, -1), ...overrides }) };
}

/** Commits versions 0..last, version v setting key `k<v>` to [v * 10, v] and k0's count to v. */
async function commitVersions(store: StateStore<Entry>, last: number): Promise<void> {
  for (let v = store.version + 1; v <= last; v++) {
    store.put(`k${v}`, [v * 10, v]);
    store.put('k0', [0, v]);
    store = await commitNext(store);
  }
}

const stateAt = (v: number): Record<string, Entry> =>
  Object.fromEntries([['k0', [0, v]], ...Array.from({ length: v }, (_, i) => [`k${i + 1}`, [(i + 1) * 10, i + 1]])]);

async function deleteDeltas(storage: CheckpointStorage, versions: readonly number[]): Promise<void> {
  for (const v of versions) for (let p = 0; p < 3; p++) await storage.delete(`${p}/${v}.delta`);
}

test('a restart opens the working copy as it is: no state file but the newest version\'s deltas is read', async () => {
  const storage = new PrefixedStorage(new FileSystemStorage(folder()), 'state/0');
  const provider = createLmdbStateStoreProvider();
  let store = await provider.open(options(storage, -1));
  await commitVersions(store, 5);
  await store.close();
  // Without the copy these versions could not be rebuilt: the memory provider would fail here.
  await deleteDeltas(storage, [0, 1, 2, 3, 4]);
  const reopened = await provider.open(options(storage, 5));
  assert.deepEqual(Object.fromEntries(reopened.entries()), stateAt(5));
  assert.equal(reopened.size, 6);
  await reopened.close();
});

test('the working copy of a local checkpoint sits in its store folder without being taken for a store', async () => {
  const checkpoint = new FileSystemStorage(folder());
  let store = await createLmdbStateStoreProvider().open(options(new PrefixedStorage(checkpoint, 'state/0'), -1));
  await store.close(); // nothing committed: the folder holds only the working copy
  assert.deepEqual(await checkpoint.list('state/0'), ['.lmdb']);
  assert.deepEqual(await operatorStoreFolders(checkpoint, 0), ['state/0']);
});

test('a re-run of batch N after its state commit (before commits/N) starts again from N-1, then commits its own N', async () => {
  const storage = new MemoryStorage();
  const provider = createLmdbStateStoreProvider({ localDir: folder() });
  let store = await provider.open(options(storage, -1));
  await commitVersions(store, 4);
  await store.close();
  let rerun = await provider.open(options(storage, 2)); // two steps back: the undo records of 4 and 3
  assert.deepEqual(Object.fromEntries(rerun.entries()), stateAt(2));
  rerun.put('other', [5, 5]);
  rerun = await commitNext(rerun);
  await rerun.close();
  const reopened = await provider.open(options(storage, 3));
  assert.deepEqual(Object.fromEntries(reopened.entries()), { ...stateAt(2), other: [5, 5] });
  await reopened.close();
});

test('a stale working copy catches up from the deltas; one from another history is rebuilt', async () => {
  const storage = new MemoryStorage();
  const stale = createLmdbStateStoreProvider({ localDir: folder() });
  const first = await stale.open(options(storage, -1));
  await commitVersions(first, 1);
  await first.close();
  const elsewhere = createLmdbStateStoreProvider({ localDir: folder() }); // e.g. the query moved to another machine
  const second = await elsewhere.open(options(storage, 1));
  await commitVersions(second, 4);
  await second.close();
  // Version 0's files are gone, so only replaying deltas 2..4 onto the copy at 1 can give version 4.
  await deleteDeltas(storage, [0]);
  const caughtUp = await stale.open(options(storage, 4));
  assert.deepEqual(Object.fromEntries(caughtUp.entries()), stateAt(4));
  await caughtUp.close();

  const foreign = new MemoryStorage(); // same description, different history: the digests differ
  let other = await elsewhere.open(options(foreign, -1));
  other.put('x', [1, 1]);
  other = await commitNext(other);
  await other.close();
  const rebuilt = await stale.open(options(foreign, 0));
  assert.deepEqual(Object.fromEntries(rebuilt.entries()), { x: [1, 1] });
  await rebuilt.close();
});

test('eviction reads only the due keys from the event-time index, this batch\'s changes included, and sorted by key', async () => {
  const storage = new MemoryStorage();
  const provider = createLmdbStateStoreProvider({ localDir: folder() });
  let store = await provider.open(options(storage, -1));
  for (let i = 0; i < 1000; i++) store.put(`key${i}`, [1000 + i, i]);
  store.put('b-early', [5, 0]);
  store.put('a-early', [7, 0]);
  store = await commitNext(store);
  store.put('key3', [1, 3]); // this batch moves key3 below the watermark and a-early above it
  store.put('a-early', [5000, 0]);
  decodes = 0;
  const due = store.removeAtOrBelow!(10);
  assert.deepEqual(due, [['b-early', [5, 0]], ['key3', [1, 3]]]);
  assert.ok(decodes <= 2, `eviction decoded ${decodes} values of 1002`);
  store = await commitNext(store);
  assert.equal(store.size, 1000);
  await store.close();
  const reopened = await provider.open(options(storage, 1));
  assert.deepEqual(reopened.removeAtOrBelow!(1001), [['key0', [1000, 0]], ['key1', [1001, 1]]]);
  (reopened as StateStore<Entry> & { abort(): void }).abort();
  await reopened.close();
  const back = await provider.open(options(storage, 0)); // the undo record restores the index too
  assert.deepEqual(back.removeAtOrBelow!(10).map(([key]) => key), ['a-early', 'b-early']);
  await back.close();
});

test('a restart after a kill keeps the versions that were waiting in memory, read back from their deltas', async () => {
  const local = folder();
  const storage = (root: string): CheckpointStorage => new PrefixedStorage(new FileSystemStorage(root), 'state/0');
  const provider = createLmdbStateStoreProvider();
  let store = await provider.open(options(storage(local), -1));
  await commitVersions(store, 2);
  await store.close(); // the working copy holds version 2
  store = await provider.open(options(storage(local), 2));
  store.put('new', [5, 1]);
  store.put('k1', [3, 7]);
  store.remove('k2');
  store = await commitNext(store);
  store.put('late', [500, 1]);
  store.remove('new'); // put in version 3, removed in 4: no row
  store = await commitNext(store);
  // What a SIGKILL leaves: the files as they are, versions 3 and 4 only in their delta files.
  const killed = folder();
  await cp(local, killed, { recursive: true });
  await store.close();

  const restarted = await provider.open(options(storage(killed), 4));
  const expected = { k0: [0, 2], k1: [3, 7], late: [500, 1] };
  assert.deepEqual(Object.fromEntries(restarted.entries()), expected);
  assert.equal(restarted.size, 3);
  assert.ok(restarted.metrics().memoryUsedBytes > 0, 'versions 3 and 4 wait in memory rather than being written into LMDB at open');
  assert.deepEqual(restarted.removeAtOrBelow!(3), [['k0', [0, 2]], ['k1', [3, 7]]]);
  const next = await commitNext(restarted);
  assert.equal(next.size, 1);
  await next.close(); // the waiting versions and version 5 go into the copy
  const reopened = await provider.open(options(storage(killed), 5));
  assert.deepEqual(Object.fromEntries(reopened.entries()), { late: [500, 1] });
  assert.equal(reopened.metrics().memoryUsedBytes, 0);
  await reopened.close();
});

test('abort discards the batch\'s changes', async () => {
  const storage = new MemoryStorage();
  let store = await createLmdbStateStoreProvider({ localDir: folder() }).open(options(storage, -1));
  store.put('a', [1, 1]);
  store = await commitNext(store);
  store.put('b', [2, 2]);
  store.remove('a');
  await store.abort();
  assert.deepEqual(Object.fromEntries(store.entries()), { a: [1, 1] });
  assert.equal(store.size, 1);
  assert.throws(() => store.put('c', [3, 3]), /STATE_STORE_LIFECYCLE|it is aborted/);
  await store.close();
});

test('errors name what is wrong: a second open, a corrupt working copy, a key too long for LMDB', async () => {
  const opened = await newStore();
  const { local, storage, provider } = opened;
  let { store } = opened;
  await assert.rejects(provider.open(options(storage, -1)), (err: Error & { code?: string }) =>
    err.code === 'STATE_STORE_IN_USE' && err.message.includes(join('state', '0', '.lmdb')));
  assert.throws(() => store.put('x'.repeat(3000), [1, 1]), (err: Error & { code?: string }) =>
    err.code === 'STATE_KEY_TOO_LONG' && /3001 bytes/.test(err.message));
  await store.close();
  await writeFile(join(local, 'state', '0', '.lmdb', 'data.mdb'), Buffer.alloc(64 * 1024, 0x5a));
  await assert.rejects(provider.open(options(storage, -1)), (err: Error & { code?: string }) =>
    err.code === 'STATE_WORKING_COPY' && err.message.includes(join('.lmdb')) && /Delete that folder/.test(err.message));
});

test('a working copy written without sync in an earlier boot of the system is rebuilt from the checkpoint, not trusted', async () => {
  const { local, storage, provider, store } = await newStore();
  await commitVersions(store, 3);
  const copy = join(local, 'state', '0', '.lmdb');
  const marker = await readFile(join(copy, 'unsynced-since-boot'), 'utf8').catch(() => null);
  await store.close();
  // A system that does not tell its boots apart has the copy synced by LMDB itself: no marker, nothing to check.
  if (marker === null) return;
  assert.equal(marker, (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim(), 'marked while open');
  await assert.rejects(readFile(join(copy, 'unsynced-since-boot')), 'a clean close syncs the copy and drops the marker');
  // As after a power cut: the copy was written in an earlier boot and its unflushed pages are lost (here: all of it).
  await writeFile(join(copy, 'unsynced-since-boot'), 'an-earlier-boot');
  await writeFile(join(copy, 'data.mdb'), Buffer.alloc(64 * 1024, 0x5a));
  const reopened = await provider.open(options(storage, 3));
  assert.deepEqual(Object.fromEntries(reopened.entries()), stateAt(3));
  await reopened.close();
});

test('a checkpoint switches provider in either direction: both read and write the same state files', async () => {
  const storage = new MemoryStorage();
  const memory = await inMemoryStateProvider.open(options(storage, -1));
  await commitVersions(memory, 2);
  await memory.close();
  const lmdb = createLmdbStateStoreProvider({ localDir: folder() });
  const onDisk = await lmdb.open(options(storage, 2)); // no working copy yet: built from the memory provider's files
  assert.deepEqual(Object.fromEntries(onDisk.entries()), stateAt(2));
  await commitVersions(onDisk, 3);
  await onDisk.close();
  const back = await inMemoryStateProvider.open(options(storage, 3));
  assert.deepEqual(Object.fromEntries(back.entries()), stateAt(3));
  await back.close();
});

test('snapshots are written from the working copy as of their version, while the store goes on committing', async () => {
  const { local, storage, store } = await newStore({ snapshotInterval: 2 });
  await commitVersions(store, 4); // the snapshot of 2 is read while 3 and 4 commit
  await store.close(); // waits for the snapshot
  assert.ok(await storage.read('0/2.snapshot'), 'the snapshot of version 2 was written');
  // Without the copy and the deltas up to 2, only the snapshot can give these states.
  await deleteDeltas(storage, [0, 1, 2]);
  await rm(join(local, 'state', '0', '.lmdb'), { recursive: true });
  const at4 = await inMemoryStateProvider.open(options(storage, 4));
  assert.deepEqual(Object.fromEntries(at4.entries()), stateAt(4));
  await at4.close();
  const at2 = await inMemoryStateProvider.open(options(storage, 2));
  assert.deepEqual(Object.fromEntries(at2.entries()), stateAt(2));
  await at2.close();
});

test('a snapshot encoded in chunks (as the lmdb store writes them) has the bytes of one encoded at once', () => {
  for (const [total, chunkSize] of [[0, 5], [1, 5], [15, 4], [16, 16], [17, 16], [70_000, 65_536], [70_000, 7]] as const) {
    const records: StateRecord[] = Array.from({ length: total }, (_, i) => (i % 5 === 4 ? [`r${i}`] : [`k${i}`, [i, i / 3]]));
    const encoder = new SnapshotEncoder();
    for (let i = 0; i < total; i += chunkSize) encoder.add(records.slice(i, i + chunkSize));
    assert.ok(encoder.finish().equals(encodeSnapshot(records)), `${total} records in chunks of ${chunkSize}`);
  }
});

test('a working copy that must be rebuilt from a checkpoint missing a state file names that file', async () => {
  const { local, storage, provider, store } = await newStore();
  await commitVersions(store, 2);
  await store.close();
  await rm(join(local, 'state', '0', '.lmdb'), { recursive: true });
  await storage.delete('0/1.delta');
  await assert.rejects(provider.open(options(storage, 2)), (err: Error & { code?: string }) =>
    err.code === 'STATE_MISSING' && err.message.includes(join('state', '0', '0', '1.delta')));
});

test('an undo record gives back its previous version and every key\'s previous bytes, absent and empty ones included', () => {
  const entries: UndoEntry[] = [[Buffer.from('sa'), Buffer.from([1, 2, 3])], [Buffer.from('sb')], [Buffer.from('sc'), Buffer.alloc(0)],
    [Buffer.alloc(1970, 0x61), Buffer.alloc(70_000, 7)]];
  const record = encodeUndoRecord(41, entries);
  assert.equal(undoRecordPreviousVersion(record), 41);
  assert.deepEqual([...undoRecordEntries(record)], entries);
  assert.deepEqual([...undoRecordEntries(encodeUndoRecord(-1, []))], []);
});
