/**
 * DEC: the cost of exact decimals. A keyed running sum and average (update mode, state in memory) over
 * the same generated values held once as DECIMAL(8,2) and once as DOUBLE, drained as a backlog in batches.
 */
import { avg, Decimal, sum } from '../../src/index.js';
import type { Row } from '../../src/index.js';
import { EVENT_SCHEMA } from '../lib/data.js';
import { removeDir, tempDir } from '../lib/harness.js';
import { alternate, median } from '../lib/measure.js';
import { timeBacklog } from '../lib/queries.js';
import { rate, ResultRow } from '../lib/report.js';
import { Suite, Workload } from '../lib/suite.js';

const DECIMAL_SCHEMA = EVENT_SCHEMA.replace('value DOUBLE', 'value DECIMAL(8,2)');

async function keyedSums(rows: readonly Row[], schema: string, chunk: number): Promise<{ rowsPerSecond: number; out: number }> {
  const checkpoint = await tempDir('dec');
  try {
    let out = 0;
    const run = await timeBacklog(rows, schema, chunk, (df) => df.groupBy('key').agg(sum('value').as('s'), avg('value').as('a'))
      .writeStream.outputMode('update').foreachBatch((batch) => { out += batch.length; })
      .option('checkpointLocation', checkpoint).trigger({ processingTime: 0 }).start());
    return { rowsPerSecond: (rows.length / run.ms) * 1000, out };
  } finally {
    await removeDir(checkpoint);
  }
}

async function dec(suite: Suite): Promise<ResultRow> {
  const doubles = suite.eventRows;
  // The values have two fraction digits: the decimal rows hold the same numbers exactly.
  const decimals = doubles.map((r) => ({ ...r, value: new Decimal(BigInt(Math.round(r.value * 100)), 2) }));
  const { chunk, reps } = suite.sizes;
  const outputs = { decimal: 0, double: 0 };
  const samples = await alternate(reps, async () => {
    const run = await keyedSums(decimals, DECIMAL_SCHEMA, chunk);
    outputs.decimal = run.out;
    return run.rowsPerSecond;
  }, async () => {
    const run = await keyedSums(doubles, EVENT_SCHEMA, chunk);
    outputs.double = run.out;
    return run.rowsPerSecond;
  });
  const decimal = median(samples.a);
  const double = median(samples.b);
  const notes = [`${doubles.length} rows, sum and avg by key in update mode, in batches of ${chunk}; only the value column's type differs`];
  if (outputs.decimal !== outputs.double) notes.push(`CHECK: decimal emitted ${outputs.decimal} rows, double ${outputs.double}`);
  return {
    id: 'DEC', workload: 'keyed sum + avg of DECIMAL(8,2)', weir: rate(decimal, 'rows/s'), baseline: rate(double, 'rows/s'),
    baselineName: 'the same query over DOUBLE', ratio: decimal / double, goal: '≥ 0.3', met: decimal / double >= 0.3, notes,
    details: { decimalRowsPerSecond: samples.a, doubleRowsPerSecond: samples.b },
  };
}

export const decimalWorkloads: Workload = {
  ids: ['DEC'],
  async run(suite, only) {
    return only('DEC') ? [await dec(suite)] : [];
  },
};
