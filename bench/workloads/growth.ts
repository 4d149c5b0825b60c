/**
 * W8: does a batch cost more as total input grows? W2's query runs over a generated stream; at 1×,
 * 10× and 100× of a base input it processes a few batches of a fixed size and reports their median
 * time. The baseline is what a cron job does: recompute the aggregation over all input so far
 * (generated in memory, no output written: the cron side gets every benefit).
 */
import { Weir } from '../../src/index.js';
import type { StreamingQueryProgress } from '../../src/index.js';
import { eventAt, EVENT_SCHEMA } from '../lib/data.js';
import { generatorStream, rowsOf } from '../lib/gen-source.js';
import { HandWindowAggregator } from '../lib/hand-agg.js';
import { FILE_SINK_NOTE, fileSinkRegistered, removeDir, startToFiles, tempDir } from '../lib/harness.js';
import { median } from '../lib/measure.js';
import { WATERMARK_MS, windowedCounts, WINDOW_MS } from '../lib/queries.js';
import { ResultRow } from '../lib/report.js';
import { Suite, Workload } from '../lib/suite.js';

const MULTIPLES = [1, 10, 100] as const;
const MEASURED_BATCHES = 5;
/** Rows per batch while catching up to the next measuring point. */
const CATCH_UP_BATCH = 200_000;

async function weirPerBatch(base: number, batch: number): Promise<number[]> {
  const weir = new Weir();
  const control = { available: 0, maxPerTrigger: batch, rows: rowsOf(eventAt) };
  const progress: StreamingQueryProgress[] = [];
  weir.streams.addListener({ onQueryProgress: (e) => { progress.push(e.progress); } });
  const [checkpoint, out] = [await tempDir('w8-checkpoint'), await tempDir('w8-out')];
  const query = await startToFiles(windowedCounts(generatorStream(weir, EVENT_SCHEMA, control)), checkpoint, out);
  try {
    const perBatch: number[] = [];
    for (const multiple of MULTIPLES) {
      const total = base * multiple;
      control.maxPerTrigger = CATCH_UP_BATCH;
      control.available = total - MEASURED_BATCHES * batch;
      await query.processAllAvailable();
      control.maxPerTrigger = batch;
      control.available = total;
      const mark = progress.length;
      await query.processAllAvailable();
      const measured = progress.slice(mark).filter((p) => p.numInputRows === batch);
      perBatch.push(median(measured.map((p) => p.durationMs['triggerExecution'] ?? NaN)));
    }
    return perBatch;
  } finally {
    await query.stop();
    await Promise.all([removeDir(checkpoint), removeDir(out)]);
  }
}

/** One cron run over rows [0, total): regenerate and aggregate everything. */
function cronRun(total: number): number {
  const started = performance.now();
  const agg = new HandWindowAggregator(WINDOW_MS, WATERMARK_MS);
  for (let i = 0; i < total; i++) {
    const e = eventAt(i);
    agg.add(e.ts, e.key, e.value);
  }
  let rows = 0;
  agg.emitAll(() => { rows++; });
  return performance.now() - started;
}

export const growthWorkloads: Workload = {
  ids: ['W8'],
  async run(suite) {
    const { growthBase, growthBatch, reps } = suite.sizes;
    const weir = await weirPerBatch(growthBase, growthBatch);
    const cron = MULTIPLES.map((m) => median(Array.from({ length: reps }, () => cronRun(growthBase * m))));
    const text = (ms: readonly number[]): string => `${ms.map((v) => v.toFixed(0)).join(' / ')} ms`;
    const growth = weir[2]! / weir[0]!;
    const notes = [`ms per batch of ${growthBatch} rows after ${MULTIPLES.map((m) => m * growthBase).join(' / ')} rows ` +
      `of input (1× / 10× / 100×); weir grows ${growth.toFixed(2)}×, the cron recompute ` +
      `${(cron[2]! / cron[0]!).toFixed(1)}×; ratio is weir ÷ cron at 100×`];
    if (!fileSinkRegistered()) notes.push(FILE_SINK_NOTE);
    return [{
      id: 'W8', workload: 'per-batch cost at 1× / 10× / 100× input', weir: { value: weir[2]!, unit: 'ms', text: text(weir) },
      baseline: { value: cron[2]!, unit: 'ms', text: text(cron) }, baselineName: 'cron: recompute all',
      ratio: weir[2]! / cron[2]!, goal: 'flat (100× ≤ 1.5 × 1×) vs linear', met: growth <= 1.5, notes,
      details: { weirMsPerBatch: weir, cronMs: cron, base: growthBase, batch: growthBatch },
    }];
  },
};
