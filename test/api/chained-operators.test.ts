/**
 * Several stateful operators in one query (Spark 3.5): the scenarios of Spark's MultiStatefulOperatorsSuite,
 * batch by batch. Each operator drops late rows by the watermark propagated to it in the previous batch and
 * evicts by the one of the current batch, so what an upstream operator emits is never late downstream.
 * Spark's `assertNumStateRows(Seq(...))` lists operators from the output down, as `stateOperators` does.
 * One difference is by design: `numRowsDroppedByWatermark` counts input rows, where Spark counts rows
 * after its partial aggregation (one per window and partition).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { col, count, DataFrame, max, Row, StreamingQuery, sum, Weir, window, windowTime } from '../../src/index.js';
import { assertRows, refused, removeTempDirs, sec, startCollecting, tempDir } from './helpers.js';

after(removeTempDirs);

const HOUR = 3_600_000;

/** A memory stream of ints as `value` with `eventTime` = value seconds (Spark's timestamp_seconds). */
function intStream(weir: Weir) {
  const input = weir.memoryStream('value INT');
  return { input, df: input.toDF().withColumn('eventTime', col('value').cast('timestamp')) };
}

const range = (from: number, to: number): Row[] => Array.from({ length: to - from + 1 }, (_, i) => ({ value: from + i }));

/** Runs `df` collecting each batch; `step` adds data and waits for the data batch and its no-data batch. */
async function run(df: DataFrame, checkpoint?: string) {
  const batches: [number, Row[]][] = [];
  const q = await startCollecting(df, batches, checkpoint ? { checkpoint } : {});
  let seen = 0;
  return {
    q,
    /** The rows emitted since the last call. */
    async next(add: () => void): Promise<Row[]> {
      add();
      await q.processAllAvailable();
      const rows = batches.slice(seen).flatMap(([, r]) => r);
      seen = batches.length;
      return rows;
    },
    batches,
  };
}

const stateRows = (q: StreamingQuery): number[] => q.lastProgress!.stateOperators.map((s) => s.numRowsTotal);
const dropped = (q: StreamingQuery): number[] => q.lastProgress!.stateOperators.map((s) => s.numRowsDroppedByWatermark);

