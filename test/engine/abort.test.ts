/** A batch that fails aborts its stateful operators' state: the changes it made belong to no version. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { foreachBatchSink } from '../../src/connectors/foreach-batch/sink.js';
import { MicroBatchExecution } from '../../src/engine/micro-batch.js';
import { ListenerBus } from '../../src/engine/progress.js';
import { planPhysical } from '../../src/exec/planner.js';
import { Row, StreamingQueryException, Weir } from '../../src/index.js';
import { inMemoryStateProvider } from '../../src/state/memory-provider.js';
import { StateStore, StateStoreProvider } from '../../src/state/state-store.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

/** The in-memory provider, remembering the store each operator uses now (the newest one next() gave). */
function trackingProvider(): { provider: StateStoreProvider; current: StateStore<unknown>[] } {
  const current: StateStore<unknown>[] = [];
  const track = <V>(store: StateStore<V>, slot: number): StateStore<V> => {
    current[slot] = store as StateStore<unknown>;
    const next = store.next.bind(store);
    store.next = () => track(next(), slot);
    return store;
  };
  return {
    current,
    provider: { name: 'tracking', open: async (options) => track(await inMemoryStateProvider.open(options), current.length) },
  };
}

test('a batch that fails after its aggregation changed state aborts that state; the restart re-runs it from the last commit', async () => {
  const checkpoint = await tempDir();
  const weir = new Weir();
  const input = weir.memoryStream({ word: 'string' });
  const df = input.toDF().groupBy('word').count().map((row) => {
    if (row['word'] === 'boom') throw new Error('cannot map boom');
    return row;
  });
  const { provider, current } = trackingProvider();
  const delivered: Row[][] = [];
  const execution = new MicroBatchExecution({
    name: null, storage: new FileSystemStorage(checkpoint), plan: planPhysical(df.plan), statefulFingerprint: ['count'],
    outputMode: 'update', sink: foreachBatchSink((rows) => { delivered.push(rows); }), keyColumns: ['word'],
    trigger: { kind: 'processingTime', intervalMs: 0 }, minBatchesToRetain: 100, numStatePartitions: 2,
    stateSnapshotInterval: 10, stateStoreProvider: provider, multipleWatermarkPolicy: 'min', idlePollMs: 10, lockOptions: {},
    listeners: new ListenerBus(), recentProgressSize: 10,
  });
  await execution.start();
  input.addData([{ word: 'a' }]);
  await execution.processAllAvailable();
  const [store] = current;
  assert.equal(store!.status, 'updating', 'batch 1 reads version 0 and is taking changes');
  input.addData([{ word: 'a' }, { word: 'boom' }]);
  await assert.rejects(execution.processAllAvailable(), StreamingQueryException);
  assert.equal(current[0], store, 'the failed batch used the store of version 0 → 1');
  assert.equal(store!.status, 'aborted');
  assert.throws(() => store!.get('a'), /was aborted/);
  // The restart loads version 0 (a: 1), not the aborted changes (a: 2, boom: 1).
  const reopened = await inMemoryStateProvider.open<unknown[]>({
    storage: new FileSystemStorage(`${checkpoint}/state/0`), numPartitions: 2, version: 0,
    codec: { encode: (v) => v, decode: (d) => d as unknown[] }, snapshotInterval: 10,
  });
  assert.deepEqual([...reopened.entries()].map(([, entry]) => entry.slice(0, 2)), [['a', 1]]);
  assert.deepEqual(delivered, [[{ word: 'a', count: 1 }]]);
});
