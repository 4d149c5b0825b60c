/**
 * The versioned state store contract, run against every provider: versions, deltas of changed keys
 * only, reload from snapshot plus deltas, a re-run from version N-1. Both providers write the same
 * checkpoint files; the lmdb provider also keeps a local working copy (its own tests are in lmdb-provider.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { unpack } from 'msgpackr';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { decodeFile, encodeFile } from '../../src/checkpoint/file-format.js';
import { FORMAT_VERSION } from '../../src/state/state-files.js';
import { createLmdbStateStoreProvider } from '../../src/state/lmdb-provider.js';
import { inMemoryStateProvider } from '../../src/state/memory-provider.js';
import { StateStore, StateStoreProvider } from '../../src/state/state-store.js';

/** Commits and goes on with the store of the next batch, as the engine does (a committed store takes no changes). */
async function commitNext<V>(store: StateStore<V>): Promise<StateStore<V>> {
  await store.commit();
  return store.next();
}

const codec = { encode: (v: number): unknown => v, decode: (d: unknown): number => d as number };

// The memory storage has no local folder, so lmdb working copies go to a folder of this run.
const workingCopies = await mkdtemp(join(tmpdir(), 'weir-state-contract-'));
after(() => rm(workingCopies, { recursive: true, force: true }));
let nextCopy = 0;

/** Each test gets its own provider instance (so its own working copy folder) for its storage. */
const PROVIDERS: readonly (readonly [string, () => StateStoreProvider])[] = [
  ['memory', () => inMemoryStateProvider],
  ['lmdb', () => createLmdbStateStoreProvider({ localDir: join(workingCopies, String(nextCopy++)) })],
  // The lmdb store writes committed versions into its working copy at snapshot versions (and at close):
  // with one every version, its reads go through the copy rather than the versions waiting in memory.
  ['lmdb, working copy written every version', () => everyVersion(createLmdbStateStoreProvider({
    localDir: join(workingCopies, String(nextCopy++)) }))],
];

function everyVersion(provider: StateStoreProvider): StateStoreProvider {
  return { name: provider.name, open: (options) => provider.open({ ...options, snapshotInterval: 1 }) };
}