describe('chained stateful operators (append mode)', () => {
  test('window agg -> window agg over its window column', async () => {
    const weir = new Weir();
    const { input, df } = intStream(weir);
    const query = df.withWatermark('eventTime', '0 seconds')
      .groupBy(window(col('eventTime'), '5 seconds').as('window')).agg(count('*').as('count'))
      .groupBy(window(col('window'), '10 seconds')).agg(count('*').as('count'), sum('count').as('sum'))
      .select(col('window.start').as('start'), col('count'), col('sum'));
    const { q, next } = await run(query);
    assert.deepEqual(await next(() => input.addData(range(10, 21))), [{ start: sec(10), count: 2, sum: 10 }]);
    assert.deepEqual(stateRows(q), [0, 1]);
    assert.deepEqual(dropped(q), [0, 0]);
    // [10, 15) and [15, 20) were evicted upstream with the watermark at 21: those 10 rows are late there.
    assert.deepEqual(await next(() => input.addData(range(10, 29))), []);
    assert.deepEqual(stateRows(q), [1, 1]);
    assert.deepEqual(q.recentProgress.at(-2)!.stateOperators.map((s) => s.numRowsDroppedByWatermark), [0, 10]);
    assert.deepEqual(await next(() => input.addData([{ value: 30 }, { value: 31 }])), [{ start: sec(20), count: 2, sum: 12 }]);
    assert.deepEqual(stateRows(q), [0, 1]);
    await q.stop();
  });

  test('agg -> agg -> agg, each windowing window_time of the one before', async () => {
    const weir = new Weir();
    const { input, df } = intStream(weir);
    const query = df.withWatermark('eventTime', '0 seconds')
      .groupBy(window(col('eventTime'), '5 seconds').as('window')).agg(count('*').as('count'))
      .groupBy(window(windowTime(col('window')), '10 seconds')).agg(count('*').as('count'), sum('count').as('sum'))
      .groupBy(window(windowTime(col('window')), '20 seconds')).agg(count('*').as('count'), sum('sum').as('sum'))
      .select(col('window.start').as('start'), col('window.end').as('end'), col('count'), col('sum'));
    const { q, next } = await run(query);
    assert.deepEqual(await next(() => input.addData(range(0, 37))), [{ start: 0, end: sec(20), count: 2, sum: 20 }]);
    assert.deepEqual(stateRows(q), [1, 1, 1]);
    const rows = await next(() => input.addData(range(30, 60)));
    assertRows(rows, [{ start: sec(20), end: sec(40), count: 2, sum: 23 }, { start: sec(40), end: sec(60), count: 2, sum: 20 }]);
    assert.deepEqual(stateRows(q), [0, 0, 1]);
    // 30..34 fall in [30, 35), which the first operator evicted at watermark 37; 35..37 are still on time.
    assert.deepEqual(q.recentProgress.at(-2)!.stateOperators.map((s) => s.numRowsDroppedByWatermark), [0, 0, 5]);
    await q.stop();
  });

  test('dropDuplicates -> window agg', async () => {
    const weir = new Weir();
    const { input, df } = intStream(weir);
    const query = df.withWatermark('eventTime', '10 seconds').dropDuplicates(['value', 'eventTime'])
      .groupBy(window(col('eventTime'), '5 seconds').as('window')).agg(count('*').as('count'), sum('value').as('sum'))
      .select(col('window.start').as('start'), col('count'));
    const { q, next } = await run(query);
    assert.deepEqual(await next(() => input.addData(range(1, 15))), [{ start: 0, count: 4 }]);
    assert.deepEqual(stateRows(q), [3, 10]);
    assert.deepEqual(dropped(q), [0, 0]);
    await q.stop();
  });

  test('stream-stream join on event time -> window agg', async () => {
    const weir = new Weir();
    const in1 = weir.memoryStream('value1 INT');
    const in2 = weir.memoryStream('value2 INT');
    const left = in1.toDF().withColumn('eventTime1', col('value1').cast('timestamp')).withWatermark('eventTime1', '0 seconds');
    const right = in2.toDF().withColumn('eventTime2', col('value2').cast('timestamp')).withWatermark('eventTime2', '0 seconds');
    const query = left.join(right, col('eventTime1').equalTo(col('eventTime2')), 'inner')
      .groupBy(window(col('eventTime1'), '5 seconds').as('window')).agg(count('*').as('count'))
      .select(col('window.start').as('start'), col('count'));
    const { q, next } = await run(query);
    const both = (rows: number[]) => () => {
      in1.addData(rows.map((value1) => ({ value1 })));
      in2.addData(rows.map((value2) => ({ value2 })));
    };
    assert.deepEqual(await next(both([1, 2, 3, 4])), []);
    assert.deepEqual(stateRows(q), [1, 0]);
    assert.deepEqual(await next(both([5])), [{ start: 0, count: 4 }]);
    assert.deepEqual(stateRows(q), [1, 0]);
    await q.stop();
  });

  test('window agg -> dropDuplicates, without and with an event-time key (window_time)', async () => {
    const weir = new Weir();
    const { input, df } = intStream(weir);
    const agg = df.withWatermark('eventTime', '0 seconds')
      .groupBy(window(col('eventTime'), '5 seconds').as('window')).agg(count('*').as('count'))
      .withColumn('windowEnd', col('window.end'));
    const plain = await run(agg.dropDuplicates(['count', 'windowEnd']).select('windowEnd', 'count'));
    assertRows(await plain.next(() => input.addData([1, 5, 10, 15].map((value) => ({ value })))),
      [{ windowEnd: sec(5), count: 1 }, { windowEnd: sec(10), count: 1 }, { windowEnd: sec(15), count: 1 }]);
    assert.deepEqual(stateRows(plain.q), [3, 1], 'without an event-time key the dedup state is kept');
    await plain.q.stop();

    const input2 = weir.memoryStream('value INT');
    const agg2 = input2.toDF().withColumn('eventTime', col('value').cast('timestamp')).withWatermark('eventTime', '0 seconds')
      .groupBy(window(col('eventTime'), '5 seconds').as('window')).agg(count('*').as('count'))
      .withColumn('windowEnd', col('window.end')).withColumn('windowTime', windowTime(col('window')));
    const timed = await run(agg2.dropDuplicates(['count', 'windowEnd', 'windowTime']).select('windowEnd', 'windowTime', 'count'));
    // Spark's window_time is the end minus 1 µs; weir's timestamps are whole milliseconds: the end minus 1 ms.
    assertRows(await timed.next(() => input2.addData([1, 5, 10, 15].map((value) => ({ value })))), [
      { windowEnd: sec(5), windowTime: sec(5) - 1, count: 1 }, { windowEnd: sec(10), windowTime: sec(10) - 1, count: 1 },
      { windowEnd: sec(15), windowTime: sec(15) - 1, count: 1 },
    ]);
    assert.deepEqual(stateRows(timed.q), [0, 1], 'the dedup state is evicted by window_time');
    await timed.q.stop();
  });

  test('stream-stream time-interval left outer join -> window agg over the left event time', async () => {
    const weir = new Weir();
    const in1 = weir.memoryStream('id1 STRING, timestamp1 TIMESTAMP');
    const in2 = weir.memoryStream('id2 STRING, timestamp2 TIMESTAMP');
    const s1 = in1.toDF().withWatermark('timestamp1', '0 seconds');
    const s2 = in2.toDF().withWatermark('timestamp2', '0 seconds');
    const joined = s1.join(s2, col('id1').equalTo(col('id2')).and(col('timestamp1')
      .between(col('timestamp2').minus(HOUR), col('timestamp2').plus(HOUR))), 'leftOuter');
    const query = joined.groupBy(window(col('timestamp1'), '10 minutes')).agg(count('*').as('cnt'))
      .select(col('window.start').as('start'), col('window.end').as('end'), col('cnt'));
    const { q, next } = await run(query);
    const at = (hms: string): number => Date.parse(`2023-01-01T${hms}Z`);
    const add = (left: [string, string][], right: [string, string][]) => () => {
      in1.addData(left.map(([id1, t]) => ({ id1, timestamp1: at(t) })));
      in2.addData(right.map(([id2, t]) => ({ id2, timestamp2: at(t) })));
    };
    assert.deepEqual(await next(add([['1', '01:00:10'], ['2', '01:00:30']], [['1', '01:00:20']])), []);
    assert.deepEqual(await next(add([['5', '01:15:00']], [['6', '01:15:00']])), []);
    // The watermark reaches 02:16: the join pads the left rows no right row can match any more (01:00:30 and
    // 01:15:00) and its output watermark (02:16 less the hour a left row may wait) closes [01:00, 01:10).
    assert.deepEqual(await next(add([['5', '02:16:00']], [['6', '02:16:00']])),
      [{ start: at('01:00:00'), end: at('01:10:00'), cnt: 2 }]);
    await q.stop();
  });

  test('q7-style join of a stream with its own aggregation: a raw row at the previous watermark is late, as in Spark', async () => {
    const weir = new Weir();
    const input = weir.memoryStream('price INT, ts TIMESTAMP');
    const bids = input.toDF().withWatermark('ts', '0 seconds');
    const maxima = bids.groupBy(window(col('ts'), '10 seconds')).agg(max('price').as('maxprice'))
      .select(windowTime(col('window')).as('windowTime'), col('maxprice'));
    const query = bids.join(maxima, col('price').equalTo(col('maxprice'))
      .and(col('ts').gt(col('windowTime').minus(10_000))).and(col('ts').leq(col('windowTime').plus(1))))
      .select('price', 'ts');
    const { q, next } = await run(query);
    const add = (pairs: [number, number][]) => () => input.addData(pairs.map(([price, s]) => ({ price, ts: sec(s) })));
    assert.deepEqual(await next(add([[1, 5], [9, 12]])), [{ price: 1, ts: sec(5) }]);
    // The watermark stands at 12 s since the last batch: a bid at exactly 12 s is late for the join's raw
    // side (Spark drops rows at the watermark); only the aggregation's output gets the millisecond of slack.
    assert.deepEqual(await next(add([[7, 12]])), []);
    assert.deepEqual(dropped(q), [1, 0], "the join drops it; for the aggregation its window [10 s, 20 s) is still open");
    await q.stop();
  });

  test('q5-style: count per key and window, then the max per window grouped by the window column itself', async () => {
    const weir = new Weir();
    const input = weir.memoryStream('auction INT, ts TIMESTAMP');
    const counts = input.toDF().withWatermark('ts', '0 seconds')
      .groupBy(window(col('ts'), '10 seconds', '5 seconds'), col('auction')).agg(count('*').as('num'));
    const query = counts.groupBy(col('window')).agg(max('num').as('maxn'))
      .select(col('window.start').as('start'), col('maxn'));
    const { q, next } = await run(query);
    const bids = (pairs: [number, number][]) => () => input.addData(pairs.map(([auction, s]) => ({ auction, ts: sec(s) })));
    assert.deepEqual(await next(bids([[1, 1], [1, 2], [2, 3], [2, 6], [2, 7], [3, 8]])), [{ start: -sec(5), maxn: 2 }]);
    // Auction 3 has 1 + 3 bids in [5, 15): the max per window counts every bid of the batch that closes it.
    assertRows(await next(bids([[3, 12], [3, 13], [3, 14], [1, 21]])), [{ start: 0, maxn: 3 }, { start: sec(5), maxn: 4 },
      { start: sec(10), maxn: 3 }]);
    await q.stop();
  });
});

