/** A standby's warm copy of the in-memory store (MapStateFollower): followed, taken over only when exactly right. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateStorePaths } from '../../src/checkpoint/layout.js';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { inMemoryStateProvider } from '../../src/state/memory-provider.js';
import { encodeDelta, readDelta, StateRecord } from '../../src/state/state-files.js';
import { StateFollower, StateKey, StateStore } from '../../src/state/state-store.js';

const codec = { encode: (v: number): unknown => v, decode: (d: unknown): number => d as number };
const PARTITIONS = 4;

function options(storage: MemoryStorage, version: number): Parameters<typeof inMemoryStateProvider.open<number>>[0] {
  return { storage, numPartitions: PARTITIONS, version, codec, snapshotInterval: 3 };
}

function follow(storage: MemoryStorage, version: number): Promise<StateFollower<number>> {
  return inMemoryStateProvider.follow!(options(storage, version));
}

/** The active side: commits `batches` versions after `store`, each setting a few keys and removing one. */
async function commitBatches(store: StateStore<number>, batches: number): Promise<StateStore<number>> {
  let current = store;
  for (let b = 0; b < batches; b++) {
    const v = current.version + 1;
    for (let k = 0; k < 5; k++) current.put(`k${(v * 3 + k) % 17}`, v * 10 + k);
    current.remove(`k${v % 17}`);
    await current.commit();
    current = current.next();
  }
  return current;
}

function contents(entries: Iterable<[StateKey, number]>): [StateKey, number][] {
  return [...entries].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
}

async function coldContents(storage: MemoryStorage, version: number): Promise<[StateKey, number][]> {
  return contents((await inMemoryStateProvider.open(options(storage, version))).entries());
}

test('a follower applies each committed version and takes over with exactly the state a cold load gives', async () => {
  const storage = new MemoryStorage();
  let active = await commitBatches(await inMemoryStateProvider.open(options(storage, -1)), 2);
  const follower = await follow(storage, 1);
  for (let step = 0; step < 4; step++) {
    active = await commitBatches(active, 2);
    await follower.advanceTo(active.version);
    assert.equal(follower.version, active.version);
  }
  const expected = await coldContents(storage, active.version);
  const taken = await follower.takeOver(active.version);
  assert.ok(taken.store, `not taken over: ${taken.reason}`);
  assert.deepEqual(contents(taken.store.entries()), expected);
  // The store it became writes on: its next version is right too.
  const next = await commitBatches(taken.store, 1);
  assert.deepEqual(contents(next.entries()), await coldContents(storage, next.version));
});

test('a follower behind the last commit applies the deltas it lacks at takeover (still warm)', async () => {
  const storage = new MemoryStorage();
  let active = await commitBatches(await inMemoryStateProvider.open(options(storage, -1)), 3);
  const follower = await follow(storage, 2);
  active = await commitBatches(active, 2);
  const taken = await follower.takeOver(active.version);
  assert.ok(taken.store, `not taken over: ${taken.reason}`);
  assert.deepEqual(contents(taken.store.entries()), await coldContents(storage, active.version));
});

test('a follower that lagged past retention reloads the newest version instead of applying what is gone', async () => {
  const storage = new MemoryStorage();
  let active = await commitBatches(await inMemoryStateProvider.open(options(storage, -1)), 2);
  const follower = await follow(storage, 1);
  active = await commitBatches(active, 8);
  await active.purgeBefore(active.version - 1); // snapshots every 3 versions: the deltas after 1 are partly gone
  await assert.rejects(readDelta(storage, 0, 2), /missing/);
  await follower.advanceTo(active.version);
  assert.equal(follower.version, active.version);
  const taken = await follower.takeOver(active.version);
  assert.ok(taken.store, `not taken over: ${taken.reason}`);
  assert.deepEqual(contents(taken.store.entries()), await coldContents(storage, active.version));
});

test('a follower ahead of the last commit (the checkpoint went back) is not used', async () => {
  const storage = new MemoryStorage();
  const active = await commitBatches(await inMemoryStateProvider.open(options(storage, -1)), 4);
  const follower = await follow(storage, -1);
  await follower.advanceTo(active.version);
  const taken = await follower.takeOver(active.version - 1);
  assert.equal(taken.store, null);
  assert.match(taken.reason ?? '', /ahead of the last committed batch 2/);
});

test('a follower whose applied delta is no longer the checkpoint\'s file (same version, other bytes) is not used', async () => {
  const storage = new MemoryStorage();
  const active = await commitBatches(await inMemoryStateProvider.open(options(storage, -1)), 3);
  const follower = await follow(storage, 0);
  await follower.advanceTo(active.version);
  // The same version rewritten (as a checkpoint restored from another copy would have it): one key more.
  const path = StateStorePaths.delta(1, active.version);
  const records = (await readDelta(storage, 1, active.version)).records;
  await storage.writeAtomic(path, encodeDelta([...records, ['extra', 1]] as StateRecord[]), { overwrite: true });
  const taken = await follower.takeOver(active.version);
  assert.equal(taken.store, null);
  assert.match(taken.reason ?? '', /partition 1 is not the file the warm copy applied/);
});
