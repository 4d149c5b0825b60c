/**
 * W1 (stateless), W2 (windowed aggregation to files, checkpoint on disk) and W5 (W2 with the
 * checkpoint on disk vs in memory) over the same generated rows, drained as a backlog in batches.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSystemStorage } from '../../src/index.js';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import type { CheckpointStorage } from '../../src/index.js';
import { EVENT_SCHEMA, EventRow } from '../lib/data.js';
import { HandWindowAggregator, WindowResult } from '../lib/hand-agg.js';
import { removeDir, startToFiles, tempDir } from '../lib/harness.js';
import { alternate, median, threadCpuSeconds } from '../lib/measure.js';
import { filterProject, handFilterProject, timeBacklog, WATERMARK_MS, windowedCounts, WINDOW_MS } from '../lib/queries.js';
import { rate, ResultRow } from '../lib/report.js';
import { Suite, Workload } from '../lib/suite.js';

const perSecond = (rows: number, ms: number): number => (rows / ms) * 1000;

async function w1(suite: Suite): Promise<ResultRow> {
  const rows = suite.eventRows;
  const { chunk, reps } = suite.sizes;
  let weirOut = 0;
  let handOut = 0;
  const perCore: number[] = [];
  const samples = await alternate(reps, async () => {
    const checkpoint = await tempDir('w1');
    try {
      let out = 0;
      const run = await timeBacklog(rows, EVENT_SCHEMA, chunk, (df) => filterProject(df).writeStream
        .foreachBatch((batch) => { out += batch.length; })
        .option('checkpointLocation', checkpoint).trigger({ processingTime: 0 }).start());
      weirOut = out;
      perCore.push(rows.length / run.cpuSeconds);
      return perSecond(rows.length, run.ms);
    } finally {
      await removeDir(checkpoint);
    }
  }, async () => {
    const started = performance.now();
    let out = 0;
    for (let i = 0; i < rows.length; i += chunk) out += handFilterProject(rows.slice(i, i + chunk)).length;
    handOut = out;
    return perSecond(rows.length, performance.now() - started);
  });
  const weir = median(samples.a);
  const hand = median(samples.b);
  return {
    id: 'W1', workload: 'filter + projection, checkpoint on disk', weir: rate(weir, 'rows/s'), perCore: rate(median(perCore), 'rows/s'),
    baseline: rate(hand, 'rows/s'), baselineName: 'hand-written loop', ratio: weir / hand, goal: '≥ 0.8',
    met: weir / hand >= 0.8,
    notes: [
      `${rows.length} rows in batches of ${chunk}; sink: foreachBatch counting rows` +
        (weirOut === handOut ? '' : `; CHECK: weir emitted ${weirOut} rows, the loop ${handOut}`),
    ],
    details: { rows: rows.length, chunk, weirRowsPerSecond: samples.a, baselineRowsPerSecond: samples.b },
  };
}

/** W2 by hand over `rows` in batches of `chunk`: Map aggregation, closed windows appended to a file (no fsync). */
async function handWindowed(rows: readonly EventRow[], chunk: number, out: string): Promise<number> {
  const agg = new HandWindowAggregator(WINDOW_MS, WATERMARK_MS);
  let emitted = 0;
  for (let i = 0; i < rows.length; i += chunk) {
    const batch = rows.slice(i, i + chunk);
    for (const r of batch) agg.add(r.ts, r.key, r.value);
    const lines: string[] = [];
    agg.endBatch((row: WindowResult) => { lines.push(JSON.stringify(row)); });
    emitted += lines.length;
    if (lines.length > 0) await appendFile(out, `${lines.join('\n')}\n`);
  }
  return emitted;
}