describe('chained stateful operators in SQL', () => {
  test('window_time in SQL: a windowed count, then a window over its event time', async () => {
    const weir = new Weir();
    const input = weir.memoryStream('eventTime TIMESTAMP');
    input.toDF().createOrReplaceTempView('events');
    const query = weir.sql(`SELECT window.start AS start, count(*) AS windows, sum(n) AS n
      FROM (SELECT window, count(*) AS n FROM events WATERMARK eventTime DELAY OF INTERVAL 0 SECONDS
            GROUP BY window(eventTime, '5 seconds')) AS counts
      GROUP BY window(window_time(window), '10 seconds')`);
    const { q, next } = await run(query);
    assert.deepEqual(await next(() => input.addData(range(10, 21).map(({ value }) => ({ eventTime: sec(value as number) })))),
      [{ start: sec(10), windows: 2, n: 10 }]);
    await q.stop();
  });
});

/** Counts per 5-second window, then per 10-second window of those windows (Spark's window over window_time). */
function windowsOfWindows(df: DataFrame): DataFrame {
  return df.withWatermark('eventTime', '0 seconds')
    .groupBy(window(col('eventTime'), '5 seconds').as('window')).agg(count('*').as('count'))
    .groupBy(window(col('window'), '10 seconds')).agg(count('*').as('count'), sum('count').as('sum'))
    .select(col('window.start').as('start'), col('count'), col('sum'));
}

