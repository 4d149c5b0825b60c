/**
 * Spark's state rules for stream-stream joins (StreamingSymmetricHashJoinExec and its helper), each
 * checked batch by batch: the rows a batch emits and the state figures it reports, as Spark's
 * StreamingJoinSuite scenarios check them, across a restart where it matters.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { col, DataFrame, MemoryStreamInput, Row, StreamingQuery, Weir, window } from '../../src/index.js';
import { refused, removeTempDirs, sec, sorted, tempDir, win } from './helpers.js';

after(removeTempDirs);

/** What one batch did: its rows (sorted) and its state figures [total, updated, removed], and late rows dropped. */
interface BatchSeen { readonly rows: Row[]; readonly state: [number, number, number]; readonly dropped: number }

/**
 * Runs a query built over memory streams step by step. `restart()` stops it and starts the same query
 * on the same checkpoint, replaying every earlier addData so the streams' offsets are the same.
 */
class Scenario {
  private readonly added: [number, Row[]][] = [];
  private streams: MemoryStreamInput[] = [];
  private query: StreamingQuery | null = null;
  private readonly outputs = new Map<number, Row[]>();
  private lastBatchId = -1;

  private constructor(private readonly build: (weir: Weir) => { streams: MemoryStreamInput[]; df: DataFrame },
    private readonly checkpoint: string) {}

  static async start(build: (weir: Weir) => { streams: MemoryStreamInput[]; df: DataFrame }): Promise<Scenario> {
    const s = new Scenario(build, await tempDir());
    await s.open();
    return s;
  }

  private async open(): Promise<void> {
    const { streams, df } = this.build(new Weir());
    this.streams = streams;
    for (const [i, rows] of this.added) streams[i]!.addData(rows);
    this.query = await df.writeStream.outputMode('append').option('checkpointLocation', this.checkpoint)
      .trigger({ processingTime: 0 })
      .foreachBatch((rows, batchId) => { this.outputs.set(batchId, rows); })
      .start();
  }

