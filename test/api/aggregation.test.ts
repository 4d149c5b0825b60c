import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  avg, col, collectList, count, countDistinct, first, last, max, min, Row, sessionWindow, StreamingQuery, sum, upper,
  Weir, window,
} from '../../src/index.js';
import { assertRows, removeTempDirs, sec, sorted, startCollecting, startMemory, win } from './helpers.js';

after(removeTempDirs);

const EVENTS = 'ts TIMESTAMP, word STRING, n INT';
const ev = (s: number, word: string, n: number | null = 1): Row => ({ ts: sec(s), word, n });
const iso = (s: number): string => new Date(sec(s)).toISOString();

/** [batchId, numInputRows, watermark] of every batch so far. */
function batches(q: StreamingQuery): [number, number, string | undefined][] {
  return q.recentProgress.map((p) => [p.batchId, p.numInputRows, p.eventTime['watermark']]);
}

describe('groupBy aggregates', () => {
  test('every aggregate function, with Spark names; nulls ignored except by count(*) and first/last', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().groupBy('word').agg(count('*'), count('n'), sum('n'), avg('n'), min('n'), max('n'),
      countDistinct('n'), first('n'), last('n'), collectList('n'));
    assert.deepEqual(df.columns, ['word', 'count(1)', 'count(n)', 'sum(n)', 'avg(n)', 'min(n)', 'max(n)',
      'count(DISTINCT n)', 'first(n)', 'last(n)', 'collect_list(n)']);
    const q = await startMemory(df, 'aggs', { mode: 'complete' });
    input.addData([ev(1, 'a', 4), ev(2, 'a', null), ev(3, 'a', 2), ev(4, 'b', null), ev(5, 'a', 4)]);
    await q.processAllAvailable();
    const row = (word: string, values: (number | null | number[])[]): Row => Object.fromEntries([['word', word],
      ...df.columns.slice(1).map((c, i) => [c, values[i]!])]);
    assertRows(weir.memorySink('aggs').rows, [
      row('a', [4, 3, 10, 10 / 3, 2, 4, 2, 4, 4, [4, 2, 4]]),
      row('b', [1, 0, null, null, null, null, 0, null, null, []]),
    ]);
    // Complete mode replaces the table each batch; first stays, last moves, the aggregates carry over.
    input.addData([ev(6, 'b', 7), ev(7, 'a', 1)]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('aggs').rows, [
      row('a', [5, 4, 11, 11 / 4, 1, 4, 3, 4, 1, [4, 2, 4, 1]]),
      row('b', [2, 1, 7, 7, 7, 7, 1, null, 7, [7]]),
    ]);
  });

  test('.count() names its column count; groupBy takes expressions, named as in Spark', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().groupBy(col('n').mod(2), upper('word')).count();
    assert.deepEqual(df.columns, ['(n % 2)', 'upper(word)', 'count']);
    const q = await startMemory(df, 'expr', { mode: 'complete' });
    input.addData([ev(1, 'a', 1), ev(2, 'A', 3), ev(3, 'a', 2), ev(4, 'b', null)]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('expr').rows, [
      { '(n % 2)': 1, 'upper(word)': 'A', count: 2 },
      { '(n % 2)': 0, 'upper(word)': 'A', count: 1 },
      { '(n % 2)': null, 'upper(word)': 'B', count: 1 },
    ]);
  });

  test('groupBy() without columns aggregates the whole stream into one row', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const q = await startMemory(input.toDF().groupBy().agg(count('*').as('rows'), sum('n').as('total')), 'global',
      { mode: 'complete' });
    input.addData([ev(1, 'a', 1), ev(2, 'b', 2)]);
    await q.processAllAvailable();
    input.addData([ev(3, 'c', 3)]);
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(weir.memorySink('global').rows, [{ rows: 3, total: 6 }]);
  });

  test('GroupedData shorthands sum/avg/min/max name their columns like the functions', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().groupBy('word').sum('n');
    assert.deepEqual(df.columns, ['word', 'sum(n)']);
    assert.deepEqual(input.toDF().groupBy('word').max('n', 'ts').columns, ['word', 'max(n)', 'max(ts)']);
    const q = await startMemory(df, 'short', { mode: 'complete' });
    input.addData([ev(1, 'a', 1), ev(2, 'a', 2)]);
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(weir.memorySink('short').rows, [{ word: 'a', 'sum(n)': 3 }]);
  });
});