/** Adds rows, runs one trigger-once query on the checkpoint, and gives its batches (a run per call, as a restart). */
function onceOn(query: DataFrame, checkpoint: string, input: { addData(rows: Row[]): void }) {
  return async (rows: Row[]): Promise<[number, Row[]][]> => {
    const batches: [number, Row[]][] = [];
    input.addData(rows);
    const q = await startCollecting(query, batches, { checkpoint, trigger: { once: true } });
    await q.awaitTermination();
    return batches;
  };
}

describe('chained stateful operators across a restart', () => {
  test('the first batch after a restart drops late rows by the watermark of the batch before it, as Spark 3.5', async () => {
    const checkpoint = await tempDir();
    const weir = new Weir();
    const { input, df } = intStream(weir);
    const query = windowsOfWindows(df);
    const once = onceOn(query, checkpoint, input);
    assert.deepEqual(await once(range(10, 21)), [[0, []]]);
    // Batch 1 runs with watermark 21, but the batch before it ran with 0: 12 and 13 are not late yet,
    // join [10, 15) in the batch that evicts it, and both windows reach the second aggregation.
    assert.deepEqual(await once([{ value: 12 }, { value: 13 }]), [[1, [{ start: sec(10), count: 2, sum: 12 }]]]);
    // Batch 2 runs with 21 after a batch that ran with 21: rows of windows evicted at 21 are late now.
    assert.deepEqual(await once([{ value: 14 }, { value: 22 }]), [[2, []]]);
    const batches: [number, Row[]][] = [];
    input.addData([{ value: 40 }]);
    const q = await startCollecting(query, batches, { checkpoint });
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(batches.flatMap(([, rows]) => rows), [{ start: sec(20), count: 1, sum: 3 }]);
  });
});