async function w2(suite: Suite): Promise<ResultRow> {
  const rows = suite.eventRows;
  const { chunk, reps } = suite.sizes;
  const outputs = { weir: 0, hand: 0 };
  const perCore: number[] = [];
  const mainCpu = { weir: [] as number[], hand: [] as number[] };
  const samples = await alternate(reps, async () => {
    const [checkpoint, out] = [await tempDir('w2-checkpoint'), await tempDir('w2-out')];
    try {
      const run = await timeBacklog(rows, EVENT_SCHEMA, chunk, (df) => startToFiles(windowedCounts(df), checkpoint, out));
      outputs.weir = run.outputRows;
      perCore.push(rows.length / run.cpuSeconds);
      if (run.mainThreadCpuSeconds !== null) mainCpu.weir.push(run.mainThreadCpuSeconds);
      return perSecond(rows.length, run.ms);
    } finally {
      await Promise.all([removeDir(checkpoint), removeDir(out)]);
    }
  }, async () => {
    const out = await tempDir('w2-hand');
    try {
      const [started, cpu] = [performance.now(), threadCpuSeconds()];
      outputs.hand = await handWindowed(rows, chunk, join(out, 'results.json'));
      const cpuNow = threadCpuSeconds();
      if (cpu !== null && cpuNow !== null) mainCpu.hand.push(cpuNow - cpu);
      return perSecond(rows.length, performance.now() - started);
    } finally {
      await removeDir(out);
    }
  });
  const weir = median(samples.a);
  const hand = median(samples.b);
  const notes = [`${rows.length} rows, ${chunk} per batch, 10k keys, 1 s windows; checkpoint on local disk (fsync)`];
  if (mainCpu.weir.length > 0 && mainCpu.hand.length > 0) {
    const [weirCpu, handCpu] = [median(mainCpu.weir), median(mainCpu.hand)];
    // What bounds the wall clock on a quiet machine, and moves far less than it on a busy one.
    notes.push(`main-thread CPU per run: weir ${weirCpu.toFixed(2)} s, the hand loop ${handCpu.toFixed(2)} s (hand ÷ weir ${(handCpu / weirCpu).toFixed(2)})`);
  }
  if (outputs.weir !== outputs.hand) notes.push(`CHECK: weir emitted ${outputs.weir} rows, the baseline ${outputs.hand}`);
  return {
    id: 'W2', workload: 'windowed aggregation → files', weir: rate(weir, 'rows/s'), perCore: rate(median(perCore), 'rows/s'), baseline: rate(hand, 'rows/s'),
    baselineName: 'hand-written Map, no durability', ratio: weir / hand, goal: '≥ 0.5', met: weir / hand >= 0.5, notes,
    details: {
      rows: rows.length, chunk, outputRows: outputs, weirRowsPerSecond: samples.a, baselineRowsPerSecond: samples.b,
      weirMainThreadCpuSeconds: mainCpu.weir, baselineMainThreadCpuSeconds: mainCpu.hand,
    },
  };
}

async function w5(suite: Suite): Promise<ResultRow> {
  const rows = suite.eventRows;
  const { chunk, reps } = suite.sizes;
  const run = async (storage: (dir: string) => CheckpointStorage): Promise<number> => {
    const [checkpoint, out] = [await tempDir('w5-checkpoint'), await tempDir('w5-out')];
    try {
      const result = await timeBacklog(rows, EVENT_SCHEMA, chunk, (df) => startToFiles(windowedCounts(df), storage(checkpoint), out));
      return perSecond(rows.length, result.ms);
    } finally {
      await Promise.all([removeDir(checkpoint), removeDir(out)]);
    }
  };
  const samples = await alternate(reps, () => run((dir) => new FileSystemStorage(dir)), () => run(() => new MemoryStorage()));
  const disk = median(samples.a);
  const memory = median(samples.b);
  return {
    id: 'W5', workload: 'W2, checkpoint on disk vs in memory', weir: rate(disk, 'rows/s'), baseline: rate(memory, 'rows/s'),
    baselineName: 'same engine, MemoryStorage', ratio: disk / memory, goal: '≥ 0.9', met: disk / memory >= 0.9,
    notes: ['both sides start through the public writer with writeStream.checkpointStorage(storage), so only the ' +
      'checkpoint storage differs; the result files are written the same way in both'],
    details: { diskRowsPerSecond: samples.a, memoryRowsPerSecond: samples.b },
  };
}

/** W2L: W2 with the lmdb state store against the memory provider, alternating in one process. */
async function w2Lmdb(suite: Suite): Promise<ResultRow> {
  const rows = suite.eventRows;
  const { chunk, reps } = suite.sizes;
  const outputs: Record<string, number> = {};
  const run = async (provider: 'memory' | 'lmdb'): Promise<number> => {
    const [checkpoint, out] = [await tempDir('w2l-checkpoint'), await tempDir('w2l-out')];
    try {
      const result = await timeBacklog(rows, EVENT_SCHEMA, chunk,
        (df) => startToFiles(windowedCounts(df), checkpoint, out, 'append', provider));
      outputs[provider] = result.outputRows;
      return perSecond(rows.length, result.ms);
    } finally {
      await Promise.all([removeDir(checkpoint), removeDir(out)]);
    }
  };
  const samples = await alternate(reps, () => run('lmdb'), () => run('memory'));
  const [lmdb, memory] = [median(samples.a), median(samples.b)];
  const notes = ['W2\'s query and input; only option(\'stateStoreProvider\') differs'];
  if (outputs['lmdb'] !== outputs['memory']) notes.push(`CHECK: lmdb emitted ${outputs['lmdb']} rows, memory ${outputs['memory']}`);
  return {
    id: 'W2L', workload: 'W2 with the lmdb state store', weir: rate(lmdb, 'rows/s'), baseline: rate(memory, 'rows/s'),
    baselineName: 'memory state store', ratio: lmdb / memory, goal: '≥ 0.5', met: lmdb / memory >= 0.5, notes,
    details: { lmdbRowsPerSecond: samples.a, memoryRowsPerSecond: samples.b },
  };
}

export const memoryWorkloads: Workload = {
  ids: ['W1', 'W2', 'W2L', 'W5'],
  async run(suite, only) {
    const rows: ResultRow[] = [];
    if (only('W1')) rows.push(await w1(suite));
    if (only('W2')) rows.push(await w2(suite));
    if (only('W2L')) rows.push(await w2Lmdb(suite));
    if (only('W5')) rows.push(await w5(suite));
    return rows;
  },
};