describe('output modes', () => {
  test('update mode emits only the rows a batch changed; the memory sink keeps the latest row per key', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const seen: [number, Row[]][] = [];
    const df = input.toDF().groupBy('word').count();
    const q = await startCollecting(df, seen, { mode: 'update' });
    const mem = await startMemory(df, 'upd', { mode: 'update' });
    input.addData([ev(1, 'a'), ev(2, 'a'), ev(3, 'b')]);
    await q.processAllAvailable();
    await mem.processAllAvailable();
    input.addData([ev(4, 'a'), ev(5, 'c')]);
    await q.processAllAvailable();
    await mem.processAllAvailable();
    await q.stop();
    await mem.stop();
    assert.deepEqual(seen.map(([id]) => id), [0, 1]);
    assertRows(seen[0]![1], [{ word: 'a', count: 2 }, { word: 'b', count: 1 }]);
    assertRows(seen[1]![1], [{ word: 'a', count: 3 }, { word: 'c', count: 1 }]);
    assertRows(weir.memorySink('upd').rows, [{ word: 'a', count: 3 }, { word: 'b', count: 1 }, { word: 'c', count: 1 }]);
  });

  test('complete mode with a watermark neither drops old rows nor evicts', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().withWatermark('ts', '5 seconds').groupBy(window('ts', '10 seconds')).count();
    const q = await startMemory(df, 'full', { mode: 'complete' });
    input.addData([ev(1, 'a'), ev(100, 'a')]);
    await q.processAllAvailable();
    input.addData([ev(2, 'a')]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('full').rows, [{ window: win(0, 10), count: 2 }, { window: win(100, 110), count: 1 }]);
    assert.equal(q.lastProgress?.stateOperators[0]?.numRowsDroppedByWatermark, 0);
  });
});

describe('watermark and append mode', () => {
  test('a window is emitted once the watermark reaches its end; late rows dropped and counted; state evicted', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const seen: [number, Row[]][] = [];
    const df = input.toDF().withWatermark('ts', '10 seconds').groupBy(window(col('ts'), '10 seconds'), 'word').count();
    assert.deepEqual(df.columns, ['window', 'word', 'count']);
    const q = await startCollecting(df, seen);

    // Batch 0 runs at watermark 0; afterwards it is 11 - 10 = 1, so no-data batch 1 runs at 1 (Spark does the same).
    input.addData([ev(1, 'a'), ev(2, 'a'), ev(11, 'b')]);
    await q.processAllAvailable();
    input.addData([ev(25, 'a')]); // batch 2 at watermark 1; afterwards 15, so no-data batch 3 emits [0, 10)
    await q.processAllAvailable();
    assert.deepEqual(batches(q), [[0, 3, iso(0)], [1, 0, iso(1)], [2, 1, iso(1)], [3, 0, iso(15)]]);
    assert.deepEqual(seen, [[0, []], [1, []], [2, []], [3, [{ window: win(0, 10), word: 'a', count: 2 }]]]);

    input.addData([ev(5, 'a'), ev(12, 'b')]); // 5 is late ([0, 10) ended at or below 15); 12 joins [10, 20)
    await q.processAllAvailable();
    assert.equal(q.lastProgress?.batchId, 4);
    assert.equal(q.lastProgress?.stateOperators[0]?.numRowsDroppedByWatermark, 1);
    assert.equal(q.lastProgress?.eventTime['watermark'], iso(15));

    input.addData([ev(30, 'c')]); // watermark 20: [10, 20) ends exactly at it, so it is final
    await q.processAllAvailable();
    input.addData([ev(19, 'b'), ev(20, 'b')]); // 19 falls in [10, 20), already final: late; 20 opens [20, 30)
    await q.processAllAvailable();
    assert.equal(q.lastProgress?.stateOperators[0]?.numRowsDroppedByWatermark, 1);
    input.addData([ev(45, 'd')]); // watermark 35 closes both [20, 30) windows; [30, 40) stays open
    await q.processAllAvailable();
    await q.stop();

    const emitted = seen.flatMap(([, rows]) => rows);
    assertRows(emitted, [
      { window: win(0, 10), word: 'a', count: 2 },
      { window: win(10, 20), word: 'b', count: 2 },
      { window: win(20, 30), word: 'a', count: 1 },
      { window: win(20, 30), word: 'b', count: 1 },
    ]);
    // Left in state: [30, 40) c and [40, 50) d.
    assert.equal(q.lastProgress?.stateOperators[0]?.numRowsTotal, 2);
    assert.equal(q.lastProgress?.eventTime['watermark'], iso(35));
  });

  test('the watermark never goes back: a batch of old rows leaves it where it is', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().withWatermark('ts', '5 seconds').groupBy(window('ts', '5 seconds')).count();
    const q = await startMemory(df, 'mono');
    input.addData([ev(50, 'a')]);
    await q.processAllAvailable();
    input.addData([ev(10, 'a')]);
    await q.processAllAvailable();
    input.addData([ev(47, 'a')]);
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(batches(q), [[0, 1, iso(0)], [1, 0, iso(45)], [2, 1, iso(45)], [3, 1, iso(45)]]);
    assert.deepEqual(weir.memorySink('mono').rows, []);
  });

  test('update mode with a watermark drops late rows and forgets finished windows', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const seen: [number, Row[]][] = [];
    const df = input.toDF().withWatermark('ts', '5 seconds').groupBy(window('ts', '10 seconds')).count();
    const q = await startCollecting(df, seen, { mode: 'update' });
    input.addData([ev(1, 'a'), ev(30, 'a')]); // watermark afterwards 25: [0, 10) is evicted by no-data batch 1
    await q.processAllAvailable();
    input.addData([ev(2, 'a'), ev(31, 'a')]); // 2 is late; afterwards watermark 26: no-data batch 3 emits nothing
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(seen.map(([id, rows]) => [id, rows.length]), [[0, 2], [1, 0], [2, 1], [3, 0]]);
    assertRows(seen[2]![1], [{ window: win(30, 40), count: 2 }]);
    assert.equal(q.recentProgress[2]?.stateOperators[0]?.numRowsDroppedByWatermark, 1);
    assert.equal(q.lastProgress?.stateOperators[0]?.numRowsTotal, 1);
  });
});

