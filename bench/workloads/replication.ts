/**
 * REPL and TAKEOVER: what the checkpoint on NATS JetStream costs next to the local disk, in the same run.
 *
 * REPL: the durable writes of one batch (offsets entry, one state delta per partition, commit entry), and
 * W4's end-to-end latency (W2's windowed query → files, 1000 rows/s), each on the local disk and on
 * JetStream with 1 and 3 replicas. TAKEOVER: a standby taking over a query with 1 M keys of state (W6's
 * count and sum per key): warm (it followed the state while it waited) vs cold (it loads the state then).
 *
 * Needs a NATS cluster: $WEIR_BENCH_NATS_URL or $WEIR_TEST_NATS_URL (`bash scripts/services.sh start &&
 * eval "$(bash scripts/services.sh env)"` starts three servers on loopback). Without one the rows say why.
 */
import { CheckpointStorage } from '../../src/checkpoint/storage.js';
import { encodeFile } from '../../src/checkpoint/file-format.js';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { errorMessage } from '../../src/common/errors.js';
import { connectJetStream, JetStreamHandle } from '../../src/connectors/nats/client.js';
import { JetStreamStorage } from '../../src/connectors/nats/jetstream-storage.js';
import { TakeoverReport } from '../../src/engine/progress.js';
import { Weir } from '../../src/index.js';
import type { StreamingQuery } from '../../src/index.js';
import { inMemoryStateProvider } from '../../src/state/memory-provider.js';
import { StateFollower, StateStoreProvider } from '../../src/state/state-store.js';
import { generatorStream, GeneratorControl, rowsOf } from '../lib/gen-source.js';
import { removeDir, startToFiles, tempDir } from '../lib/harness.js';
import { median, percentile } from '../lib/measure.js';
import { windowedCounts } from '../lib/queries.js';
import { figure, ResultRow } from '../lib/report.js';
import { COUNTER_SCHEMA, counterRow, countAndSum } from '../lib/state-query.js';
import { Suite, Workload } from '../lib/suite.js';
import { latencyRun } from './latency.js';

const PARTITIONS = 4;
const REPLICAS = [1, 3] as const;

/** The cluster, and the buckets made on it (deleted at the end). */
class Cluster {
  private readonly names: string[] = [];
  private constructor(readonly hosts: string, private readonly admin: JetStreamHandle) {}