for (const [providerName, makeProvider] of PROVIDERS) describe(`${providerName} state store`, () => {
  let provider = makeProvider();
  const fresh = (): MemoryStorage => {
    provider = makeProvider();
    return new MemoryStorage();
  };

  function open(storage: MemoryStorage, version: number, snapshotInterval = 1000): Promise<StateStore<number>> {
    return provider.open({ storage, numPartitions: 4, version, codec, snapshotInterval });
  }

  /** Records in all partitions' delta files of one version. */
  async function deltaRecords(storage: MemoryStorage, version: number): Promise<unknown[][]> {
    const records: unknown[][] = [];
    for (let p = 0; p < 4; p++) {
      const data = await storage.read(`${p}/${version}.delta`);
      assert.ok(data, `partition ${p} has a delta for version ${version}`);
      records.push(...unpack(decodeFile(data, 'state-delta', FORMAT_VERSION, `${p}/${version}.delta`).body) as unknown[][]);
    }
    return records;
  }

  test('a commit writes only the keys the batch changed or removed, whatever the state size', async () => {
    const storage = fresh();
    let store = await open(storage, -1);
    for (let i = 0; i < 5000; i++) store.put(`k${i}`, i);
    store = await commitNext(store);
    assert.equal((await deltaRecords(storage, 0)).length, 5000);
    store.put('k7', 70);
    store.remove('k8');
    store = await commitNext(store);
    assert.deepEqual((await deltaRecords(storage, 1)).sort(), [['k7', 70], ['k8']]);
    assert.equal(store.metrics().numRowsUpdated, 1);
    assert.equal(store.metrics().numRowsRemoved, 1);
    assert.equal(store.metrics().numRowsTotal, 4999);
    await store.close();
  });

  test('within a batch, reads see its own puts and removes, and size counts rows as they change', async () => {
    const storage = fresh();
    let store = await open(storage, -1);
    store.put('a', 1);
    store.put('b', 2);
    store = await commitNext(store);
    const live = [10];
    const liveStore = store as unknown as StateStore<number[]>;
    liveStore.put('c', live);
    live.push(11); // changed in place after put: the commit stores the value as it is then
    store.remove('a');
    store.remove('a');
    store.remove('never');
    store.put('b', 20);
    assert.equal(store.get('a'), undefined);
    assert.equal(store.get('b'), 20);
    assert.equal(store.size, 2);
    store.put('a', 100);
    assert.equal(store.size, 3);
    assert.deepEqual(new Map(store.entries()), new Map<string, unknown>([['a', 100], ['b', 20], ['c', [10, 11]]]));
    store = await commitNext(store);
    await store.close();
    const reopened = await open(storage, 1);
    assert.equal(reopened.size, 3);
    assert.deepEqual(new Map(reopened.entries()), new Map<string, unknown>([['a', 100], ['b', 20], ['c', [10, 11]]]));
    await reopened.close();
  });

  test('entries() gives each key once while the caller puts and removes the keys it was given', async () => {
    const storage = fresh();
    let store = await open(storage, -1);
    for (let i = 0; i < 20; i++) store.put(`c${i}`, i);
    store = await commitNext(store);
    store.put('p1', 100);
    store.put('p2', 201);
    const seen: string[] = [];
    for (const [key, value] of store.entries()) {
      seen.push(String(key));
      if (value % 2 === 0) store.remove(key);
      else store.put(key, value + 1000);
    }
    assert.deepEqual(seen.sort(), [...Array.from({ length: 20 }, (_, i) => `c${i}`), 'p1', 'p2'].sort());
    assert.deepEqual(Object.fromEntries(store.entries()), Object.fromEntries([
      ...Array.from({ length: 10 }, (_, i) => [`c${2 * i + 1}`, 2 * i + 1001]), ['p2', 1201]]));
    await store.close();
  });

  test('string and number keys stay distinct, and unusual keys round-trip', async () => {
    const storage = fresh();
    let store = await open(storage, -1);
    const keys = ['', '\u0000', '\u0000a', '1', 1, 0, -0.5, NaN, 'é漢字', 2 ** 53];
    keys.forEach((key, i) => store.put(key, i));
    store = await commitNext(store);
    await store.close();
    const reopened = await open(storage, 0);
    for (const [i, key] of keys.entries()) assert.equal(reopened.get(key), i, `key ${JSON.stringify(key)}`);
    assert.equal(reopened.get(-0), reopened.get(0), 'a Map takes -0 and 0 for one key');
    assert.equal(reopened.size, keys.length);
    await reopened.close();
  });

  test('loading version V gives the state as of V, from a snapshot and the deltas after it; a re-run starts from V', async () => {
    const storage = fresh();
    let store = await open(storage, -1, 2);
    for (let v = 0; v < 6; v++) {
      store.put(`k${v}`, v);
      if (v > 0) store.put('k0', v * 10);
      if (v === 4) store.remove('k1');
      store = await commitNext(store);
    }
    await store.close(); // waits for the background snapshots
    assert.ok(await storage.read('0/4.snapshot') !== null || await storage.read('1/4.snapshot') !== null, 'snapshots written');
    const at5 = await open(storage, 5);
    assert.deepEqual(Object.fromEntries(at5.entries()), { k0: 50, k2: 2, k3: 3, k4: 4, k5: 5 });
    await at5.close();
    let at3 = await open(storage, 3);
    assert.deepEqual(Object.fromEntries(at3.entries()), { k0: 30, k1: 1, k2: 2, k3: 3 });
    // A re-run of batch 4 after a crash loads version 3 and writes version 4 again.
    at3.put('k9', 9);
    at3 = await commitNext(at3);
    await at3.close();
    assert.deepEqual((await deltaRecords(storage, 4)), [['k9', 9]]);
    const at4 = await open(storage, 4);
    assert.deepEqual(Object.fromEntries(at4.entries()), { k0: 30, k1: 1, k2: 2, k3: 3, k9: 9 });
    await at4.close();
  });

  test('non-empty state of an earlier format (1: JSON, whose keys could collide) is refused naming the folder; a body that is not records is reported by path', async () => {
    const storage = fresh();
    await storage.writeAtomic('0/0.delta', encodeFile('state-delta', 1, JSON.stringify([['a', 1], ['b', 2]])), { overwrite: true });
    for (const p of [1, 2, 3]) await storage.writeAtomic(`${p}/0.delta`, encodeFile('state-delta', 1, '[]'), { overwrite: true });
    await assert.rejects(open(storage, 0), (err: Error & { code?: string }) => err.code === 'STATE_KEY_FORMAT');
    await storage.writeAtomic('0/0.delta', encodeFile('state-delta', 3, Buffer.from([0xc1, 0xc1])), { overwrite: true });
    await assert.rejects(open(storage, 0), (err: Error & { code?: string }) =>
      err.code === 'CHECKPOINT_CORRUPT' && /0[\\/]0\.delta/.test(err.message) && /cannot be read/.test(err.message));
  });

  test('a batch that changed values in place and then aborted leaves the version it started from as it was', async () => {
    const storage = fresh();
    // Plain data as the values themselves, as the aggregations' count and sum state is kept.
    const identity = { encode: (v: number[]): unknown => v, decode: (d: unknown): number[] => d as number[] };
    const openArrays = (version: number): Promise<StateStore<number[]>> =>
      provider.open({ storage, numPartitions: 4, version, codec: identity, snapshotInterval: 1000 });
    let store = await openArrays(-1);
    store.put('a', [1, 10]);
    store.put('b', [2, 20]);
    store = await commitNext(store);
    for (const key of ['a', 'b']) {
      const value = store.get(key)!;
      value[0] = 99; // the operator's update in place, then its put
      store.put(key, value);
    }
    await store.abort();
    await store.close();
    const rerun = await openArrays(0);
    assert.deepEqual(Object.fromEntries(rerun.entries()), { a: [1, 10], b: [2, 20] });
    await rerun.close();
  });

  test('values come back from the files as they were put, NaN and infinities included', async () => {
    const storage = fresh();
    const values = [NaN, Infinity, -Infinity, 0.1 + 0.2, 2 ** 53 - 1, -7];
    let store = await provider.open<unknown>({
      storage, numPartitions: 4, version: -1, codec: { encode: (v) => v, decode: (d) => d }, snapshotInterval: 2,
    });
    store.put('numbers', values);
    store.put('nested', { list: [null, 'x', [1.5]], flag: true });
    for (let v = 0; v <= 2; v++) store = await commitNext(store); // version 2: a snapshot is rebuilt from the files
    await store.close();
    const reopened = await provider.open<unknown>({
      storage, numPartitions: 4, version: 2, codec: { encode: (v) => v, decode: (d) => d }, snapshotInterval: 2,
    });
    assert.deepEqual(reopened.get('numbers'), values);
    assert.deepEqual(reopened.get('nested'), { list: [null, 'x', [1.5]], flag: true });
    assert.ok((await storage.list('0')).concat(await storage.list('1'), await storage.list('2'), await storage.list('3'))
      .some((name) => name.endsWith('.snapshot')), 'a snapshot was written and read');
  });
});
