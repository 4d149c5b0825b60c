/**
 * W4: latency at 1 000 rows/s with the fastest trigger (processingTime 0) and the checkpoint on disk.
 *
 * Method. Row i is due at t0 + i ms (performance.now clock). A producer timer appends every due row
 * to a memory stream, which wakes the engine as a push source would. A row's latency is the time
 * from its due time to the onQueryProgress event of the batch whose source range (startOffset,
 * endOffset] holds it. The engine posts that event synchronously right after commits/N is durable
 * (and after clean-up), so it is an upper bound on "committed". Counting from the due time rather
 * than from addData means time the producer spent waiting for the event loop (because a batch was
 * running) is counted too, as it would be for rows waiting in a socket buffer. The first second
 * is warm-up and not counted.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Weir } from '../../src/index.js';
import type { DataFrame, StreamingQuery, WeirOptions } from '../../src/index.js';
import { EVENT_SCHEMA, EventRow, KEYS } from '../lib/data.js';
import { removeDir, startToFiles, tempDir } from '../lib/harness.js';
import { median, percentile } from '../lib/measure.js';
import { filterProject, windowedCounts } from '../lib/queries.js';
import { figure, ResultRow } from '../lib/report.js';
import { Suite, Workload } from '../lib/suite.js';

const ROWS_PER_SECOND = 1000;
const WARM_UP_MS = 1000;

/** A batch after warm-up: when its progress came, and its phases (progress.durationMs). */
interface TimedBatch { readonly at: number; readonly durationMs: Record<string, number> }

/** What one run measured: the rows' latencies (ms, sorted), and what its slowest batches spent their time on. */
export interface LatencyRun { readonly latencies: number[]; readonly slowBatches: string }

/** Phases of a batch reported for the slowest ones (the sink's write and the state commit overlap). */
const PHASES = ['walCommit', 'getBatch', 'execution', 'addBatch', 'stateCommit', 'commitOffsets'];

/**
 * The slowest 1 % of batches: their mean duration per phase, the garbage-collection pauses inside them and
 * the event loop's delay over the run, to tell waiting on the file system from collecting or computing.
 */
function slowBatchesText(batches: readonly TimedBatch[], gcPauses: readonly { start: number; ms: number }[], loopDelayP99Ms: number): string {
  const slow = [...batches].sort((a, b) => (b.durationMs['triggerExecution'] ?? 0) - (a.durationMs['triggerExecution'] ?? 0))
    .slice(0, Math.max(1, Math.ceil(batches.length / 100)));
  const mean = (phase: string): number => slow.reduce((sum, b) => sum + (b.durationMs[phase] ?? 0), 0) / slow.length;
  const gcMs = slow.reduce((sum, b) => sum + gcPauses
    .filter((g) => g.start >= b.at - (b.durationMs['triggerExecution'] ?? 0) && g.start < b.at).reduce((n, g) => n + g.ms, 0), 0) / slow.length;
  return `slowest ${slow.length} of ${batches.length} batches, mean ${mean('triggerExecution').toFixed(0)} ms: ` +
    `${PHASES.map((p) => `${p} ${mean(p).toFixed(0)}`).join(', ')}; GC pauses inside them ${gcMs.toFixed(1)} ms; ` +
    `event-loop delay p99 ${loopDelayP99Ms.toFixed(0)} ms`;
}