describe('chained stateful operators: a batch re-run after a crash', () => {
  test('runs with the late-row watermark it first ran with (the previous batch\'s), so it emits the same rows', async () => {
    const checkpoint = await tempDir();
    const weir = new Weir();
    const { input, df } = intStream(weir);
    const query = windowsOfWindows(df);
    const once = onceOn(query, checkpoint, input);
    await once(range(10, 21));
    const first = await once([{ value: 12 }, { value: 13 }]);
    assert.deepEqual(first, [[1, [{ start: sec(10), count: 2, sum: 12 }]]]);
    // A crash after the sink took batch 1 and before its commit entry: the restart re-runs batch 1.
    await rm(join(checkpoint, 'commits', '1'));
    assert.deepEqual(await once([]), first);
  });
});

describe('support rules for several stateful operators', () => {
  const stream = () => new Weir().memoryStream('ts TIMESTAMP, word STRING').toDF();
  const start = async (df: DataFrame, mode: 'append' | 'update' | 'complete') =>
    df.writeStream.format('memory').queryName(`rules-${mode}`).outputMode(mode)
      .option('checkpointLocation', await tempDir()).start();

  test('an aggregation, join or event-time dedup after an aggregation needs append mode', async () => {
    const agg = () => stream().withWatermark('ts', '1 second').groupBy(window(col('ts'), '5 seconds'), col('word'))
      .agg(count('*').as('n'));
    for (const mode of ['update', 'complete'] as const) {
      await refused(() => start(agg().groupBy(col('window')).agg(max('n').as('m')), mode), 'UNSUPPORTED_OPERATION',
        /Multiple streaming aggregations/, new RegExp(`'${mode}'`), /outputMode\('append'\)/);
    }
    await refused(() => start(agg().withColumn('t', windowTime(col('window'))).dropDuplicates(['t', 'word']), 'update'),
      'UNSUPPORTED_OPERATION', /dropDuplicates after a streaming aggregation/);
  });

  test('a dedup without an event-time key may follow an aggregation in update mode (as in Spark)', async () => {
    const q = await start(stream().groupBy('word').agg(count('*').as('n')).dropDuplicates(['n']), 'update');
    await q.stop();
  });

  test('the next aggregation must group by an event time in append mode', async () => {
    const agg = stream().withWatermark('ts', '1 second').groupBy(window(col('ts'), '5 seconds'), col('word'))
      .agg(count('*').as('n'));
    await refused(() => start(agg.groupBy('word').agg(sum('n')), 'append'), 'UNSUPPORTED_OUTPUT_MODE',
      /needs a watermark/, /window_time/);
  });

  test('withWatermark after a stateful operator (a redefined watermark) is refused', async () => {
    const agg = stream().withWatermark('ts', '1 second').groupBy(window(col('ts'), '5 seconds')).agg(count('*').as('n'))
      .withColumn('t', windowTime(col('window')));
    await refused(() => start(agg.withWatermark('t', '1 second'), 'append'), 'UNSUPPORTED_OPERATION', /Redefining the watermark/);
  });

  test('window_time needs a window column', async () => {
    await refused(() => stream().select(windowTime(col('ts'))).schema, 'TYPE_MISMATCH', /window_time needs a window column/);
  });
});
