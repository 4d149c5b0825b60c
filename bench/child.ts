/**
 * Child processes of the suite (W6 kills and restarts a query; W7 measures heap with --expose-gc).
 * Not for direct use:
 *   node dist/bench/child.js w6-build <checkpoint> <keys> <provider>
 *   node dist/bench/child.js w6-restart <checkpoint> <keys> <available> <batchRows> <provider>
 * (<provider>: a registered state store provider, 'memory' or 'lmdb')
 *   node --expose-gc dist/bench/child.js w7-weir|w7-map <keys>
 */
import { Weir } from '../src/index.js';
import { stateStoreProviderNamed } from '../src/state/registry.js';
import type { StateStore, StateStoreProvider } from '../src/index.js';
import { generatorStream, rowsOf } from './lib/gen-source.js';
import { removeDir, tempDir } from './lib/harness.js';
import { ChildMessage, counterRow, COUNTER_SCHEMA, countAndSum } from './lib/state-query.js';

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** Rows per batch while building state. */
const BUILD_BATCH = 250_000;

async function startCounter(checkpoint: string, keys: number, available: number, batchRows: number,
  provider: StateStoreProvider, weir = new Weir()) {
  const control = { available, maxPerTrigger: batchRows, rows: rowsOf((i) => counterRow(i, keys)) };
  return countAndSum(generatorStream(weir, COUNTER_SCHEMA, control)).writeStream.outputMode('update')
    .foreachBatch(() => {}).option('checkpointLocation', checkpoint).stateStore(provider).trigger({ processingTime: 0 })
    .start();
}

/** Builds `keys` keys of state, reports, and idles until the suite kills it with SIGKILL. */
async function build(checkpoint: string, keys: number, provider: StateStoreProvider): Promise<void> {
  const query = await startCounter(checkpoint, keys, keys, BUILD_BATCH, provider);
  await query.processAllAvailable();
  send({ kind: 'built', stateRows: query.lastProgress?.stateOperators[0]?.numRowsTotal ?? 0 });
}

/**
 * Restarts from the checkpoint, reports the first committed batch at once (the suite times spawn →
 * that message), then runs the remaining batches and reports each one's state commit time, timed
 * around StateStore.commit() by a wrapping provider (progress rounds to whole milliseconds).
 */
async function restart(checkpoint: string, keys: number, available: number, batchRows: number,
  provider: StateStoreProvider): Promise<void> {
  const commitMs: number[] = [];
  // Each batch commits the store that next() gave after the previous commit, so that one is timed too;
  // a store whose next() returns itself (the lmdb one) is wrapped once, not once more per batch.
  const timedStores = new WeakSet<object>();
  const timedStore = <V>(store: StateStore<V>): StateStore<V> => {
    if (timedStores.has(store)) return store;
    timedStores.add(store);
    const commit = store.commit.bind(store);
    const next = store.next.bind(store);
    store.commit = async () => {
      const started = performance.now();
      await commit();
      commitMs.push(performance.now() - started);
    };
    store.next = () => timedStore(next());
    return store;
  };
  const timed: StateStoreProvider = {
    name: `timed-${provider.name}`,
    async open(options) {
      return timedStore(await provider.open(options));
    },
  };
  const weir = new Weir();
  const batchMs: number[] = [];
  weir.streams.addListener({
    onQueryProgress: ({ progress }) => {
      if (batchMs.length === 0) send({ kind: 'firstCommit', rssBytes: process.memoryUsage.rss() });
      batchMs.push(progress.durationMs['triggerExecution'] ?? NaN);
    },
  });
  const query = await startCounter(checkpoint, keys, available, batchRows, timed, weir);
  await query.processAllAvailable();
  send({ kind: 'batches', commitMs, batchMs, rssBytes: process.memoryUsage.rss() });
}

type GcHost = { gc?: () => void };

function heapAfterGc(): number {
  const gc = (globalThis as GcHost).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Heap held by a raw Map of the same keys and values: { count, sum } per `k<i>`. */
function mapMemory(keys: number): void {
  const before = heapAfterGc();
  const map = new Map<string, { count: number; sum: number }>();
  for (let i = 0; i < keys; i++) map.set(`k${i}`, { count: 1, sum: i % 1000 });
  const after = heapAfterGc();
  send({ kind: 'memory', heapBytes: after - before, keys: map.size });
}

/** Heap held by weir's state for the same keys, while the query runs (its rows are generated per batch, not kept). */
async function weirMemory(keys: number): Promise<void> {
  const checkpoint = await tempDir('w7');
  const weir = new Weir();
  const control = { available: 0, maxPerTrigger: 100_000, rows: rowsOf((i) => counterRow(i, keys)) };
  const query = await countAndSum(generatorStream(weir, COUNTER_SCHEMA, control)).writeStream.outputMode('update')
    .foreachBatch(() => {}).option('checkpointLocation', checkpoint).trigger({ processingTime: 0 }).start();
  try {
    await query.processAllAvailable();
    const before = heapAfterGc();
    control.available = keys;
    await query.processAllAvailable();
    const after = heapAfterGc();
    send({ kind: 'memory', heapBytes: after - before, keys: query.lastProgress?.stateOperators[0]?.numRowsTotal ?? 0 });
  } finally {
    await query.stop();
    await removeDir(checkpoint);
  }
}

const [mode, ...args] = process.argv.slice(2);
try {
  switch (mode) {
    case 'w6-build': await build(args[0]!, Number(args[1]), stateStoreProviderNamed(args[2]!)); break;
    case 'w6-restart':
      await restart(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]), stateStoreProviderNamed(args[4]!));
      break;
    case 'w7-map': mapMemory(Number(args[0])); break;
    case 'w7-weir': await weirMemory(Number(args[0])); break;
    default: throw new Error(`unknown mode ${mode}`);
  }
} catch (err) {
  send({ kind: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  process.exitCode = 1;
}
