/**
 * Queries on worker threads (option numWorkers): the same output as one thread for random input
 * (seeded; WEIR_TEST_SEED re-runs one), in an order that does not depend on the number of workers;
 * explain says how a query runs and why not on workers; bad values of the option are refused.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AnalysisError, avg, col, count, max, min, Row, struct, sum, Weir, WeirError, window } from '../../src/index.js';
import type { DataFrame, OutputMode } from '../../src/index.js';
import { mulberry32, testSeed } from '../connectors/harness.js';
import { removeTempDirs, sorted, startCollecting, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const SCHEMA = 'ts TIMESTAMP, key STRING, amount LONG, value DOUBLE';
const KEY_TEXTS = ['a', 'b', 'é', 'k\u0001x', 'z z', '', '日本', 'k7', 'k8', 'k9'];

/** Random batches of events: keys from a small set (some awkward), event time moving forward with jitter, some nulls. */
function randomBatches(seed: number): Row[][] {
  const random = mulberry32(seed);
  const batches: Row[][] = [];
  let clock = 1_000_000;
  for (let b = 0; b < 8; b++) {
    const rows: Row[] = [];
    const n = Math.floor(random() * 400);
    for (let i = 0; i < n; i++) {
      clock += Math.floor(random() * 40);
      rows.push({
        ts: clock - Math.floor(random() * 3_000),
        key: random() < 0.05 ? null : KEY_TEXTS[Math.floor(random() * KEY_TEXTS.length)]!,
        amount: Math.floor(random() * 1000) - 200,
        value: random() < 0.1 ? null : (random() - 0.3) * 1e3,
      });
    }
    batches.push(rows);
  }
  return batches;
}

/** Runs `build` over the batches with `numWorkers`; returns each batch's output rows by batch id. */
async function runWith(numWorkers: number, batches: readonly Row[][], build: (df: DataFrame, weir: Weir) => DataFrame,
  mode: OutputMode, checkpoint?: string): Promise<{ output: [number, Row[]][]; explain: string }> {
  const weir = new Weir();
  const input = weir.memoryStream(SCHEMA);
  const output: [number, Row[]][] = [];
  const q = await startCollecting(build(input.toDF(), weir), output, { mode, checkpoint, options: { numWorkers } });
  for (const rows of batches) {
    input.addData(rows);
    await q.processAllAvailable();
  }
  const explain = q.explain('extended');
  await q.stop();
  return { output, explain };
}

const windowed = (df: DataFrame): DataFrame => df.withWatermark('ts', '2 seconds')
  .groupBy(window(col('ts'), '1 second'), col('key'))
  .agg(count('*').as('n'), sum('amount').as('total'), avg('value').as('mean'), max('value').as('top'), min('amount').as('low'));

const sortedBatches = (output: readonly [number, Row[]][]): [number, Row[]][] => output.map(([id, rows]) => [id, sorted(rows)]);

describe('numWorkers: the same output as one thread', () => {
  for (const mode of ['append', 'update', 'complete'] as const) {
    test(`windowed aggregation, ${mode} mode: each batch's rows as on one thread, in one order for 2 and 3 workers`, async (t) => {
      const seed = testSeed(t);
      const batches = randomBatches(seed);
      const one = await runWith(1, batches, windowed, mode);
      const two = await runWith(2, batches, windowed, mode);
      const three = await runWith(3, batches, windowed, mode);
      assert.match(two.explain, /== Execution ==\n2 worker threads, exchange by hash of \[key\] into 4 state partition\(s\)/, `seed ${seed}`);
      assert.match(one.explain, /== Execution ==\none thread \(numWorkers 1\)/);
      assert.ok(one.output.some(([, rows]) => rows.length > 0), `seed ${seed}: no output; the test proved nothing`);
      // Doubles summed in the same order per group: equal to the last bit, not merely close.
      assert.deepEqual(sortedBatches(two.output), sortedBatches(one.output), `seed ${seed}`);
      assert.deepEqual(three.output, two.output, `seed ${seed}: the order depends on the partitions, not on the workers`);
    });
  }

  test('filter, projection and a stream-static join: the same rows in the same order', async (t) => {
    const seed = testSeed(t);
    const batches = randomBatches(seed);
    const query = (df: DataFrame, weir: Weir): DataFrame => {
      const names = weir.createDataFrame(KEY_TEXTS.slice(0, 6).map((key, i) => ({ key, label: `L${i}` })), { key: 'string', label: 'string' });
      return df.filter(col('amount').gt(0)).select(col('ts'), col('key'), col('amount').multiply(2).as('twice'))
        .join(names, ['key'], 'left');
    };
    const one = await runWith(1, batches, query, 'append');
    const two = await runWith(2, batches, query, 'append');
    assert.match(two.explain, /2 worker threads, no exchange \(stateless\)/);
    assert.deepEqual(two.output, one.output, `seed ${seed}`);
  });

  test('a checkpoint started on workers continues with numWorkers 1 (its state stays partitioned by group)', async (t) => {
    const seed = testSeed(t);
    const batches = randomBatches(seed);
    const whole = await runWith(1, batches, windowed, 'update');
    const checkpoint = await tempDir();
    const first = await runWith(2, batches.slice(0, 4), windowed, 'update', checkpoint);
    // A memory stream's offsets are row positions: the restarted one is given the rows already read in one piece
    // (no new data: it ends where the checkpoint does), then goes on.
    const rest = await runWith(1, [batches.slice(0, 4).flat(), ...batches.slice(4)], windowed, 'update', checkpoint);
    assert.match(rest.explain, /1 worker threads, exchange by hash of \[key\]/);
    // Batch ids may differ (a restart plans its own no-data batches); the batches with rows must not.
    const withRows = (output: readonly [number, Row[]][]): Row[][] => output.filter(([, rows]) => rows.length > 0).map(([, rows]) => sorted(rows));
    assert.deepEqual(withRows([...first.output, ...rest.output]), withRows(whole.output), `seed ${seed}`);
  });
});