  /** Adds rows to streams (all before the next batch is planned), runs every batch due, and returns them. */
  async step(...adds: [stream: number, rows: Row[]][]): Promise<BatchSeen[]> {
    for (const [i, rows] of adds) {
      this.added.push([i, rows]);
      this.streams[i]!.addData(rows);
    }
    await this.query!.processAllAvailable();
    const fresh = this.query!.recentProgress.filter((p) => p.batchId > this.lastBatchId);
    this.lastBatchId = Math.max(this.lastBatchId, ...fresh.map((p) => p.batchId));
    return fresh.map((p) => {
      const s = p.stateOperators[0]!;
      return {
        rows: sorted(this.outputs.get(p.batchId) ?? []), state: [s.numRowsTotal, s.numRowsUpdated, s.numRowsRemoved],
        dropped: s.numRowsDroppedByWatermark,
      };
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.open();
  }

  async stop(): Promise<void> {
    await this.query?.stop();
  }
}

const batch = (rows: Row[], state: [number, number, number], dropped = 0): BatchSeen => ({ rows: sorted(rows), state, dropped });

/** Spark's setupStream: key = value, time = value seconds, value = value * multiplier; watermark 10 s when asked. */
function sideStream(weir: Weir, prefix: string, watermark: boolean) {
  const stream = weir.memoryStream({ key: 'long', [`${prefix}Time`]: 'timestamp', [`${prefix}Value`]: 'long' });
  const df = stream.toDF();
  return { stream, df: watermark ? df.withWatermark(`${prefix}Time`, '10 seconds') : df };
}

const leftRow = (v: number): Row => ({ key: v, leftTime: sec(v), leftValue: v * 2 });
const rightRow = (v: number): Row => ({ key: v, rightTime: sec(v), rightValue: v * 3 });

describe('stream-stream join state rules', () => {
  test('a window join key with one watermark: both sides are cleaned by it, also after a restart', async () => {
    // Spark: "stream stream inner join on windows - with watermark" (only the left side declares one).
    const s = await Scenario.start((weir) => {
      const l = sideStream(weir, 'left', true);
      const r = sideStream(weir, 'right', false);
      const left = l.df.select(col('key'), window('leftTime', '10 seconds'), col('leftValue'));
      const right = r.df.select(col('key'), window('rightTime', '10 seconds'), col('rightValue'));
      return { streams: [l.stream, r.stream], df: left.join(right, ['key', 'window']) };
    });
    const joined = (v: number, w: [number, number]): Row => ({ key: v, window: win(...w), leftValue: v * 2, rightValue: v * 3 });
    assert.deepEqual(await s.step([0, [leftRow(1)]]), [batch([], [1, 1, 0])]);
    assert.deepEqual(await s.step([1, [rightRow(1)]]), [batch([joined(1, [0, 10])], [2, 1, 0])]);
    await s.restart();
    // Watermark 25 - 10 = 15 after this batch: the no-data batch removes both rows of window [0, 10].
    assert.deepEqual(await s.step([0, [leftRow(25)]]), [batch([], [3, 1, 0]), batch([], [1, 0, 2])]);
    assert.deepEqual(await s.step([1, [rightRow(25)]]), [batch([joined(25, [20, 30])], [2, 1, 0])]);
    await s.restart();
    // The right side has no watermark of its own: its row of window [0, 10] is not late, but the left row it
    // would have matched is gone, and it is not stored (its key is at or below the state watermark).
    assert.deepEqual(await s.step([1, [rightRow(1)]]), [batch([], [2, 0, 0])]);
    // A late left row is dropped before it joins.
    assert.deepEqual(await s.step([0, [leftRow(5)]]), [batch([], [2, 0, 0], 1)]);
    await s.stop();
  });

  test('non-strict bounds: the state watermark is 1 ms lower, so outer NULL rows come when Spark emits them', async () => {
    // impTime <= clickTime <= impTime + 60 s, no delay: the left state watermark is watermark - 60 s - 1 ms.
    const s = await Scenario.start((weir) => {
      const imps = weir.memoryStream({ adId: 'string', impTime: 'timestamp' });
      const clicks = weir.memoryStream({ clickAdId: 'string', clickTime: 'timestamp' });
      const df = imps.toDF().withWatermark('impTime', '0 seconds').join(
        clicks.toDF().withWatermark('clickTime', '0 seconds'),
        col('adId').equalTo(col('clickAdId')).and(col('clickTime').geq(col('impTime')))
          .and(col('clickTime').leq(col('impTime').plus(60_000))),
        'left_outer');
      return { streams: [imps, clicks], df };
    });
    assert.deepEqual(await s.step([0, [{ adId: 'a', impTime: 1000 }]]), [batch([], [1, 1, 0])]);
    // Watermark 61 000: the left state watermark is 60 999 - 60 000 = 999, so a (1 000) stays.
    assert.deepEqual(await s.step([0, [{ adId: 'z', impTime: 61_000 }]], [1, [{ clickAdId: 'y', clickTime: 61_000 }]]),
      [batch([], [3, 2, 0]), batch([], [3, 0, 0])]);
    // Watermark 61 001: a goes out NULL-padded; the right side's y (61 000 <= 61 001 - 1) is removed. As in Spark,
    // only the removals of the side that emits nothing count as removed.
    assert.deepEqual(await s.step([0, [{ adId: 'z2', impTime: 61_001 }]], [1, [{ clickAdId: 'y2', clickTime: 61_001 }]]), [
      batch([], [5, 2, 0]),
      batch([{ adId: 'a', impTime: 1000, clickAdId: null, clickTime: null }], [3, 0, 1]),
    ]);
    await s.stop();
  });

  test('left semi: a left row that matches on arrival is emitted and not stored; a stored one is emitted once', async () => {
    const s = await Scenario.start((weir) => {
      const imps = weir.memoryStream({ adId: 'string', impTime: 'timestamp' });
      const clicks = weir.memoryStream({ clickAdId: 'string', clickTime: 'timestamp' });
      const df = imps.toDF().withWatermark('impTime', '10 seconds').join(
        clicks.toDF().withWatermark('clickTime', '20 seconds'),
        col('adId').equalTo(col('clickAdId')).and(col('clickTime').geq(col('impTime')))
          .and(col('clickTime').leq(col('impTime').plus(60_000))),
        'left_semi');
      return { streams: [imps, clicks], df };
    });
    assert.deepEqual(await s.step([1, [{ clickAdId: 'a', clickTime: sec(2) }]]), [batch([], [1, 1, 0])]);
    assert.deepEqual(await s.step([0, [{ adId: 'a', impTime: sec(1) }, { adId: 'b', impTime: sec(1) }]]),
      [batch([{ adId: 'a', impTime: sec(1) }], [2, 1, 0])], 'a is emitted at once and only b is stored');
    assert.deepEqual(await s.step([1, [{ clickAdId: 'a', clickTime: sec(3) }]]), [batch([], [3, 1, 0])]);
    assert.deepEqual(await s.step([1, [{ clickAdId: 'b', clickTime: sec(4) }]]), [batch([{ adId: 'b', impTime: sec(1) }], [4, 1, 0])]);
    assert.deepEqual(await s.step([1, [{ clickAdId: 'b', clickTime: sec(5) }]]), [batch([], [5, 1, 0])], 'b is not emitted twice');
    await s.stop();
  });

  /** Spark's windowed outer join with a condition on one side (StreamingOuterJoinSuite). */
  function windowedOuterJoin(condition: 'left' | 'right') {
    return (weir: Weir) => {
      const l = sideStream(weir, 'left', true);
      const r = sideStream(weir, 'right', true);
      const left = l.df.select(col('key'), window('leftTime', '10 seconds').as('lwindow'), col('leftValue'));
      const right = r.df.select(col('key').as('rkey'), window('rightTime', '10 seconds').as('rwindow'), col('rightValue'));
      const on = col('key').equalTo(col('rkey')).and(col('lwindow').equalTo(col('rwindow')))
        .and(condition === 'left' ? col('leftValue').gt(4) : col('rightValue').gt(7));
      return { streams: [l.stream, r.stream], df: left.join(right, on, 'left_outer') };
    };
  }
  const outerRow = (v: number, right: boolean): Row => ({
    key: v, lwindow: win(Math.floor(v / 10) * 10, Math.floor(v / 10) * 10 + 10), leftValue: v * 2,
    rkey: right ? v : null, rwindow: right ? win(Math.floor(v / 10) * 10, Math.floor(v / 10) * 10 + 10) : null,
    rightValue: right ? v * 3 : null,
  });

  test('early exclusion on the preserved side: a left row failing its own condition is emitted NULL-padded at once, not stored', async () => {
    const s = await Scenario.start(windowedOuterJoin('left'));
    assert.deepEqual(await s.step([0, [1, 2, 3].map(leftRow)], [1, [3, 4, 5].map(rightRow)]),
      [batch([outerRow(3, true), outerRow(1, false), outerRow(2, false)], [4, 4, 0])]);
    // Watermark 10: window [0, 10] expires; no more NULL rows (1 and 2 went out already, 3 matched).
    assert.deepEqual(await s.step([0, [leftRow(20)]], [1, [rightRow(21)]]), [batch([], [6, 2, 0]), batch([], [2, 0, 3])]);
    assert.deepEqual(await s.step([1, [rightRow(20)]]), [batch([outerRow(20, true)], [3, 1, 0])]);
    await s.stop();
  });

  test('early exclusion on the other side: a right row failing its own condition is never stored', async () => {
    const s = await Scenario.start(windowedOuterJoin('right'));
    assert.deepEqual(await s.step([0, [3, 4, 5].map(leftRow)], [1, [1, 2, 3].map(rightRow)]),
      [batch([outerRow(3, true)], [4, 4, 0])]);
    // Watermark 10: the no-data batch pads the unmatched left rows 4 and 5.
    assert.deepEqual(await s.step([0, [leftRow(20)]], [1, [rightRow(21)]]),
      [batch([], [6, 2, 0]), batch([outerRow(4, false), outerRow(5, false)], [2, 0, 1])]);
    assert.deepEqual(await s.step([1, [rightRow(20)]]), [batch([outerRow(20, true)], [3, 1, 0])]);
    await s.stop();
  });

  test('a filter below the watermark: rows it removes do not move the watermark; one on the event time does', async () => {
    const build = (filter: 'kind' | 'time') => (weir: Weir) => {
      const imps = weir.memoryStream({ adId: 'string', kind: 'string', impTime: 'timestamp' });
      const clicks = weir.memoryStream({ clickAdId: 'string', clickTime: 'timestamp' });
      const left = imps.toDF().withWatermark('impTime', '0 seconds')
        .filter(filter === 'kind' ? col('kind').equalTo('ad') : col('impTime').lt(sec(1000)));
      const df = left.join(clicks.toDF().withWatermark('clickTime', '0 seconds'),
        col('adId').equalTo(col('clickAdId')).and(col('clickTime').geq(col('impTime')))
          .and(col('clickTime').leq(col('impTime').plus(sec(60)))));
      return { streams: [imps, clicks], df };
    };
    for (const filter of ['kind', 'time'] as const) {
      const s = await Scenario.start(build(filter));
      await s.step([0, [{ adId: 'a', kind: 'ad', impTime: sec(10) }]]);
      // Removed by the filter: with the filter below the watermark this row does not move it to 5 000 s.
      const dropped = filter === 'kind' ? { adId: 'x', kind: 'promo', impTime: sec(5000) } : { adId: 'x', kind: 'ad', impTime: sec(5000) };
      await s.step([0, [dropped]], [1, [{ clickAdId: 'q', clickTime: sec(6000) }]]);
      const last = await s.step([1, [{ clickAdId: 'a', clickTime: sec(20) }]]);
      if (filter === 'kind') {
        assert.deepEqual(last.map((b) => b.rows), [[{ adId: 'a', kind: 'ad', impTime: sec(10), clickAdId: 'a', clickTime: sec(20) }]]);
      } else {
        // The filter reads the event time, so it stays above the watermark (as in Spark): the watermark moved
        // to 5 000 s, the click at 20 s is late and a's row was removed from state.
        assert.deepEqual(last, [batch([], [1, 0, 0], 1)]);
      }
      await s.stop();
    }
  });

  test('a one-side condition of an inner join applies below that side\'s watermark', async () => {
    const s = await Scenario.start((weir) => {
      const imps = weir.memoryStream({ adId: 'string', kind: 'string', impTime: 'timestamp' });
      const clicks = weir.memoryStream({ clickAdId: 'string', clickTime: 'timestamp' });
      const df = imps.toDF().withWatermark('impTime', '0 seconds').join(clicks.toDF().withWatermark('clickTime', '0 seconds'),
        col('adId').equalTo(col('clickAdId')).and(col('kind').equalTo('ad')).and(col('clickTime').geq(col('impTime')))
          .and(col('clickTime').leq(col('impTime').plus(sec(60)))));
      return { streams: [imps, clicks], df };
    });
    await s.step([0, [{ adId: 'a', kind: 'ad', impTime: sec(10) }]]);
    const second = await s.step([0, [{ adId: 'x', kind: 'promo', impTime: sec(5000) }]], [1, [{ clickAdId: 'q', clickTime: sec(6000) }]]);
    // The watermark moves to 10 s (not 5 000 s): the no-data batch removes nothing.
    assert.deepEqual(second.map((b) => b.state), [[2, 1, 0], [2, 0, 0]], 'the promo row neither enters state nor moves the watermark');
    const last = await s.step([1, [{ clickAdId: 'a', clickTime: sec(20) }]]);
    assert.deepEqual(last.map((b) => b.rows), [[{ adId: 'a', kind: 'ad', impTime: sec(10), clickAdId: 'a', clickTime: sec(20) }]]);
    await s.stop();
  });

  test('a where() over both sides of an inner join joins its condition; rows at or below the state watermark are not stored', async () => {
    // Spark's "inner join with time range - with watermark - one side condition", the range written in where().
    const s = await Scenario.start((weir) => {
      const l = weir.memoryStream({ leftKey: 'long', leftTime: 'timestamp' });
      const r = weir.memoryStream({ rightKey: 'long', rightTime: 'timestamp' });
      const df = l.toDF().withWatermark('leftTime', '10 seconds')
        .join(r.toDF().withWatermark('rightTime', '10 seconds'), col('leftKey').equalTo(col('rightKey')))
        .where(col('leftTime').lt(col('rightTime').minus(sec(5))));
      return { streams: [l, r], df };
    });
    const L = (t: number): Row => ({ leftKey: 1, leftTime: sec(t) });
    const R = (t: number, k = 1): Row => ({ rightKey: k, rightTime: sec(t) });
    const states = async (...adds: [number, Row[]][]): Promise<[number, number, number][]> => (await s.step(...adds)).map((b) => b.state);
    assert.deepEqual(await states([0, [L(5)]]), [[1, 1, 0]]);
    assert.deepEqual(await states([1, [R(11)]]), [[2, 1, 0]]);
    assert.deepEqual(await states([1, [R(10)]]), [[3, 1, 0]]);
    assert.deepEqual(await states([0, [L(3), L(30)]]), [[5, 2, 0], [5, 0, 0]]);
    // Watermark 20: the right state watermark is 20 + 5 = 25, so right rows 10 and 11 go.
    assert.deepEqual(await states([1, [R(30, 0)]]), [[6, 1, 0], [4, 0, 2]]);
    // 20 is late; 21 joins the left rows 3 and 5 but is not stored (at or below the right state watermark 25); 28 is.
    const joined = (lt: number, rt: number): Row => ({ ...L(lt), ...R(rt) });
    assert.deepEqual(await s.step([1, [R(20), R(21), R(28)]]),
      [batch([joined(3, 21), joined(5, 21), joined(3, 28), joined(5, 28)], [5, 1, 0], 1)]);
    assert.deepEqual(await s.step([0, [L(20), L(21)]]), [batch([joined(21, 28)], [6, 1, 0], 1)]);
    await s.stop();
  });

  test('rows whose key or compared time is null can match nothing: filtered before the join, a null key before the watermark', async () => {
    const s = await Scenario.start((weir) => {
      const imps = weir.memoryStream({ adId: 'string', impTime: 'timestamp' });
      const clicks = weir.memoryStream({ clickAdId: 'string', clickTime: 'timestamp' });
      const df = imps.toDF().withWatermark('impTime', '0 seconds').join(clicks.toDF().withWatermark('clickTime', '0 seconds'),
        col('adId').equalTo(col('clickAdId')).and(col('clickTime').geq(col('impTime')))
          .and(col('clickTime').leq(col('impTime').plus(sec(60)))));
      return { streams: [imps, clicks], df };
    });
    await s.step([0, [{ adId: 'a', impTime: sec(10) }, { adId: null, impTime: sec(5000) }, { adId: 'a', impTime: null }]],
      [1, [{ clickAdId: 'q', clickTime: sec(6000) }]]);
    // Only a (10 s) and q are kept; the null-key row did not move the watermark past 10 s, so a still joins.
    const last = await s.step([1, [{ clickAdId: 'a', clickTime: sec(20) }]]);
    assert.deepEqual(last, [batch([{ adId: 'a', impTime: sec(10), clickAdId: 'a', clickTime: sec(20) }], [3, 1, 0])]);
    await s.stop();
  });

  test('a condition carries over a join equality to the other side (Spark\'s "self left semi join")', async () => {
    const s = await Scenario.start((weir) => {
      const input = weir.memoryStream({ value: 'long', timestamp: 'timestamp' });
      const left = input.toDF().select(col('value').as('leftId'), col('timestamp').as('leftTime'));
      // Only even values on the right; leftId = rightId makes Spark filter the left side to even values too.
      const right = input.toDF().where(col('value').mod(2).equalTo(0)).select(col('value').as('rightId'), col('timestamp').as('rightTime'));
      const df = left.withWatermark('leftTime', '5 seconds').join(right.withWatermark('rightTime', '5 seconds'),
        col('leftId').equalTo(col('rightId')).and(col('rightTime').geq(col('leftTime')))
          .and(col('rightTime').leq(col('leftTime').plus(sec(5)))), 'left_semi');
      return { streams: [input], df };
    });
    const rows = (...ids: number[]): Row[] => ids.map((v) => ({ leftId: v, leftTime: sec(v) }));
    const values = (...vs: number[]): Row[] => vs.map((v) => ({ value: v, timestamp: sec(v) }));
    assert.deepEqual(await s.step([0, values(1, 2, 3, 4, 5)]), [batch(rows(2, 4), [4, 4, 0])]);
    // Watermark 5: the right rows 2 and 4 go (right state watermark 5 - 1 ms); the left ones wait 5 s more.
    assert.deepEqual(await s.step([0, values(6, 7, 8, 9, 10)]), [batch(rows(6, 8, 10), [10, 6, 0]), batch([], [8, 0, 2])]);
    assert.deepEqual(await s.step([0, values(11, 12, 13, 14, 15)]), [batch(rows(12, 14), [12, 4, 0]), batch([], [9, 0, 3])]);
    await s.stop();
  });

  test('null-safe equality is a join key: null keys match each other (eqNullSafe and SQL <=>)', async () => {
    const s = await Scenario.start((weir) => {
      const l = weir.memoryStream({ lk: 'string', lv: 'long' });
      const r = weir.memoryStream({ rk: 'string', rv: 'long' });
      return { streams: [l, r], df: l.toDF().join(r.toDF(), col('lk').eqNullSafe(col('rk'))) };
    });
    await s.step([0, [{ lk: null, lv: 1 }, { lk: 'a', lv: 2 }]]);
    const seen = await s.step([1, [{ rk: null, rv: 10 }, { rk: 'b', rv: 20 }]]);
    assert.deepEqual(seen, [batch([{ lk: null, lv: 1, rk: null, rv: 10 }], [4, 2, 0])]);
    await s.stop();
    const weir = new Weir();
    const left = weir.createDataFrame([{ lk: null, lv: 1 }, { lk: 'a', lv: 2 }], 'lk STRING, lv LONG');
    const right = weir.createDataFrame([{ rk: null, rv: 10 }, { rk: 'a', rv: 20 }], 'rk STRING, rv LONG');
    left.createOrReplaceTempView('l');
    right.createOrReplaceTempView('r');
    assert.deepEqual(sorted(await weir.sql('SELECT lv, rv FROM l JOIN r ON lk <=> rk').collect()), [{ lv: 1, rv: 10 }, { lv: 2, rv: 20 }]);
  });

  test('a stream-stream join without an equality between the sides is refused, as in Spark', async () => {
    const weir = new Weir();
    const l = weir.memoryStream({ lk: 'long', lt: 'timestamp' });
    const r = weir.memoryStream({ rk: 'long', rt: 'timestamp' });
    const df = l.toDF().join(r.toDF(), col('lk').lt(col('rk')));
    const checkpoint = await tempDir();
    await refused(() => df.writeStream.format('memory').queryName('no_eq').option('checkpointLocation', checkpoint).start(),
      'UNSUPPORTED_JOIN', /Stream-stream join without equality predicate is not supported/, /equalTo/);
  });
});