describe('windows', () => {
  test('tumbling windows are aligned to the epoch and half-open; window.start/end can be selected', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().groupBy(window('ts', '10 seconds')).count()
      .select(col('window.start').as('start'), col('window.end').as('end'), 'count');
    const q = await startMemory(df, 'tumble', { mode: 'complete' });
    input.addData([ev(0, 'a'), ev(9.999, 'a'), ev(10, 'a'), ev(-1, 'a')]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('tumble').rows, [
      { start: sec(-10), end: sec(0), count: 1 },
      { start: sec(0), end: sec(10), count: 2 },
      { start: sec(10), end: sec(20), count: 1 },
    ]);
  });

  test('a sliding window puts a row in every window that contains it', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().groupBy(window('ts', '10 seconds', '5 seconds')).agg(collectList('word').as('words'));
    const q = await startMemory(df, 'slide', { mode: 'complete' });
    input.addData([ev(7, 'x'), ev(12, 'y'), ev(15, 'z')]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('slide').rows, [
      { window: win(0, 10), words: ['x'] },
      { window: win(5, 15), words: ['x', 'y'] },
      { window: win(10, 20), words: ['y', 'z'] },
      { window: win(15, 25), words: ['z'] },
    ]);
  });

  test('sliding windows in append mode: each window is emitted when the watermark passes its own end', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const seen: [number, Row[]][] = [];
    const df = input.toDF().withWatermark('ts', '0 seconds').groupBy(window('ts', '10 seconds', '5 seconds')).count();
    const q = await startCollecting(df, seen);
    input.addData([ev(7, 'x')]); // batch 0: windows [0, 10) and [5, 15); then no-data batch 1 at watermark 7
    await q.processAllAvailable();
    input.addData([ev(10, 'x')]); // batch 2: [5, 15) and [10, 20); no-data batch 3 at watermark 10 closes [0, 10)
    await q.processAllAvailable();
    input.addData([ev(8, 'x')]); // batch 4: [0, 10) is final (late, dropped) but [5, 15) is open: counted there
    await q.processAllAvailable();
    input.addData([ev(30, 'x')]); // batch 5; no-data batch 6 at watermark 30 closes [5, 15) and [10, 20)
    await q.processAllAvailable();
    await q.stop();
    const emitted = seen.filter(([, rows]) => rows.length > 0).map(([id, rows]) => [id, sorted(rows)]);
    assert.deepEqual(emitted, [
      [3, [{ window: win(0, 10), count: 1 }]],
      [6, sorted([{ window: win(5, 15), count: 3 }, { window: win(10, 20), count: 1 }])],
    ]);
    assert.equal(q.recentProgress.find((p) => p.batchId === 4)?.stateOperators[0]?.numRowsDroppedByWatermark, 1);
  });

  test('a window start offset shifts the alignment', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().groupBy(window('ts', '10 seconds', '10 seconds', '3 seconds')).count();
    const q = await startMemory(df, 'offset', { mode: 'complete' });
    input.addData([ev(2, 'a'), ev(3, 'a'), ev(12.5, 'a'), ev(13, 'a')]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('offset').rows, [
      { window: win(-7, 3), count: 1 }, { window: win(3, 13), count: 2 }, { window: win(13, 23), count: 1 },
    ]);
  });
});