/** One run (the replication workload runs it too). */
export async function latencyRun(seconds: number, start: (df: DataFrame, checkpoint: string, out: string) => Promise<StreamingQuery>,
  options: WeirOptions): Promise<LatencyRun> {
  const weir = new Weir(options);
  const input = weir.memoryStream<EventRow>(EVENT_SCHEMA);
  const total = seconds * ROWS_PER_SECOND;
  const due = new Float64Array(total);
  const latencies: number[] = [];
  const batches: TimedBatch[] = [];
  const gcPauses: { start: number; ms: number }[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, ms: e.duration });
  });
  gc.observe({ entryTypes: ['gc'] });
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  let t0 = 0;
  weir.streams.addListener({
    onQueryProgress: ({ progress }) => {
      const at = performance.now();
      if (at - t0 >= WARM_UP_MS) batches.push({ at, durationMs: progress.durationMs });
      const source = progress.sources[0];
      const from = (source?.startOffset as number | null) ?? 0;
      const to = (source?.endOffset as number | null) ?? 0;
      for (let i = from; i < to; i++) if (due[i]! - t0 >= WARM_UP_MS) latencies.push(at - due[i]!);
    },
  });
  const [checkpoint, out] = [await tempDir('w4-checkpoint'), await tempDir('w4-out')];
  try {
    const query = await start(input.toDF(), checkpoint, out);
    t0 = performance.now();
    let added = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const target = Math.min(total, Math.floor(((performance.now() - t0) * ROWS_PER_SECOND) / 1000));
        if (target > added) {
          const rows: EventRow[] = [];
          for (let i = added; i < target; i++) {
            due[i] = t0 + (i * 1000) / ROWS_PER_SECOND;
            rows.push({ ts: Date.now(), key: `k${i % KEYS}`, value: i % 100 });
          }
          input.addData(rows);
          added = target;
        }
        if (added >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    await query.processAllAvailable();
    await query.stop();
  } finally {
    gc.disconnect();
    loopDelay.disable();
    await weir.close();
    await Promise.all([removeDir(checkpoint), removeDir(out)]);
  }
  return { latencies: latencies.sort((a, b) => a - b), slowBatches: slowBatchesText(batches, gcPauses, loopDelay.percentile(99) / 1e6) };
}

async function measure(suite: Suite, id: string, workload: string, notes: string[],
  start: (df: DataFrame, checkpoint: string, out: string) => Promise<StreamingQuery>, options: WeirOptions = {}): Promise<ResultRow> {
  const p50: number[] = [];
  const p99: number[] = [];
  const max: number[] = [];
  const slowBatches: string[] = [];
  for (let i = 0; i < suite.sizes.reps; i++) {
    const { latencies, slowBatches: slow } = await latencyRun(suite.sizes.latencySeconds, start, options);
    slowBatches.push(`run ${i + 1}: ${slow}`);
    p50.push(percentile(latencies, 0.5));
    p99.push(percentile(latencies, 0.99));
    max.push(latencies[latencies.length - 1] ?? NaN);
  }
  const [m50, m99] = [median(p50), median(p99)];
  return {
    id, workload, weir: { value: m99, unit: 'ms', text: `p50 ${m50.toFixed(1)} / p99 ${m99.toFixed(1)} ms` },
    baseline: null, baselineName: '—', ratio: null, goal: 'p99 < 25 ms', met: m99 < 25,
    notes: [`${ROWS_PER_SECOND} rows/s for ${suite.sizes.latencySeconds} s per run (first second not counted), ` +
      `due time → onQueryProgress after commits/N; max ${median(max).toFixed(1)} ms`, ...notes, ...slowBatches],
    details: { p50Ms: p50, p99Ms: p99, maxMs: max, p50: figure(m50, 'ms'), p99: figure(m99, 'ms') },
  };
}

export const latencyWorkloads: Workload = {
  ids: ['W4'],
  async run(suite) {
    const toForeachBatch = (df: DataFrame, checkpoint: string) =>
      filterProject(df).writeStream.foreachBatch(() => {}).option('checkpointLocation', checkpoint)
        .trigger({ processingTime: 0 }).start();
    const stateless = await measure(suite, 'W4', 'latency, W1 query → foreachBatch', [], toForeachBatch);
    const windowed = await measure(suite, 'W4', 'latency, W2 query → files', [],
      (df, checkpoint, out) => startToFiles(windowedCounts(df), checkpoint, out));
    // The web UI keeps every batch's progress record in the checkpoint (progress/), off the batch path.
    const monitored = await measure(suite, 'W4', 'latency, W1 query → foreachBatch, web UI on',
      ['progress records kept in the checkpoint; no page open'], toForeachBatch, { ui: { port: 0 }, logLevel: 'silent' });
    return [stateless, windowed, monitored];
  },
};
