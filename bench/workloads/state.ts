/**
 * W6: restart with a large state (SIGKILL, start, first batch committed), and the state commit cost
 * of a batch that changes 1k keys with a large vs a small total state. W7: heap bytes per key of
 * count+sum state against a raw Map. Both run in child processes (bench/child.ts): W6 to kill for
 * real, W7 to measure heap with --expose-gc away from the suite's own allocations.
 */
import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { median } from '../lib/measure.js';
import { removeDir, tempDir } from '../lib/harness.js';
import { figure, ResultRow } from '../lib/report.js';
import { ChildMessage } from '../lib/state-query.js';
import type { ScaleFigures } from '../state-scale.js';
import { Suite, Workload } from '../lib/suite.js';

const CHILD = fileURLToPath(new URL('../child.js', import.meta.url));
const SCALE_CHILD = fileURLToPath(new URL('../state-scale.js', import.meta.url));
/** Rows per batch after a restart: each batch changes this many keys. */
const CHANGED_KEYS = 1000;
const BATCHES_AFTER_RESTART = 20;

type Kind = ChildMessage['kind'];

function spawnChild(args: readonly string[], execArgv: readonly string[] = []): ChildProcess {
  return fork(CHILD, args, { execArgv: [...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** The child's next message of `kind`; rejects if it reports an error or exits first. */
function waitFor<K extends Kind>(child: ChildProcess, kind: K): Promise<Extract<ChildMessage, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (m: ChildMessage): void => {
      if (m.kind === kind) { cleanup(); resolve(m as Extract<ChildMessage, { kind: K }>); }
      if (m.kind === 'error') { cleanup(); reject(new Error(`bench child failed: ${m.message}`)); }
    };
    const onExit = (code: number | null): void => { cleanup(); reject(new Error(`bench child exited (${code}) before '${kind}'`)); };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

interface RestartFigures { restartSeconds: number[]; commitMs: number[]; batchMs: number[]; firstCommitRssMb: number[]; lastRssMb: number[] }

/** Builds `keys` keys of state in one child, kills it, then restarts `reps` times (each killed after its batches). */
async function restarts(keys: number, reps: number, provider: 'memory' | 'lmdb' = 'memory'): Promise<RestartFigures> {
  const checkpoint = await tempDir('w6');
  const out: RestartFigures = { restartSeconds: [], commitMs: [], batchMs: [], firstCommitRssMb: [], lastRssMb: [] };
  try {
    const builder = spawnChild(['w6-build', checkpoint, String(keys), provider]);
    try {
      await waitFor(builder, 'built');
    } finally {
      await kill(builder);
    }
    for (let rep = 0; rep < reps; rep++) {
      const available = keys + (rep + 1) * BATCHES_AFTER_RESTART * CHANGED_KEYS;
      const started = performance.now();
      const child = spawnChild(['w6-restart', checkpoint, String(keys), String(available), String(CHANGED_KEYS), provider]);
      try {
        const batches = waitFor(child, 'batches');
        batches.catch(() => undefined); // awaited below; a failure surfaces through firstCommit first
        const first = await waitFor(child, 'firstCommit');
        out.restartSeconds.push((performance.now() - started) / 1000);
        out.firstCommitRssMb.push(first.rssBytes / 2 ** 20);
        const report = await batches;
        out.lastRssMb.push(report.rssBytes / 2 ** 20);
        // The first batch after a restart is cold (JIT, file handles): the steady cost is the rest.
        out.commitMs.push(...report.commitMs.slice(1));
        out.batchMs.push(...report.batchMs.slice(1));
      } finally {
        await kill(child);
      }
    }
    return out;
  } finally {
    await removeDir(checkpoint);
  }
}

async function w6(suite: Suite): Promise<ResultRow[]> {
  const { restartKeys, smallKeys, reps } = suite.sizes;
  const large = await restarts(restartKeys, reps);
  const small = await restarts(smallKeys, reps);
  const [largeRestart, smallRestart] = [median(large.restartSeconds), median(small.restartSeconds)];
  const [largeCommit, smallCommit] = [median(large.commitMs), median(small.commitMs)];
  const keysText = (n: number): string => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
  return [{
    id: 'W6a', workload: `restart with ${keysText(restartKeys)} keys of state`, weir: figure(largeRestart, 's'),
    baseline: figure(smallRestart, 's'), baselineName: `same, ${keysText(smallKeys)} keys`, ratio: null, goal: '< 2 s',
    met: largeRestart < 2,
    notes: ['SIGKILL of the running query, then spawn of a new process → its first batch committed (includes Node ' +
      'start-up and loading the state from snapshot + deltas)'],
    details: { large, small },
  }, {
    id: 'W6b', workload: `state commit of a batch changing 1k keys, ${keysText(restartKeys)} vs ${keysText(smallKeys)} keys`,
    weir: figure(largeCommit, 'ms'), baseline: figure(smallCommit, 'ms'), baselineName: `${keysText(smallKeys)} keys total`,
    ratio: largeCommit / smallCommit, goal: '≈ 1 (≤ 1.5)', met: largeCommit / smallCommit <= 1.5,
    notes: [`median StateStore.commit() time over ${BATCHES_AFTER_RESTART - 1} batches × ${reps} restart(s); whole ` +
      `batch (triggerExecution) median ${median(large.batchMs).toFixed(0)} ms vs ${median(small.batchMs).toFixed(0)} ms`],
  }];
}

/**
 * W6L: the same restart and commit figures with the lmdb state store, side by side with the memory
 * provider at the same key count (`diskStateKeys`), and its commit cost at that size against a small state.
 */
async function w6Lmdb(suite: Suite): Promise<ResultRow[]> {
  const { diskStateKeys, smallKeys, reps } = suite.sizes;
  const lmdb = await restarts(diskStateKeys, reps, 'lmdb');
  const memory = await restarts(diskStateKeys, reps, 'memory');
  const lmdbSmall = await restarts(smallKeys, reps, 'lmdb');
  const [lmdbRestart, memoryRestart] = [median(lmdb.restartSeconds), median(memory.restartSeconds)];
  const [largeCommit, smallCommit] = [median(lmdb.commitMs), median(lmdbSmall.commitMs)];
  const rss = (f: RestartFigures): string => `${median(f.firstCommitRssMb).toFixed(0)} MB`;
  const keysText = (n: number): string => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
  return [{
    id: 'W6L-a', workload: `restart with ${keysText(diskStateKeys)} keys, lmdb state store`, weir: figure(lmdbRestart, 's'),
    baseline: figure(memoryRestart, 's'), baselineName: 'memory provider, same keys', ratio: lmdbRestart / memoryRestart,
    goal: '< 1 s', met: lmdbRestart < 1,
    notes: [`SIGKILL, spawn → first batch committed (Node start-up included); RSS at that point ${rss(lmdb)} (lmdb) vs ` +
      `${rss(memory)} (memory); lmdb with ${keysText(smallKeys)} keys: ${median(lmdbSmall.restartSeconds).toFixed(2)} s`],
    details: { lmdb, memory },
  }, {
    id: 'W6L-b', workload: `lmdb state commit of a batch changing 1k keys, ${keysText(diskStateKeys)} vs ${keysText(smallKeys)} keys`,
    weir: figure(largeCommit, 'ms'), baseline: figure(smallCommit, 'ms'), baselineName: `${keysText(smallKeys)} keys total`,
    ratio: largeCommit / smallCommit, goal: '≈ 1 (≤ 1.5)', met: largeCommit / smallCommit <= 1.5,
    notes: [`median StateStore.commit() (delta files synced, then the LMDB transaction) over ${BATCHES_AFTER_RESTART - 1} ` +
      `batches × ${reps} restart(s); memory provider at ${keysText(diskStateKeys)}: ${median(memory.commitMs).toFixed(1)} ms`],
    details: { lmdbSmall },
  }];
}

/**
 * The memory provider's side of W6S stops here: it holds every key on the heap (10 M keys: 2.7 GB), so
 * 100 M would not fit this machine.
 */
const MEMORY_SCALE_LIMIT = 10_000_000;

/** Runs bench/state-scale.ts for `provider` up to each of `sizes`; one figure per size. */
async function scale(provider: 'memory' | 'lmdb', sizes: readonly number[]): Promise<ScaleFigures[]> {
  const folder = await tempDir('w6s');
  const child = fork(SCALE_CHILD, [folder, provider, sizes.join(',')], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const figures: ScaleFigures[] = [];
  child.on('message', (m: ScaleFigures) => figures.push(m));
  try {
    const [code] = await once(child, 'exit') as [number | null];
    if (code !== 0 || figures.length !== sizes.length) throw new Error(`state-scale ${provider} exited with ${code}`);
    return figures;
  } finally {
    await kill(child);
    await removeDir(folder);
  }
}

/**
 * W6S: the state commit of a batch changing 10k random existing keys as the key count grows, through
 * the StateStore API (a query would take hours to build 100M keys), with the process's memory and the
 * bytes on disk at each size; the lmdb store side by side with the memory provider.
 */
async function w6Scale(suite: Suite): Promise<ResultRow[]> {
  const { scaleKeys, smallScaleKeys } = suite.sizes;
  const sizes = [smallScaleKeys, scaleKeys];
  const [lmdbSmall, lmdbLarge] = await scale('lmdb', sizes);
  const [memorySmall, memoryLarge] = await scale('memory', [smallScaleKeys, Math.min(scaleKeys, MEMORY_SCALE_LIMIT)]);
  const keysText = (n: number): string => `${n / 1e6}M`;
  const describe = (f: ScaleFigures): string => `${keysText(f.keys)} keys: median ${f.commitMs.toFixed(0)} ms, mean ` +
    `${f.meanCommitMs.toFixed(0)} ms, RSS ${f.rssAnonMb.toFixed(0)} MB anonymous + ${f.rssFileMb.toFixed(0)} MB file pages, ` +
    `disk ${f.diskMb.toFixed(0)} MB`;
  const ratio = lmdbLarge!.commitMs / lmdbSmall!.commitMs;
  return [{
    id: 'W6S', workload: `lmdb state commit, 10k random keys changed, ${keysText(scaleKeys)} vs ${keysText(smallScaleKeys)} keys`,
    weir: figure(lmdbLarge!.commitMs, 'ms'), baseline: figure(lmdbSmall!.commitMs, 'ms'),
    baselineName: `${keysText(smallScaleKeys)} keys`, ratio, goal: '≤ 1.5', met: ratio <= 1.5,
    notes: [`median StateStore.commit() over 20 batches with the default snapshot interval (10): the lmdb store writes ` +
      'its working copy at every 10th, so the mean shows that cost; lmdb ' + describe(lmdbSmall!) + '; ' + describe(lmdbLarge!) +
      `; memory provider ${describe(memorySmall!)}; ${describe(memoryLarge!)} (WEIR_BENCH_SCALE_KEYS sets the large size)`],
    details: { lmdb: [lmdbSmall, lmdbLarge], memory: [memorySmall, memoryLarge] },
  }];
}

async function heapPerKey(mode: 'w7-weir' | 'w7-map', keys: number): Promise<number> {
  const child = spawnChild([mode, String(keys)], ['--expose-gc']);
  const exited = once(child, 'exit');
  try {
    const report = await waitFor(child, 'memory');
    await exited; // the child stops its query and removes its checkpoint before exiting
    return report.heapBytes / report.keys;
  } finally {
    await kill(child);
  }
}

async function w7(suite: Suite): Promise<ResultRow> {
  const { memoryKeys, reps } = suite.sizes;
  const weir: number[] = [];
  const map: number[] = [];
  for (let i = 0; i < reps; i++) {
    weir.push(await heapPerKey('w7-weir', memoryKeys));
    map.push(await heapPerKey('w7-map', memoryKeys));
  }
  const [w, m] = [median(weir), median(map)];
  return {
    id: 'W7', workload: 'state memory, count+sum per short string key', weir: figure(w, 'B/key', 0),
    baseline: figure(m, 'B/key', 0), baselineName: 'Map<string, {count, sum}>', ratio: w / m, goal: '≤ 2 (lower is better)',
    met: w / m <= 2,
    notes: [`${memoryKeys} keys 'k<n>'; heapUsed after gc, before vs after, in a child with --expose-gc; weir's ` +
      'figure is the whole running query\'s growth (state, its change tracking, progress), its input is not retained'],
    details: { weirBytesPerKey: weir, mapBytesPerKey: map },
  };
}

export const stateWorkloads: Workload = {
  ids: ['W6', 'W6L', 'W6S', 'W7'],
  async run(suite, only) {
    const rows: ResultRow[] = [];
    if (only('W6')) rows.push(...await w6(suite));
    if (only('W6L')) rows.push(...await w6Lmdb(suite));
    if (only('W6S')) rows.push(...await w6Scale(suite));
    if (only('W7')) rows.push(await w7(suite));
    return rows;
  },
};