describe('session windows', () => {
  test('sessions merge when they overlap or touch; append emits a session once the watermark passes its end', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const seen: [number, Row[]][] = [];
    const df = input.toDF().withWatermark('ts', '2 seconds').groupBy(sessionWindow('ts', '5 seconds'), 'word')
      .agg(count('*').as('events'), sum('n').as('total'));
    assert.deepEqual(df.columns, ['session_window', 'word', 'events', 'total']);
    const q = await startCollecting(df, seen);
    input.addData([ev(1, 'a', 1), ev(3, 'a', 2), ev(2, 'b', 10)]); // a [1, 8), b [2, 7); watermark afterwards 1
    await q.processAllAvailable();
    input.addData([ev(10, 'a', 4), ev(6, 'a', 3)]); // [6, 11) bridges [1, 8) and [10, 15): a [1, 15); watermark 8
    await q.processAllAvailable();
    const firstEmits = seen.flatMap(([, rows]) => rows);
    assert.deepEqual(firstEmits, [{ session_window: win(2, 7), word: 'b', events: 1, total: 10 }]);
    input.addData([ev(15, 'a', 5)]); // [15, 20) touches [1, 15): a [1, 20)
    await q.processAllAvailable();
    input.addData([ev(40, 'c', 0)]); // watermark 38 closes a's session
    await q.processAllAvailable();
    input.addData([ev(30, 'a', 100)]); // its session [30, 35) ends at or below 38: late
    await q.processAllAvailable();
    await q.stop();
    assertRows(seen.flatMap(([, rows]) => rows), [
      { session_window: win(2, 7), word: 'b', events: 1, total: 10 },
      { session_window: win(1, 20), word: 'a', events: 5, total: 15 },
    ]);
    assert.equal(q.lastProgress?.stateOperators[0]?.numRowsDroppedByWatermark, 1);
    assert.equal(q.lastProgress?.stateOperators[0]?.numRowsTotal, 1);
  });

  test('complete mode keeps every session, separate sessions of one key as separate rows', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().groupBy('word', sessionWindow(col('ts'), '5 seconds')).count();
    assert.deepEqual(df.columns, ['word', 'session_window', 'count']);
    const q = await startMemory(df, 'sessions', { mode: 'complete' });
    input.addData([ev(1, 'a'), ev(4, 'a'), ev(20, 'a'), ev(2, 'b')]);
    await q.processAllAvailable();
    input.addData([ev(16, 'a'), ev(30, 'b')]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('sessions').rows, [
      { word: 'a', session_window: win(1, 9), count: 2 },
      { word: 'a', session_window: win(16, 25), count: 2 },
      { word: 'b', session_window: win(2, 7), count: 1 },
      { word: 'b', session_window: win(30, 35), count: 1 },
    ]);
  });
});

describe('several watermarked inputs', () => {
  /** Two streams, each with a 5 s watermark, unioned into a 10 s windowed count (append). */
  async function twoInputs(policy: 'min' | 'max'): Promise<{ q: StreamingQuery; rows: Row[] }> {
    const weir = new Weir();
    const fast = weir.memoryStream(EVENTS);
    const slow = weir.memoryStream(EVENTS);
    const df = fast.toDF().withWatermark('ts', '5 seconds')
      .union(slow.toDF().withWatermark('ts', '5 seconds'))
      .groupBy(window('ts', '10 seconds')).count();
    const q = await startMemory(df, 'two', { options: policy === 'min' ? {} : { multipleWatermarkPolicy: policy } });
    fast.addData([ev(30, 'f')]); // fast's watermark 25; slow has seen nothing: it counts as 0
    await q.processAllAvailable();
    slow.addData([ev(12, 's')]); // slow's watermark 7
    await q.processAllAvailable();
    fast.addData([ev(100, 'f')]);
    slow.addData([ev(100, 's')]);
    await q.processAllAvailable();
    await q.stop();
    return { q, rows: weir.memorySink('two').rows };
  }

  test("policy 'min' (the default) follows the slowest input, so its rows are not late", async () => {
    const { q, rows } = await twoInputs('min');
    assert.deepEqual(batches(q), [[0, 1, iso(0)], [1, 1, iso(0)], [2, 0, iso(7)], [3, 2, iso(7)], [4, 0, iso(95)]]);
    assertRows(rows, [{ window: win(10, 20), count: 1 }, { window: win(30, 40), count: 1 }]);
  });

  test("policy 'max' follows the fastest input: the slow input's old row is late", async () => {
    const { q, rows } = await twoInputs('max');
    assert.deepEqual(batches(q), [[0, 1, iso(0)], [1, 0, iso(25)], [2, 1, iso(25)], [3, 2, iso(25)], [4, 0, iso(95)]]);
    assertRows(rows, [{ window: win(30, 40), count: 1 }]);
    const dropped = q.recentProgress.reduce((n, p) => n + (p.stateOperators[0]?.numRowsDroppedByWatermark ?? 0), 0);
    assert.equal(dropped, 1);
  });
});
