/**
 * NEXMark q0, q1, q2, q5, q7: bids per second through weir (one JS thread: per core) vs by hand, with
 * the published per-core figures of other engines for q5 and q7 next to them.
 */
import { Bid, BID_SCHEMA, generateNexmark } from '../nexmark/generator.js';
import { NEXMARK_QUERIES, NexmarkQuery } from '../nexmark/queries.js';
import { removeDir, tempDir } from '../lib/harness.js';
import { alternate, median } from '../lib/measure.js';
import { timeBacklog } from '../lib/queries.js';
import { rate, ResultRow } from '../lib/report.js';
import { Workload } from '../lib/suite.js';

/**
 * Published throughput per core on the NEXMark benchmark (events per second): Flink 1.13 from the nexmark
 * project's results (its 8 cores' figure divided by 8), RisingWave from its own NEXMark report. Other
 * machines and event mixes (they count persons and auctions too): a reference for scale, not a ratio.
 */
const PUBLISHED: Readonly<Record<string, string>> = {
  q5: 'published per core: Flink 1.13 22.1 k events/s, RisingWave 11.3 k events/s',
  q7: 'published per core: Flink 1.13 12.3 k events/s',
};

async function measure(query: NexmarkQuery, bids: readonly Bid[], chunk: number, reps: number): Promise<ResultRow> {
  const outputs = { weir: 0, hand: 0 };
  const samples = await alternate(reps, async () => {
    const checkpoint = await tempDir(`nexmark-${query.name}`);
    try {
      let out = 0;
      const run = await timeBacklog(bids, BID_SCHEMA, chunk, (df) => query.build(df).writeStream.outputMode(query.mode)
        .foreachBatch((rows) => { out += query.consume(rows); }).option('checkpointLocation', checkpoint)
        .trigger({ processingTime: 0 }).start());
      outputs.weir = out;
      return (bids.length / run.ms) * 1000;
    } finally {
      await removeDir(checkpoint);
    }
  }, async () => {
    const started = performance.now();
    const step = query.hand();
    let out = 0;
    for (let i = 0; i < bids.length; i += chunk) out += step(bids.slice(i, i + chunk));
    outputs.hand = out;
    return (bids.length / (performance.now() - started)) * 1000;
  });
  const [weir, hand] = [median(samples.a), median(samples.b)];
  const notes = [`${query.description}; ${bids.length} bids in batches of ${chunk}, checkpoint on disk, foreachBatch sink`];
  const published = PUBLISHED[query.name];
  if (published) notes.push(published);
  if (outputs.weir !== outputs.hand) notes.push(`CHECK: weir produced ${outputs.weir} result rows, the baseline ${outputs.hand}`);
  return {
    id: `NEXMark ${query.name}`, workload: `NEXMark ${query.name}: ${query.description}`, weir: rate(weir, 'events/s'),
    baseline: rate(hand, 'events/s'), baselineName: 'hand-written', ratio: weir / hand, goal: 'reference', met: null, notes,
    details: { weirEventsPerSecond: samples.a, baselineEventsPerSecond: samples.b, resultRows: outputs },
  };
}

export const nexmarkWorkloads: Workload = {
  ids: ['NEXMARK'],
  async run(suite) {
    const { bids } = generateNexmark(suite.sizes.nexmarkBids);
    const rows: ResultRow[] = [];
    for (const query of NEXMARK_QUERIES) rows.push(await measure(query, bids, suite.sizes.chunk, suite.sizes.reps));
    return rows;
  },
};
