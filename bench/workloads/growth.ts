/**
 * W8: does a batch cost more as total input grows? W2's query drains a generated stream in
 * batches of one fixed size, from the start up to 100× a base input; the figure at 1×, 10× and
 * 100× is the median time of the batches just before that point. Event time advances slowly
 * enough that the base input already spans more than the watermark delay, so the state is at its
 * (watermark-bounded) size from 1× on and any growth after that is growth with total input.
 * The baseline is what a cron job does: recompute the aggregation over all input so far
 * (generated in memory, one pass closing windows as it goes so its memory stays bounded, no
 * output written: the cron side gets every benefit).
 */
import { Weir } from '../../src/index.js';
import type { StreamingQueryProgress } from '../../src/index.js';
import { eventAt, EVENT_SCHEMA } from '../lib/data.js';
import { generatorStream, rowsOf } from '../lib/gen-source.js';
import { HandWindowAggregator } from '../lib/hand-agg.js';
import { removeDir, startToFiles, tempDir } from '../lib/harness.js';
import { median } from '../lib/measure.js';
import { WATERMARK_MS, windowedCounts, WINDOW_MS } from '../lib/queries.js';
import { Workload } from '../lib/suite.js';

const MULTIPLES = [1, 10, 100] as const;
/** Batches measured before each point: two snapshot intervals, so periodic work is represented. */
const MEASURED_BATCHES = 20;

async function weirPerBatch(base: number, batch: number, eventsPerSecond: number): Promise<number[]> {
  const weir = new Weir();
  const last = base * MULTIPLES[MULTIPLES.length - 1]!;
  const control = { available: 0, maxPerTrigger: batch, rows: rowsOf((i) => eventAt(i, eventsPerSecond)) };
  const progress: StreamingQueryProgress[] = [];
  weir.streams.addListener({ onQueryProgress: (e) => { progress.push(e.progress); } });
  const [checkpoint, out] = [await tempDir('w8-checkpoint'), await tempDir('w8-out')];
  const query = await startToFiles(windowedCounts(generatorStream(weir, EVENT_SCHEMA, control)), checkpoint, out);
  try {
    control.available = last;
    await query.processAllAvailable();
  } finally {
    await query.stop();
    await Promise.all([removeDir(checkpoint), removeDir(out)]);
  }
  return MULTIPLES.map((m) => {
    const point = base * m;
    const before = progress.filter((p) => {
      const end = p.sources[0]?.endOffset as number | null;
      return p.numInputRows > 0 && end !== null && end <= point && end > point - MEASURED_BATCHES * batch;
    });
    return median(before.map((p) => p.durationMs['triggerExecution'] ?? NaN));
  });
}

/** One cron run over rows [0, total): regenerate and aggregate everything. */
function cronRun(total: number, eventsPerSecond: number, batch: number): number {
  const started = performance.now();
  const agg = new HandWindowAggregator(WINDOW_MS, WATERMARK_MS);
  let rows = 0;
  const count = (): void => { rows++; };
  for (let i = 0; i < total; i++) {
    const e = eventAt(i, eventsPerSecond);
    agg.add(e.ts, e.key, e.value);
    if ((i + 1) % batch === 0) agg.endBatch(count);
  }
  agg.emitAll(count);
  return performance.now() - started;
}

export const growthWorkloads: Workload = {
  ids: ['W8'],
  async run(suite) {
    const { growthBase, growthBatch, growthEventsPerSecond: eps, reps } = suite.sizes;
    const weir = await weirPerBatch(growthBase, growthBatch, eps);
    const cron = MULTIPLES.map((m) => median(Array.from({ length: reps }, () => cronRun(growthBase * m, eps, growthBatch))));
    const text = (ms: readonly number[]): string => `${ms.map((v) => v.toFixed(0)).join(' / ')} ms`;
    const growth = weir[2]! / weir[0]!;
    const notes = [`median ms of the ${MEASURED_BATCHES} batches of ${growthBatch} rows before ` +
      `${MULTIPLES.map((m) => m * growthBase).join(' / ')} rows of input (1× / 10× / 100×), ${eps} events per ` +
      `event-time second; weir grows ${growth.toFixed(2)}×, the cron recompute ${(cron[2]! / cron[0]!).toFixed(1)}×; ` +
      'ratio is weir ÷ cron at 100×'];
    return [{
      id: 'W8', workload: 'per-batch cost at 1× / 10× / 100× input', weir: { value: weir[2]!, unit: 'ms', text: text(weir) },
      baseline: { value: cron[2]!, unit: 'ms', text: text(cron) }, baselineName: 'cron: recompute all',
      ratio: weir[2]! / cron[2]!, goal: 'flat (100× ≤ 1.5 × 1×) vs linear', met: growth <= 1.5, notes,
      details: { weirMsPerBatch: weir, cronMs: cron, base: growthBase, batch: growthBatch, eventsPerSecond: eps },
    }];
  },
};
