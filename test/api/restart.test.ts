import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  collectList, countDistinct, DataFrame, first, last, max, min, Row, sessionWindow, StreamingQuery, StreamingQueryException, Weir,
  window,
} from '../../src/index.js';
import { assertRows, removeTempDirs, sec, sorted, startCollecting, tempDir, win } from './helpers.js';

after(removeTempDirs);

const EVENTS = 'ts TIMESTAMP, word STRING';
const ev = (s: number, word: string): Row => ({ ts: sec(s), word });
const iso = (s: number): string => new Date(sec(s)).toISOString();

const windowedCount = (df: DataFrame): DataFrame =>
  df.withWatermark('ts', '10 seconds').groupBy(window('ts', '10 seconds'), 'word').count();

/** Input in three parts, each processed before the next is added. */
const PARTS: Row[][] = [
  [ev(1, 'a'), ev(2, 'b'), ev(12, 'a')], // watermark afterwards 2
  [ev(3, 'a'), ev(25, 'b')], // watermark afterwards 15: [0, 10) is final
  [ev(4, 'a'), ev(8, 'b'), ev(14, 'a'), ev(40, 'c')], // 4 and 8 are late; [10, 20) a reaches 2; watermark 30
];

async function feed(input: { addData(rows: Row[]): number }, q: StreamingQuery, parts: Row[][]): Promise<void> {
  for (const part of parts) {
    input.addData(part);
    await q.processAllAvailable();
  }
}

