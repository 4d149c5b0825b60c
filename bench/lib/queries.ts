/** The queries the workloads share, in weir and by hand, and the loop that times a backlog through weir. */
import { col, count, sum, window, Weir } from '../../src/index.js';
import type { DataFrame, StreamingQuery, StreamingQueryProgress } from '../../src/index.js';
import { Row } from '../../src/common/schema.js';
import { EventRow } from './data.js';
import { processTreeCpuSeconds, threadCpuSeconds } from './measure.js';
import { generatorStream, rowsFrom } from './gen-source.js';

/** W1's stateless query: keep about half the rows, project three columns, one computed. */
export function filterProject(df: DataFrame): DataFrame {
  return df.filter(col('value').gt(50)).select(col('ts'), col('key'), col('value').multiply(1.1).as('scaled'));
}

/** W1 by hand: the same filter and projection as one loop. */
export function handFilterProject(rows: readonly EventRow[]): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.value > 50) out.push({ ts: r.ts, key: r.key, scaled: r.value * 1.1 });
  }
  return out;
}

/** W2's aggregation: count and sum per key per 1 s tumbling window, 10 s watermark. */
export function windowedCounts(df: DataFrame): DataFrame {
  return df.withWatermark('ts', '10 seconds').groupBy(window(col('ts'), '1 second'), col('key'))
    .agg(count('*').as('count'), sum('value').as('sum'));
}
export const WINDOW_MS = 1000;
export const WATERMARK_MS = 10_000;

export interface BacklogRun {
  readonly ms: number;
  /** CPU seconds of the process tree over the same span (see processTreeCpuSeconds). */
  readonly cpuSeconds: number;
  /** CPU seconds of the main thread alone over the same span (null without /proc). */
  readonly mainThreadCpuSeconds: number | null;
  readonly outputRows: number;
  readonly progress: readonly StreamingQueryProgress[];
}

/**
 * Starts a query over a generator stream of `rows` (with nothing available yet), then makes all
 * rows available at once and times until every batch is committed — `chunk` rows per batch, back
 * to back, as a consumer draining a backlog. Query start and stop are outside the timing.
 */
export async function timeBacklog(rows: readonly Row[], schema: string, chunk: number,
  start: (df: DataFrame, weir: Weir) => Promise<StreamingQuery>): Promise<BacklogRun> {
  const weir = new Weir();
  const control = { available: 0, maxPerTrigger: chunk, rows: rowsFrom(rows) };
  const progress: StreamingQueryProgress[] = [];
  weir.streams.addListener({ onQueryProgress: (e) => { progress.push(e.progress); } });
  const query = await start(generatorStream(weir, schema, control), weir);
  try {
    const [started, cpu, mainCpu] = [performance.now(), processTreeCpuSeconds(), threadCpuSeconds()];
    control.available = rows.length;
    await query.processAllAvailable();
    const ms = performance.now() - started;
    const mainNow = threadCpuSeconds();
    return {
      ms, cpuSeconds: processTreeCpuSeconds() - cpu, mainThreadCpuSeconds: mainCpu === null || mainNow === null ? null : mainNow - mainCpu,
      outputRows: progress.reduce((n, p) => n + p.sink.numOutputRows, 0), progress,
    };
  } finally {
    await query.stop();
  }
}
