/** The default state store: versions, deltas of changed keys only, reload from snapshot plus deltas. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unpack } from 'msgpackr';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { decodeFile, encodeFile } from '../../src/checkpoint/file-format.js';
import { inMemoryStateProvider } from '../../src/state/memory-provider.js';
import { StateStore } from '../../src/state/state-store.js';

const codec = { encode: (v: number): unknown => v, decode: (d: unknown): number => d as number };

function open(storage: MemoryStorage, version: number, snapshotInterval = 1000): Promise<StateStore<number>> {
  return inMemoryStateProvider.open({ storage, numPartitions: 4, version, codec, snapshotInterval });
}

/** Records in all partitions' delta files of one version. */
async function deltaRecords(storage: MemoryStorage, version: number): Promise<unknown[][]> {
  const records: unknown[][] = [];
  for (let p = 0; p < 4; p++) {
    const data = await storage.read(`${p}/${version}.delta`);
    assert.ok(data, `partition ${p} has a delta for version ${version}`);
    records.push(...unpack(decodeFile(data, 'state-delta', 2, `${p}/${version}.delta`).body) as unknown[][]);
  }
  return records;
}

test('a commit writes only the keys the batch changed or removed, whatever the state size', async () => {
  const storage = new MemoryStorage();
  const store = await open(storage, -1);
  for (let i = 0; i < 5000; i++) store.put(`k${i}`, i);
  await store.commit();
  assert.equal((await deltaRecords(storage, 0)).length, 5000);
  store.put('k7', 70);
  store.remove('k8');
  await store.commit();
  assert.deepEqual((await deltaRecords(storage, 1)).sort(), [['k7', 70], ['k8']]);
  assert.equal(store.metrics().numRowsUpdated, 1);
  assert.equal(store.metrics().numRowsRemoved, 1);
  assert.equal(store.metrics().numRowsTotal, 4999);
});

test('loading version V gives the state as of V, from a snapshot and the deltas after it; a re-run starts from V', async () => {
  const storage = new MemoryStorage();
  const store = await open(storage, -1, 2);
  for (let v = 0; v < 6; v++) {
    store.put(`k${v}`, v);
    if (v > 0) store.put('k0', v * 10);
    if (v === 4) store.remove('k1');
    await store.commit();
  }
  await store.close(); // waits for the background snapshots
  assert.ok(await storage.read('0/4.snapshot') !== null || await storage.read('1/4.snapshot') !== null, 'snapshots written');
  const at3 = await open(storage, 3);
  assert.deepEqual(Object.fromEntries(at3.entries()), { k0: 30, k1: 1, k2: 2, k3: 3 });
  const at5 = await open(storage, 5);
  assert.deepEqual(Object.fromEntries(at5.entries()), { k0: 50, k2: 2, k3: 3, k4: 4, k5: 5 });
  // A re-run of batch 4 after a crash loads version 3 and writes version 4 again.
  at3.put('k9', 9);
  await at3.commit();
  assert.deepEqual((await deltaRecords(storage, 4)), [['k9', 9]]);
});

test('state files of format 1 (JSON) are still read; a body that is not records is reported by path', async () => {
  const storage = new MemoryStorage();
  await storage.writeAtomic('0/0.delta', encodeFile('state-delta', 1, JSON.stringify([['a', 1], ['b', 2]])), { overwrite: true });
  for (const p of [1, 2, 3]) await storage.writeAtomic(`${p}/0.delta`, encodeFile('state-delta', 1, '[]'), { overwrite: true });
  const store = await open(storage, 0);
  assert.deepEqual([...store.entries()].sort(), [['a', 1], ['b', 2]]);
  await storage.writeAtomic('0/0.delta', encodeFile('state-delta', 2, Buffer.from([0xc1, 0xc1])), { overwrite: true });
  await assert.rejects(open(storage, 0), (err: Error & { code?: string }) =>
    err.code === 'CHECKPOINT_CORRUPT' && /0[\\/]0\.delta/.test(err.message) && /cannot be read/.test(err.message));
});

test('values come back from the files as they were put, NaN and infinities included', async () => {
  const storage = new MemoryStorage();
  const values = [NaN, Infinity, -Infinity, 0.1 + 0.2, 2 ** 53 - 1, -7];
  const store = await inMemoryStateProvider.open<unknown>({
    storage, numPartitions: 4, version: -1, codec: { encode: (v) => v, decode: (d) => d }, snapshotInterval: 2,
  });
  store.put('numbers', values);
  store.put('nested', { list: [null, 'x', [1.5]], flag: true });
  for (let v = 0; v <= 2; v++) await store.commit(); // version 2: a snapshot is rebuilt from the files
  await store.close();
  const reopened = await inMemoryStateProvider.open<unknown>({
    storage, numPartitions: 4, version: 2, codec: { encode: (v) => v, decode: (d) => d }, snapshotInterval: 2,
  });
  assert.deepEqual(reopened.get('numbers'), values);
  assert.deepEqual(reopened.get('nested'), { list: [null, 'x', [1.5]], flag: true });
  assert.ok((await storage.list('0')).concat(await storage.list('1'), await storage.list('2'), await storage.list('3'))
    .some((name) => name.endsWith('.snapshot')), 'a snapshot was written and read');
});