describe('restart from a checkpoint', () => {
  test('a stateful query stopped mid-stream resumes in a new session with state and watermark restored', async () => {
    // Reference: one run over all the input.
    const reference: [number, Row[]][] = [];
    {
      const weir = new Weir();
      const input = weir.memoryStream(EVENTS);
      const q = await startCollecting(windowedCount(input.toDF()), reference);
      await feed(input, q, PARTS);
      await q.stop();
    }
    assertRows(reference.flatMap(([, rows]) => rows), [
      { window: win(0, 10), word: 'a', count: 2 }, { window: win(0, 10), word: 'b', count: 1 },
      { window: win(10, 20), word: 'a', count: 2 }, { window: win(20, 30), word: 'b', count: 1 },
    ]);

    // The same input with a stop after part 2 and a restart in a new session on the same checkpoint.
    const checkpoint = await tempDir();
    const restarted: [number, Row[]][] = [];
    const firstWeir = new Weir();
    const firstInput = firstWeir.memoryStream(EVENTS);
    const first = await startCollecting(windowedCount(firstInput.toDF()), restarted, { checkpoint });
    await feed(firstInput, first, PARTS.slice(0, 2));
    await first.stop();
    const watermarkBefore = first.lastProgress?.eventTime['watermark'];

    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    // A memory stream is replayable by position: the new session's stream holds the same rows first.
    input.addData(PARTS.slice(0, 2).flat());
    const second = await startCollecting(windowedCount(input.toDF()), restarted, { checkpoint });
    await feed(input, second, PARTS.slice(2));
    await second.stop();

    assert.equal(second.id, first.id);
    const resumed = second.recentProgress[0]!;
    assert.equal(resumed.batchId, first.lastProgress!.batchId + 1);
    assert.equal(resumed.eventTime['watermark'], watermarkBefore);
    assert.equal(watermarkBefore, iso(15));
    assert.equal(resumed.stateOperators[0]?.numRowsDroppedByWatermark, 2, 'late rows after the restart are dropped');
    assert.deepEqual(restarted.map(([id]) => id), reference.map(([id]) => id), 'same batch ids, none repeated');
    // Rows within a batch may come out of restored state in another order.
    const bySortedBatch = (bs: [number, Row[]][]) => bs.map(([id, rows]) => [id, sorted(rows)]);
    assert.deepEqual(bySortedBatch(restarted), bySortedBatch(reference));
  });

  /** Runs `build` over PARTS once without a stop, once with a new session after every part; per-batch output must agree. */
  async function sameWithRestarts(build: (df: DataFrame) => DataFrame, mode: 'append' | 'update' | 'complete'):
    Promise<[number, Row[]][]> {
    const reference: [number, Row[]][] = [];
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const q = await startCollecting(build(input.toDF()), reference, { mode });
    await feed(input, q, PARTS);
    await q.stop();

    const checkpoint = await tempDir();
    const restarted: [number, Row[]][] = [];
    for (let i = 0; i < PARTS.length; i++) {
      const session = new Weir();
      const replay = session.memoryStream(EVENTS);
      replay.addData(PARTS.slice(0, i).flat());
      const part = await startCollecting(build(replay.toDF()), restarted, { mode, checkpoint });
      await feed(replay, part, [PARTS[i]!]);
      await part.stop();
    }
    const bySortedBatch = (bs: [number, Row[]][]) => bs.map(([id, rows]) => [id, sorted(rows)]);
    assert.deepEqual(bySortedBatch(restarted), bySortedBatch(reference));
    return reference;
  }

  test('restarts after every batch change nothing: countDistinct, collectList, first and last in complete mode',
    async () => {
      const out = await sameWithRestarts((df) => df.groupBy('word').agg(countDistinct('ts').as('times'),
        collectList('ts').as('all'), first('ts').as('first'), last('ts').as('last')), 'complete');
      assertRows(out[out.length - 1]![1], [
        { word: 'a', times: 5, all: [1, 12, 3, 4, 14].map(sec), first: sec(1), last: sec(14) },
        { word: 'b', times: 3, all: [2, 25, 8].map(sec), first: sec(2), last: sec(8) },
        { word: 'c', times: 1, all: [sec(40)], first: sec(40), last: sec(40) },
      ]);
    });

  test('restarts after every batch change nothing: session windows in append mode', async () => {
    const out = await sameWithRestarts((df) => df.withWatermark('ts', '10 seconds')
      .groupBy(sessionWindow('ts', '5 seconds'), 'word').count(), 'append');
    assertRows(out.flatMap(([, rows]) => rows), [
      { session_window: win(1, 8), word: 'a', count: 2 }, { session_window: win(2, 7), word: 'b', count: 1 },
      { session_window: win(12, 19), word: 'a', count: 2 }, { session_window: win(25, 30), word: 'b', count: 1 },
    ]);
  });

  test('restarts after every batch change nothing: dropDuplicates with a watermark', async () => {
    const out = await sameWithRestarts((df) => df.withWatermark('ts', '10 seconds').dropDuplicates(['word']),
      'append');
    assertRows(out.flatMap(([, rows]) => rows), [ev(1, 'a'), ev(2, 'b'), ev(40, 'c')]);
  });

  test('restarts after every batch change nothing: a window grouped after another column, evicted in key order', async () => {
    // The aggregation's group index puts the window first whatever the column order, and is rebuilt from the checkpoint at each start.
    const out = await sameWithRestarts((df) => df.withWatermark('ts', '10 seconds')
      .groupBy('word', window('ts', '10 seconds')).count(), 'append');
    assertRows(out.flatMap(([, rows]) => rows), [
      { word: 'a', window: win(0, 10), count: 2 }, { word: 'b', window: win(0, 10), count: 1 },
      { word: 'a', window: win(10, 20), count: 2 }, { word: 'b', window: win(20, 30), count: 1 },
    ]);
    const firstWindow = out.find(([, rows]) => rows.length === 2)![1];
    assert.deepEqual(firstWindow.map((r) => r['word']), ['a', 'b'], 'a batch emits its evicted groups in key order');
  });

  test('a checkpoint of a different stateful query is refused at start, naming the checkpoint', async () => {
    const checkpoint = await tempDir();
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const q = await startCollecting(windowedCount(input.toDF()), [], { checkpoint });
    await q.stop();
    await assert.rejects(startCollecting(input.toDF().groupBy('word').count(), [], { checkpoint, mode: 'update' }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.equal((err as { code?: string }).code, 'CHECKPOINT_MISMATCH');
        assert.ok(err.message.includes(checkpoint), err.message);
        return true;
      });
  });
});

