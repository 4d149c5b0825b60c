import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AnalysisError, DataFrame, Row, StreamingQuery, Weir } from '../../src/index.js';
import { removeTempDirs, sec, startCollecting } from './helpers.js';

after(removeTempDirs);

const SCHEMA = 'id STRING, ts TIMESTAMP, v INT';
const row = (id: string, s: number, v = 0): Row => ({ id, ts: sec(s), v });

/** A memory stream deduplicated by `build`, recording every batch's output. */
async function dedupQuery(build: (df: DataFrame) => DataFrame) {
  const weir = new Weir();
  const input = weir.memoryStream(SCHEMA);
  const seen: [number, Row[]][] = [];
  const q = await startCollecting(build(input.toDF()), seen);
  const push = async (rows: Row[]): Promise<void> => {
    input.addData(rows);
    await q.processAllAvailable();
  };
  return { q, seen, push, emitted: (): Row[] => seen.flatMap(([, rows]) => rows) };
}

const state = (q: StreamingQuery) => q.lastProgress!.stateOperators[0]!;

describe('dropDuplicates', () => {
  test('without columns: a row equal in every column to an earlier one (any batch) is dropped', async () => {
    const { q, push, seen } = await dedupQuery((df) => df.dropDuplicates());
    await push([row('a', 1, 1), row('a', 1, 1), row('a', 1, 2), row('b', 1, 1)]);
    await push([row('a', 1, 1), row('a', 2, 1), row('b', 1, 1)]);
    await q.stop();
    assert.deepEqual(seen, [
      [0, [row('a', 1, 1), row('a', 1, 2), row('b', 1, 1)]],
      [1, [row('a', 2, 1)]],
    ]);
    assert.equal(state(q).operatorName, 'dedupe');
    assert.equal(state(q).numRowsTotal, 4);
  });

  test('with columns: the first row per key is kept, whole', async () => {
    const { q, push, emitted } = await dedupQuery((df) => df.dropDuplicates(['id']));
    await push([row('a', 1, 10), row('a', 2, 20), row('b', 3, 30)]);
    await push([row('b', 4, 40), row('c', 5, 50), row('c', 6, 60)]);
    await q.stop();
    assert.deepEqual(emitted(), [row('a', 1, 10), row('b', 3, 30), row('c', 5, 50)]);
  });

  test('without a watermark, state is never evicted', async () => {
    const { q, push, emitted } = await dedupQuery((df) => df.dropDuplicates(['id', 'ts']));
    await push([row('a', 1)]);
    await push([row('b', 1_000_000)]);
    await push([row('a', 1), row('c', 2)]);
    await q.stop();
    assert.deepEqual(emitted(), [row('a', 1), row('b', 1_000_000), row('c', 2)]);
    assert.deepEqual(q.recentProgress.map((p) => p.batchId), [0, 1, 2], 'no no-data batches without a watermark');
    assert.equal(state(q).numRowsTotal, 3);
  });

  test('with a watermarked event-time key: late rows dropped, state at or below the watermark evicted', async () => {
    const { q, push, emitted } = await dedupQuery((df) => df.withWatermark('ts', '10 seconds').dropDuplicates(['id', 'ts']));
    await push([row('a', 1), row('a', 1), row('b', 12)]); // watermark afterwards 2: no-data batch 1 evicts (a, 1)
    assert.deepEqual(q.recentProgress.map((p) => [p.batchId, p.numInputRows]), [[0, 3], [1, 0]]);
    assert.equal(state(q).numRowsRemoved, 1);
    assert.equal(state(q).numRowsTotal, 1);
    await push([row('a', 1), row('a', 3), row('b', 12)]); // (a, 1) is late; (a, 3) new; (b, 12) still a duplicate
    assert.equal(state(q).numRowsDroppedByWatermark, 1);
    await q.stop();
    assert.deepEqual(emitted(), [row('a', 1), row('b', 12), row('a', 3)]);
  });

  test('with a watermark on a column outside the keys: late rows are dropped, but keys are kept', async () => {
    const { q, push, emitted } = await dedupQuery((df) => df.withWatermark('ts', '10 seconds').dropDuplicates(['id']));
    await push([row('a', 1), row('b', 100)]); // watermark afterwards 90
    await push([row('a', 95), row('c', 50), row('d', 91)]); // a: duplicate (never evicted); c: late; d: new
    await q.stop();
    assert.deepEqual(emitted(), [row('a', 1), row('b', 100), row('d', 91)]);
    assert.equal(state(q).numRowsDroppedByWatermark, 1);
    assert.equal(state(q).numRowsTotal, 3);
  });

  test('unknown key columns are rejected when the DataFrame is built, naming the column', () => {
    const df = new Weir().memoryStream(SCHEMA).toDF();
    assert.throws(() => df.dropDuplicates(['id', 'nope']), (err: unknown) => {
      assert.ok(err instanceof AnalysisError);
      assert.equal(err.code, 'UNKNOWN_COLUMN');
      assert.match(err.message, /'nope'.*dropDuplicates/);
      return true;
    });
  });
});

describe('dropDuplicatesWithinWatermark', () => {
  test('a key is kept until its first event time plus the delay is at or below the watermark', async () => {
    const { q, push, emitted } = await dedupQuery((df) => df.withWatermark('ts', '10 seconds')
      .dropDuplicatesWithinWatermark(['id']));
    await push([row('x', 1, 1), row('x', 5, 2)]); // same key, other event time: still a duplicate
    await push([row('y', 20, 3)]); // watermark afterwards 10; x expires at 1 + 10 = 11: kept
    await push([row('x', 12, 4)]); // duplicate of x
    await push([row('z', 22, 5)]); // watermark afterwards 12 >= 11: x evicted by the no-data batch
    assert.equal(state(q).operatorName, 'dedupeWithinWatermark');
    assert.equal(state(q).numRowsRemoved, 1);
    await push([row('x', 15, 6), row('w', 12, 7)]); // x is new again; w at the watermark is late
    await q.stop();
    assert.deepEqual(emitted(), [row('x', 1, 1), row('y', 20, 3), row('z', 22, 5), row('x', 15, 6)]);
    assert.equal(state(q).numRowsDroppedByWatermark, 1);
  });

  test('needs a watermark: rejected when the DataFrame is built', () => {
    const df = new Weir().memoryStream(SCHEMA).toDF();
    assert.throws(() => df.dropDuplicatesWithinWatermark(['id']), (err: unknown) => {
      assert.ok(err instanceof AnalysisError);
      assert.equal(err.code, 'MISSING_WATERMARK');
      assert.match(err.message, /withWatermark/);
      return true;
    });
  });
});