describe('numWorkers: when a query runs on one thread, and bad values', () => {
  test('a decimal column crosses threads exactly; a decimal inside a struct keeps the plan on one thread', async () => {
    const rows = [[{ ts: 1000, key: 'a', amount: 1, value: 1.5 }, { ts: 2000, key: 'b', amount: 2, value: 2.25 }]];
    const money = (df: DataFrame): DataFrame => df.withColumn('price', col('value').cast('decimal(12,2)'));
    const one = await runWith(1, rows, money, 'append');
    const two = await runWith(2, rows, money, 'append');
    assert.match(two.explain, /2 worker threads/);
    assert.deepEqual(two.output.map(([, r]) => r.map((x) => String(x['price']))), [['1.50', '2.25']]);
    assert.deepEqual(two.output.map(([, r]) => r.map((x) => String(x['price']))), one.output.map(([, r]) => r.map((x) => String(x['price']))));
    const nested = await runWith(2, rows, (df) => money(df).select(struct(col('key'), col('price')).as('s')), 'append');
    assert.match(nested.explain, /numWorkers 2 not used: a decimal inside a struct, array or map does not cross threads yet/);
  });

  test('a plan with a JavaScript function runs on one thread, and explain says why', async () => {
    const { explain, output } = await runWith(2, [[{ ts: 1000, key: 'a', amount: 1, value: 1 }]],
      (df) => df.map((r: Row) => ({ ...r, amount: Number(r['amount']) + 1 }), SCHEMA), 'append');
    assert.match(explain, /one thread \(numWorkers 2 not used: map\(\) runs a JavaScript function, which cannot cross to a worker thread\)/);
    assert.deepEqual(output, [[0, [{ ts: 1000, key: 'a', amount: 2, value: 1 }]]]);
  });

  test('a checkpoint on workers refuses a state store provider the workers do not run', async () => {
    const checkpoint = await tempDir();
    await runWith(2, [[{ ts: 1000, key: 'a', amount: 1, value: 1 }]], windowed, 'update', checkpoint);
    const weir = new Weir();
    await assert.rejects(startCollecting(windowed(weir.memoryStream(SCHEMA).toDF()), [],
      { mode: 'update', checkpoint, options: { stateStoreProvider: 'lmdb' } }), (err: unknown) => {
      assert.ok(err instanceof WeirError, String(err));
      assert.equal(err.code, 'STATE_PARTITIONING');
      assert.match(err.message, /partitioned by group/);
      return true;
    });
  });

  for (const bad of ['0', '-1', 'two', '1.5', '1000']) {
    test(`numWorkers '${bad}' is refused, naming the option`, async () => {
      const weir = new Weir();
      await assert.rejects(startCollecting(weir.memoryStream(SCHEMA).toDF(), [], { options: { numWorkers: bad } }), (err: unknown) => {
        assert.ok(err instanceof AnalysisError, String(err));
        assert.equal(err.code, 'INVALID_OPTION');
        assert.match(err.message, /Option 'numWorkers'/);
        return true;
      });
    });
  }
});