describe('a failing batch', () => {
  test('a throwing foreachBatch stops the query with StreamingQueryException(batchId); a fixed restart re-runs it once',
    async () => {
      const checkpoint = await tempDir();
      const weir = new Weir();
      const input = weir.memoryStream(EVENTS);
      const delivered: [number, Row[]][] = [];
      let broken = true;
      const start = () => input.toDF().groupBy('word').count().writeStream.outputMode('update')
        .option('checkpointLocation', checkpoint)
        .foreachBatch((rows, batchId) => {
          if (broken && batchId === 2) throw new Error('the warehouse is down');
          delivered.push([batchId, rows]);
        })
        .start();

      const q = await start();
      input.addData([ev(1, 'a')]);
      await q.processAllAvailable();
      input.addData([ev(2, 'a'), ev(3, 'b')]);
      await q.processAllAvailable();
      input.addData([ev(4, 'a')]);
      await assert.rejects(q.processAllAvailable(), StreamingQueryException);
      await assert.rejects(q.awaitTermination(), (err: unknown) => {
        assert.ok(err instanceof StreamingQueryException);
        assert.equal(err.batchId, 2);
        assert.equal(err.code, 'QUERY_FAILED');
        assert.match(err.message, /batch 2: the warehouse is down/);
        assert.equal((err.cause as Error).message, 'the warehouse is down');
        return true;
      });
      assert.equal(q.isActive, false);
      assert.ok(q.exception instanceof StreamingQueryException);
      assert.equal(q.exception.batchId, 2);

      broken = false;
      const fixed = await start();
      input.addData([ev(5, 'c')]);
      await fixed.processAllAvailable();
      await fixed.stop();
      assert.equal(fixed.id, q.id);
      // Batch 2 is re-run from the state of batch 1 (a: 3, not 4), then batch 3 follows.
      assert.deepEqual(delivered.map(([id, rows]) => [id, rows.map((r) => `${r['word']}:${r['count']}`).sort()]), [
        [0, ['a:1']], [1, ['a:2', 'b:1']], [2, ['a:3']], [3, ['c:1']],
      ]);
    });

  test('a throwing function in the plan fails its batch; after the fix the file sink holds every row once', async () => {
    const checkpoint = await tempDir();
    const out = await tempDir('weir-api-out-');
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    let fixed = false;
    const start = () => input.toDF()
      .map((r) => {
        if (r['word'] === 'boom' && !fixed) throw new Error(`cannot read '${r['word']}'`);
        return { ts: r['ts'] ?? null, word: String(r['word']).toUpperCase() };
      })
      .writeStream.format('json').option('checkpointLocation', checkpoint).start(out);

    const q = await start();
    input.addData([ev(1, 'a'), ev(2, 'b')]);
    await q.processAllAvailable();
    input.addData([ev(3, 'c'), ev(4, 'boom'), ev(5, 'd')]);
    await assert.rejects(q.awaitTermination(), (err: unknown) => {
      assert.ok(err instanceof StreamingQueryException);
      assert.equal(err.batchId, 1);
      assert.match(err.message, /cannot read 'boom'/);
      return true;
    });
    assert.equal(q.exception?.batchId, 1);

    fixed = true;
    const again = await start();
    input.addData([ev(6, 'e')]);
    await again.processAllAvailable();
    await again.stop();
    assert.deepEqual(again.recentProgress.map((p) => [p.batchId, p.numInputRows]), [[1, 3], [2, 1]]);
    const written = await weir.read.format('json').schema(EVENTS).load(out).collect();
    assertRows(written, ['A', 'B', 'C', 'BOOM', 'D', 'E'].map((word, i) => ev(i + 1, word)));
  });
});

describe('state values survive a restart exactly', () => {
  test('infinite doubles in aggregation state come back as they were (JSON would have made them null)', async () => {
    const checkpoint = await tempDir();
    const parts: Row[][] = [[{ k: 'a', x: Infinity }, { k: 'b', x: -Infinity }], [{ k: 'a', x: 1 }, { k: 'b', x: 2 }]];
    const batches: [number, Row[]][] = [];
    for (let i = 0; i < parts.length; i++) {
      const session = new Weir();
      const input = session.memoryStream('k STRING, x DOUBLE');
      input.addData(parts.slice(0, i).flat());
      const q = await startCollecting(input.toDF().groupBy('k').agg(max('x').as('max'), min('x').as('min')), batches,
        { mode: 'complete', checkpoint });
      input.addData(parts[i]!);
      await q.processAllAvailable();
      await q.stop();
    }
    assertRows(batches.at(-1)![1], [{ k: 'a', max: Infinity, min: 1 }, { k: 'b', max: 2, min: -Infinity }]);
  });
});