  static async connect(url: string): Promise<Cluster> {
    return new Cluster(url.replace(/^nats:\/\//, ''), await connectJetStream([url], 'benchmark'));
  }

  location(label: string, replicas: number): string {
    const name = `bench_${label}_${process.pid}_${this.names.length}`;
    this.names.push(name);
    return `nats://${this.hosts}/${name}?replicas=${replicas}`;
  }

  async close(): Promise<void> {
    for (const name of this.names) {
      for (const stream of [`KV_weir_${name}`, `OBJ_weir_${name}`]) await this.admin.jsm.streams.delete(stream).catch(() => false);
    }
    await this.admin.nc.close();
  }
}

/** Per batch: the offsets entry, the deltas (in parallel, as a state commit writes them), the commit entry. */
async function batchCommitTimes(storage: CheckpointStorage, batches: number): Promise<number[]> {
  const lock = await storage.lock({ queryId: 'bench', runId: 'bench' }, { leaseTimeoutMs: 10_000 });
  const delta = encodeFile('state-delta', 3, Buffer.alloc(2_048, 1)); // small: the cost measured is the round trips
  const times: number[] = [];
  try {
    for (let n = 0; n < batches; n++) {
      const t = performance.now();
      await storage.writeAtomic(`offsets/${n}`, encodeFile('offsets', 1, `{"batch":${n}}`), { overwrite: false });
      await Promise.all(Array.from({ length: PARTITIONS },
        (_, p) => storage.writeAtomic(`state/0/${p}/${n}.delta`, delta, { overwrite: true })));
      await storage.writeAtomic(`commits/${n}`, encodeFile('commits', 1, `{"batch":${n}}`), { overwrite: false });
      times.push(performance.now() - t);
    }
  } finally {
    await lock.release();
  }
  return times.sort((a, b) => a - b);
}

interface Quantiles { readonly p50: number; readonly p99: number }

function quantiles(sorted: readonly number[]): Quantiles {
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

function pq({ p50, p99 }: Quantiles): string {
  return `p50 ${p50.toFixed(1)} / p99 ${p99.toFixed(1)} ms`;
}

/** One row per replica count, next to the local disk measured in the same run. */
function comparedRows(workload: string, local: Quantiles, remote: readonly Quantiles[], by: 'p50' | 'p99',
  notes: readonly string[]): ResultRow[] {
  return REPLICAS.map((replicas, i) => {
    const q = remote[i]!;
    return {
      id: 'REPL', workload: `${workload}, JetStream R${replicas}`, weir: { ...figure(q[by], 'ms'), text: pq(q) },
      baseline: { ...figure(local[by], 'ms'), text: pq(local) }, baselineName: 'local disk', ratio: q[by] / local[by],
      goal: 'reference', met: null, notes: [`ratio: ${by} on JetStream ÷ ${by} on the local disk`, ...notes],
      details: { local, remote: q },
    };
  });
}

async function commitRows(suite: Suite, cluster: Cluster): Promise<ResultRow[]> {
  const batches = suite.quick ? 50 : 200;
  const dir = await tempDir('repl-commit');
  try {
    const local = quantiles(await batchCommitTimes(new FileSystemStorage(dir), batches));
    const remote: Quantiles[] = [];
    for (const replicas of REPLICAS) {
      const storage = new JetStreamStorage(cluster.location('commit', replicas));
      remote.push(quantiles(await batchCommitTimes(storage, batches)));
    }
    return comparedRows(`batch commit (offsets, ${PARTITIONS} deltas, commit)`, local, remote, 'p50', [`${batches} batches each`]);
  } finally {
    await removeDir(dir);
  }
}

async function latencyRows(suite: Suite, cluster: Cluster): Promise<ResultRow[]> {
  const measure = async (location: (() => string) | null): Promise<Quantiles> => {
    const p50: number[] = [];
    const p99: number[] = [];
    for (let i = 0; i < suite.sizes.reps; i++) {
      const { latencies } = await latencyRun(suite.sizes.latencySeconds,
        (df, checkpoint, out) => startToFiles(windowedCounts(df), location?.() ?? checkpoint, out), { logLevel: 'silent' });
      p50.push(percentile(latencies, 0.5));
      p99.push(percentile(latencies, 0.99));
    }
    return { p50: median(p50), p99: median(p99) };
  };
  const local = await measure(null);
  const remote: Quantiles[] = [];
  for (const replicas of REPLICAS) remote.push(await measure(() => cluster.location('latency', replicas)));
  return comparedRows('W4 latency, W2 query → files', local, remote, 'p99',
    [`W4's method: 1000 rows/s for ${suite.sizes.latencySeconds} s per run, due time → onQueryProgress after commits/N`]);
}

/** The in-memory provider, with a warm copy that is never taken: a standby that loads the state when it takes over. */
const coldProvider: StateStoreProvider = {
  name: 'memory',
  open: (options) => inMemoryStateProvider.open(options),
  async follow<V>(): Promise<StateFollower<V>> {
    return {
      version: -1, size: 0, advanceTo: async () => {},
      takeOver: async () => ({ store: null, reason: 'the benchmark measures a cold takeover' }),
    };
  },
};

interface Instance {
  readonly weir: Weir;
  /** Resolves once start() did: for a standby, once it took over. */
  readonly started: Promise<StreamingQuery>;
  readonly takeover: Promise<TakeoverReport>;
  /** Resolves once the standby's copy followed batch `batchId` with `rows` keys (any batch when `rows` is 0). */
  followed(batchId: number, rows: number): Promise<void>;
}

function startCounter(location: string, control: GeneratorControl, provider: StateStoreProvider, standby: boolean): Instance {
  const weir = new Weir({ logLevel: 'silent' });
  let resolveTakeover!: (report: TakeoverReport) => void;
  const takeover = new Promise<TakeoverReport>((resolve) => { resolveTakeover = resolve; });
  const waiters: { batchId: number; rows: number; resolve: () => void }[] = [];
  weir.streams.addListener({
    onQueryStarted: (e) => { if (e.takeover) resolveTakeover(e.takeover); },
    onQueryStandby: (e) => {
      for (const w of waiters.filter((w) => e.followedBatchId >= w.batchId && e.stateRows >= w.rows)) w.resolve();
    },
  });
  const started = countAndSum(generatorStream(weir, COUNTER_SCHEMA, control)).writeStream.foreachBatch(() => {})
    .outputMode('update').option('checkpointLocation', location).option('standby', standby).option('leaseTimeoutMs', 10_000)
    .stateStore(provider).trigger({ processingTime: 0 }).start();
  return {
    weir, started, takeover,
    followed: (batchId, rows) => new Promise((resolve) => { waiters.push({ batchId, rows, resolve }); }),
  };
}

/**
 * One checkpoint with `keys` keys of state on JetStream R3: the first instance builds it; a warm standby
 * takes it over when that one stops; then a cold standby takes it over from the second. A clean stop
 * releases the lease, so each figure is the takeover itself: a lost machine adds `leaseTimeoutMs`.
 */
async function takeoverRows(suite: Suite, cluster: Cluster): Promise<ResultRow[]> {
  const keys = suite.sizes.restartKeys;
  const location = cluster.location('takeover', 3);
  const control: GeneratorControl = { available: keys, maxPerTrigger: suite.sizes.chunk, rows: rowsOf((i) => counterRow(i, keys)) };
  const instances: Instance[] = [];
  try {
    const first = startCounter(location, control, inMemoryStateProvider, false);
    instances.push(first);
    const firstQuery = await first.started;
    await firstQuery.processAllAvailable();
    const lastBatch = firstQuery.lastProgress?.batchId ?? 0;
    const warm = startCounter(location, control, inMemoryStateProvider, true);
    instances.push(warm);
    await warm.followed(lastBatch, keys);
    await firstQuery.stop();
    const warmQuery = await warm.started;
    const warmReport = await warm.takeover;
    const cold = startCounter(location, control, coldProvider, true);
    instances.push(cold);
    await cold.followed(lastBatch, 0);
    await warmQuery.stop();
    await cold.started;
    const coldReport = await cold.takeover;
    if (!warmReport.warm || coldReport.warm) {
      throw new Error(`expected a warm then a cold takeover: ${JSON.stringify([warmReport, coldReport])}`);
    }
    return [{
      id: 'TAKEOVER', workload: `standby takeover with ${keys / 1e6 >= 1 ? `${keys / 1e6}M` : `${keys / 1e3}k`} keys of state, JetStream R3`,
      weir: { ...figure(warmReport.ms, 'ms', 0), text: `${warmReport.ms} ms (warm)` },
      baseline: { ...figure(coldReport.ms, 'ms', 0), text: `${coldReport.ms} ms` }, baselineName: 'cold standby: loads the state',
      ratio: warmReport.ms / coldReport.ms, goal: 'reference', met: null,
      notes: [`lease taken → ready to run a batch (takeover.ms); ${warmReport.stateRows} / ${coldReport.stateRows} state rows; ` +
        'a lost active adds leaseTimeoutMs before it (10 s by default); one run each'],
      details: { warm: warmReport, cold: coldReport },
    }];
  } finally {
    for (const instance of instances) {
      await instance.started.then((q) => q.stop()).catch(() => undefined);
      await instance.weir.close();
    }
  }
}

function skipped(ids: readonly string[], why: string): ResultRow[] {
  process.stderr.write(`(${ids.join(', ')} skipped: ${why}) `);
  return ids.map((id) => ({
    id, workload: id === 'REPL' ? 'checkpoint on JetStream vs local disk' : 'standby takeover, warm vs cold', weir: null,
    baseline: null, baselineName: '—', ratio: null, goal: 'reference', met: null, notes: [`skipped: ${why}`],
  }));
}

export const replicationWorkloads: Workload = {
  ids: ['REPL', 'TAKEOVER'],
  async run(suite, only) {
    const ids = this.ids.filter(only);
    const url = process.env['WEIR_BENCH_NATS_URL'] ?? process.env['WEIR_TEST_NATS_URL'];
    if (!url) {
      return skipped(ids, 'no NATS cluster: set WEIR_BENCH_NATS_URL (or run `bash scripts/services.sh start && ' +
        'eval "$(bash scripts/services.sh env)"` first, which starts three servers on loopback)');
    }
    let cluster: Cluster;
    try {
      cluster = await Cluster.connect(url);
    } catch (err) {
      return skipped(ids, `the NATS cluster at ${url} is not reachable (${errorMessage(err)})`);
    }
    try {
      const rows: ResultRow[] = [];
      if (only('REPL')) rows.push(...await commitRows(suite, cluster), ...await latencyRows(suite, cluster));
      if (only('TAKEOVER')) rows.push(...await takeoverRows(suite, cluster));
      return rows;
    } finally {
      await cluster.close();
    }
  },
};
