/** The default state store beyond the contract both providers meet (state-store-contract.test.ts): old formats, key kinds, lifecycle. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { encodeFile } from '../../src/checkpoint/file-format.js';
import { inMemoryStateProvider } from '../../src/state/memory-provider.js';
import { loadPartition } from '../../src/state/state-files.js';
import { compareStateKeys, StateKey, StateStore } from '../../src/state/state-store.js';

const codec = { encode: (v: number): unknown => v, decode: (d: unknown): number => d as number };

function open(storage: MemoryStorage, version: number, snapshotInterval = 1000): Promise<StateStore<number>> {
  return inMemoryStateProvider.open({ storage, numPartitions: 4, version, codec, snapshotInterval });
}

test('state files of format 1 (JSON) and 2 are still read by inspection, but a store refuses their keys (old encoding)', async () => {
  const storage = new MemoryStorage();
  await storage.writeAtomic('0/0.delta', encodeFile('state-delta', 1, JSON.stringify([['a', 1], ['b', 2]])), { overwrite: true });
  for (const p of [1, 2, 3]) await storage.writeAtomic(`${p}/0.delta`, encodeFile('state-delta', 1, '[]'), { overwrite: true });
  const inspected = new Map<StateKey, unknown>();
  assert.equal(await loadPartition(storage, 0, 0, inspected, (d) => d), 1);
  assert.deepEqual([...inspected], [['a', 1], ['b', 2]]);
  // Keys of format 1 and 2 joined several values with U+0001 and wrote null as U+0000: ambiguous, so refused.
  await assert.rejects(open(storage, 0), (err: Error & { code?: string }) => err.code === 'STATE_KEY_FORMAT' &&
    /format 1/.test(err.message) && /2 keys/.test(err.message) && /new checkpointLocation/.test(err.message));
  // An empty state of the old format has no keys to misread: the store opens and writes the new format on top.
  await storage.writeAtomic('0/0.delta', encodeFile('state-delta', 2, Buffer.from([0x90])), { overwrite: true });
  const upgraded = await open(storage, 0);
  upgraded.put('a', 1);
  await upgraded.commit();
  assert.deepEqual([...(await open(storage, 1)).entries()], [['a', 1]]);
  await storage.writeAtomic('0/0.delta', encodeFile('state-delta', 3, Buffer.from([0xc1, 0xc1])), { overwrite: true });
  await assert.rejects(open(storage, 0), (err: Error & { code?: string }) =>
    err.code === 'CHECKPOINT_CORRUPT' && /0[\\/]0\.delta/.test(err.message) && /cannot be read/.test(err.message));
});

test('keys of any kind (null, booleans, NaN, strings, numbers) are kept apart and read back as they were put', async () => {
  const storage = new MemoryStorage();
  const keys: StateKey[] = [null, false, true, 0, -1.5, NaN, Infinity, '', 'null', '0', 'false', '\u0000'];
  const store = await open(storage, -1);
  keys.forEach((k, i) => store.put(k, i));
  await store.commit();
  const reopened = await open(storage, 0);
  assert.equal(reopened.size, keys.length);
  keys.forEach((k, i) => assert.equal(reopened.get(k), i, `key ${String(k)}`));
  // One total order: null, booleans, numbers (NaN last), strings; the same whatever order the keys came in.
  assert.deepEqual([...keys].reverse().sort(compareStateKeys), [null, false, true, -1.5, 0, Infinity, NaN, '', '\u0000', '0', 'false', 'null']);
});

test('lifecycle: a committed store takes no changes and no second commit; next() gives the next version', async () => {
  const storage = new MemoryStorage();
  const store = await open(storage, -1);
  assert.equal(store.status, 'updating');
  store.put('a', 1);
  await store.commit();
  assert.equal(store.status, 'committed');
  const lifecycle = (operation: string) => (err: Error & { code?: string }) => err.code === 'STATE_STORE_LIFECYCLE' &&
    err.message.includes(`Cannot ${operation}`) && /is committed/.test(err.message) && /version -1 -> 0/.test(err.message);
  assert.throws(() => store.put('b', 2), lifecycle('put'));
  assert.throws(() => store.remove('a'), lifecycle('remove'));
  await assert.rejects(store.commit(), lifecycle('commit'));
  assert.equal(store.get('a'), 1, 'a committed store still reads');
  const next = store.next();
  assert.equal(next.version, 0);
  next.put('b', 2);
  await next.commit();
  assert.deepEqual(Object.fromEntries((await open(storage, 1)).entries()), { a: 1, b: 2 });
  // next() of a store that has not committed is refused: there is no next version yet.
  assert.throws(() => next.next().next(), /Cannot next .* has not committed/);
});

test('lifecycle: abort discards the uncommitted version in memory and on storage; the aborted store takes nothing', async () => {
  const storage = new MemoryStorage();
  const store = await open(storage, -1);
  store.put('a', 1);
  await store.commit();
  const batch1 = store.next();
  batch1.put('a', 100);
  batch1.remove('a');
  batch1.put('b', 2);
  await batch1.abort();
  assert.equal(batch1.status, 'aborted');
  const aborted = (err: Error & { code?: string }) => err.code === 'STATE_STORE_LIFECYCLE' && /aborted/.test(err.message);
  assert.throws(() => batch1.put('c', 3), aborted);
  assert.throws(() => batch1.get('a'), aborted);
  assert.throws(() => [...batch1.entries()], aborted);
  await assert.rejects(batch1.commit(), aborted);
  await batch1.abort(); // a second abort is a no-op
  for (let p = 0; p < 4; p++) assert.equal(await storage.read(`${p}/1.delta`), null, 'nothing of version 1 written');
  assert.deepEqual(Object.fromEntries((await open(storage, 0)).entries()), { a: 1 }, 'reopening gives the last commit');
  // Abort after a commit is a no-op: the version stays.
  const reopened = await open(storage, 0);
  reopened.put('z', 26);
  await reopened.commit();
  await reopened.abort();
  assert.equal(reopened.status, 'committed');
  assert.deepEqual(Object.fromEntries((await open(storage, 1)).entries()), { a: 1, z: 26 });
});

test('lifecycle: abort after a commit that failed half-way deletes the partitions it wrote', async () => {
  const storage = new MemoryStorage();
  const store = await open(storage, -1);
  for (let i = 0; i < 40; i++) store.put(`k${i}`, i);
  const write = storage.writeAtomic.bind(storage);
  // Partition 2's delta fails (a full disk); the others are written.
  storage.writeAtomic = async (path, data, options) => {
    if (path === '2/0.delta') throw new Error('ENOSPC: no space left on device');
    return write(path, data, options);
  };
  await assert.rejects(store.commit(), /ENOSPC/);
  assert.equal(store.status, 'updating', 'a failed commit leaves the store to be aborted');
  assert.ok(await storage.read('0/0.delta') !== null, 'partition 0 was written before the failure');
  await store.abort();
  for (let p = 0; p < 4; p++) assert.equal(await storage.read(`${p}/0.delta`), null, `partition ${p} of version 0 deleted`);
});

test('lifecycle: abort while a commit is in flight waits for it; a commit that succeeded stays', async () => {
  const storage = new MemoryStorage();
  const store = await open(storage, -1);
  store.put('a', 1);
  const committing = store.commit();
  await store.abort();
  await committing;
  assert.equal(store.status, 'committed');
  assert.deepEqual(Object.fromEntries((await open(storage, 0)).entries()), { a: 1 });
});

test('markChanged writes a value changed in place at commit; a key marked and then removed is written as removed', async () => {
  const storage = new MemoryStorage();
  const arrays = { encode: (v: number[]): unknown => v, decode: (d: unknown): number[] => d as number[] };
  const openArrays = (version: number): Promise<StateStore<number[]>> =>
    inMemoryStateProvider.open({ storage, numPartitions: 4, version, codec: arrays, snapshotInterval: 1000 });
  const first = await openArrays(-1);
  assert.equal(first.liveValues, true);
  for (const key of ['a', 'b', 'c']) first.put(key, [1]);
  await first.commit();
  const second = first.next();
  const a = second.get('a')!;
  assert.equal(a, first.get('a'), 'the next version holds the same live value');
  a[0] = 2;
  second.markChanged!('a', a);
  const b = second.get('b')!;
  b[0] = 3;
  second.markChanged!('b', b);
  second.remove('b');
  await second.commit();
  assert.equal(second.metrics().numRowsUpdated, 1);
  assert.equal(second.metrics().numRowsRemoved, 1);
  assert.throws(() => second.markChanged!('a', a), (err: Error & { code?: string }) =>
    err.code === 'STATE_STORE_LIFECYCLE' && /Cannot markChanged/.test(err.message));
  const reopened = await openArrays(1);
  assert.deepEqual([...reopened.entries()].sort((x, y) => compareStateKeys(x[0], y[0])), [['a', [2]], ['c', [1]]]);
});
