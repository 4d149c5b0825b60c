/** Joins, as Spark runs them: stream-stream (inner, outer, semi) with state and eviction, stream-static, batch. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AnalysisError, col, Weir } from '../../src/index.js';
import { assertRows, removeTempDirs, sec, startMemory, tempDir } from './helpers.js';

after(removeTempDirs);

const IMPRESSIONS = { adId: 'string', impTime: 'timestamp' };
const CLICKS = { clickAdId: 'string', clickTime: 'timestamp' };

/** Clicks within one minute after their impression, with watermarks on both sides. */
function adClicks(weir: Weir, how: string) {
  const imps = weir.memoryStream(IMPRESSIONS);
  const clicks = weir.memoryStream(CLICKS);
  const joined = imps.toDF().withWatermark('impTime', '10 seconds').join(
    clicks.toDF().withWatermark('clickTime', '20 seconds'),
    col('adId').equalTo(col('clickAdId'))
      .and(col('clickTime').geq(col('impTime')))
      .and(col('clickTime').leq(col('impTime').plus(60_000))),
    how);
  return { imps, clicks, joined };
}

describe('stream-stream joins', () => {
  test('inner: pairs join across batches and within one batch, each exactly once', async () => {
    const weir = new Weir();
    const { imps, clicks, joined } = adClicks(weir, 'inner');
    const q = await startMemory(joined, 'inner_join');
    imps.addData([{ adId: 'a', impTime: sec(1) }, { adId: 'b', impTime: sec(2) }]);
    await q.processAllAvailable();
    clicks.addData([{ clickAdId: 'a', clickTime: sec(5) }]);
    await q.processAllAvailable();
    imps.addData([{ adId: 'c', impTime: sec(3) }]);
    clicks.addData([{ clickAdId: 'c', clickTime: sec(4) }, { clickAdId: 'a', clickTime: sec(6) }, { clickAdId: 'b', clickTime: sec(90) }]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('inner_join').rows, [
      { adId: 'a', impTime: sec(1), clickAdId: 'a', clickTime: sec(5) },
      { adId: 'c', impTime: sec(3), clickAdId: 'c', clickTime: sec(4) },
      { adId: 'a', impTime: sec(1), clickAdId: 'a', clickTime: sec(6) },
    ]);
  });

  test('left outer: an unmatched row is NULL-padded only when the watermark evicts it', async () => {
    const weir = new Weir();
    const { imps, clicks, joined } = adClicks(weir, 'left_outer');
    const q = await startMemory(joined, 'left_join');
    imps.addData([{ adId: 'a', impTime: sec(1) }, { adId: 'b', impTime: sec(2) }]);
    clicks.addData([{ clickAdId: 'a', clickTime: sec(30) }]);
    await q.processAllAvailable();
    const rows = weir.memorySink('left_join').rows;
    assertRows(rows, [{ adId: 'a', impTime: sec(1), clickAdId: 'a', clickTime: sec(30) }], 'b is not padded yet');
    // Watermark = min(100 - 10, 100 - 20) = 80 s: b (2 s) can only match clicks up to 62 s, so it is evicted and padded.
    imps.addData([{ adId: 'z', impTime: sec(100) }]);
    clicks.addData([{ clickAdId: 'y', clickTime: sec(100) }]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('left_join').rows, [
      { adId: 'a', impTime: sec(1), clickAdId: 'a', clickTime: sec(30) },
      { adId: 'b', impTime: sec(2), clickAdId: null, clickTime: null },
    ]);
    const state = q.lastProgress?.stateOperators[0];
    assert.equal(state?.operatorName, 'symmetricHashJoin');
    assert.equal(state?.numRowsTotal, 2, 'only the two newest rows are still buffered');
  });

  test('right and full outer pad the unmatched rows of their sides at eviction', async () => {
    for (const [how, expected] of [
      ['right_outer', [{ adId: null, impTime: null, clickAdId: 'x', clickTime: sec(5) }]],
      ['full_outer', [{ adId: null, impTime: null, clickAdId: 'x', clickTime: sec(5) },
        { adId: 'b', impTime: sec(2), clickAdId: null, clickTime: null }]],
    ] as const) {
      const weir = new Weir();
      const { imps, clicks, joined } = adClicks(weir, how);
      const q = await startMemory(joined, `j_${how}`);
      imps.addData([{ adId: 'b', impTime: sec(2) }]);
      clicks.addData([{ clickAdId: 'x', clickTime: sec(5) }]);
      await q.processAllAvailable();
      assert.deepEqual(weir.memorySink(`j_${how}`).rows, [], `${how}: nothing before eviction`);
      imps.addData([{ adId: 'z', impTime: sec(200) }]);
      clicks.addData([{ clickAdId: 'y', clickTime: sec(200) }]);
      await q.processAllAvailable();
      await q.stop();
      assertRows(weir.memorySink(`j_${how}`).rows, [...expected], how);
    }
  });

  test('left semi: a left row is emitted once, at its first match, with its own columns', async () => {
    const weir = new Weir();
    const { imps, clicks, joined } = adClicks(weir, 'left_semi');
    const q = await startMemory(joined, 'semi_join');
    imps.addData([{ adId: 'a', impTime: sec(1) }, { adId: 'b', impTime: sec(1) }]);
    clicks.addData([{ clickAdId: 'a', clickTime: sec(2) }, { clickAdId: 'a', clickTime: sec(3) }]);
    await q.processAllAvailable();
    clicks.addData([{ clickAdId: 'a', clickTime: sec(4) }]);
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(weir.memorySink('semi_join').rows, [{ adId: 'a', impTime: sec(1) }]);
  });

  test('a restart restores both buffers: a click after the restart joins an impression from before', async () => {
    const checkpoint = await tempDir();
    const first = new Weir();
    const a = adClicks(first, 'inner');
    const q1 = await startMemory(a.joined, 'before', { checkpoint });
    a.imps.addData([{ adId: 'a', impTime: sec(1) }]);
    await q1.processAllAvailable();
    await q1.stop();
    const second = new Weir();
    const b = adClicks(second, 'inner');
    b.imps.addData([{ adId: 'a', impTime: sec(1) }]); // replays the offsets already processed
    const q2 = await startMemory(b.joined, 'after', { checkpoint });
    b.clicks.addData([{ clickAdId: 'a', clickTime: sec(9) }]);
    await q2.processAllAvailable();
    await q2.stop();
    assert.deepEqual(second.memorySink('after').rows, [{ adId: 'a', impTime: sec(1), clickAdId: 'a', clickTime: sec(9) }]);
  });

  test('unsupported stream-stream joins are refused at start, saying what to change', async () => {
    const weir = new Weir();
    const imps = weir.memoryStream(IMPRESSIONS);
    const clicks = weir.memoryStream(CLICKS);
    const noBound = imps.toDF().join(clicks.toDF(), col('adId').equalTo(col('clickAdId')), 'left');
    await assert.rejects(startMemory(noBound, 'x1'), (err: unknown) => err instanceof AnalysisError &&
      err.code === 'UNSUPPORTED_JOIN' && /withWatermark\(\) on both sides/.test(err.message));
    const inner = imps.toDF().join(clicks.toDF(), col('adId').equalTo(col('clickAdId')));
    await assert.rejects(startMemory(inner, 'x2', { mode: 'update' }), (err: unknown) => err instanceof AnalysisError &&
      /only output mode 'append'/.test(err.message));
    await assert.rejects(startMemory(imps.toDF().join(clicks.toDF(), col('adId').equalTo(col('clickAdId')), 'anti'), 'x3'),
      (err: unknown) => err instanceof AnalysisError && /anti join of two streams is not supported/.test(err.message));
    assert.throws(() => imps.toDF().join(clicks.toDF(), col('adId').equalTo(col('clickAdId')), 'sideways'),
      (err: unknown) => err instanceof AnalysisError && /'sideways'/.test(err.message));
  });
});

describe('stream-static and batch joins', () => {
  test('stream-static inner and left outer, by column name; keys appear once, first', async () => {
    const weir = new Weir();
    const users = weir.createDataFrame([{ id: 'u1', name: 'Ann' }, { id: 'u2', name: 'Bob' }], { id: 'string', name: 'string' });
    const events = weir.memoryStream({ id: 'string', amount: 'long' });
    const inner = await startMemory(events.toDF().join(users, 'id'), 'ss_inner');
    const left = await startMemory(events.toDF().join(users, ['id'], 'left'), 'ss_left');
    events.addData([{ id: 'u1', amount: 5 }, { id: 'u9', amount: 7 }, { id: 'u2', amount: 1 }]);
    await Promise.all([inner.processAllAvailable(), left.processAllAvailable()]);
    await Promise.all([inner.stop(), left.stop()]);
    assert.deepEqual(Object.keys(weir.memorySink('ss_inner').rows[0]!), ['id', 'amount', 'name']);
    assertRows(weir.memorySink('ss_inner').rows, [{ id: 'u1', amount: 5, name: 'Ann' }, { id: 'u2', amount: 1, name: 'Bob' }]);
    assertRows(weir.memorySink('ss_left').rows, [
      { id: 'u1', amount: 5, name: 'Ann' }, { id: 'u9', amount: 7, name: null }, { id: 'u2', amount: 1, name: 'Bob' },
    ]);
  });

  test('stream-static: a condition on the static side\'s columns filters its rows', async () => {
    const weir = new Weir();
    const users = weir.createDataFrame([{ uid: 'u1', tier: 'gold' }, { uid: 'u2', tier: 'basic' }], { uid: 'string', tier: 'string' });
    const events = weir.memoryStream({ id: 'string', amount: 'long' });
    const q = await startMemory(events.toDF().join(users, col('id').equalTo(col('uid')).and(col('tier').equalTo('gold'))), 'ss_cond');
    events.addData([{ id: 'u1', amount: 5 }, { id: 'u2', amount: 7 }]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('ss_cond').rows, [{ id: 'u1', amount: 5, uid: 'u1', tier: 'gold' }]);
  });

  test('stream-static: outer joins on the static side are refused', async () => {
    const weir = new Weir();
    const users = weir.createDataFrame([{ id: 'u1' }], { id: 'string' });
    const events = weir.memoryStream({ id: 'string' });
    await assert.rejects(startMemory(events.toDF().join(users, 'id', 'right'), 'bad'), (err: unknown) =>
      err instanceof AnalysisError && /stream \(on the left\) and a static DataFrame/.test(err.message));
    await assert.rejects(startMemory(events.toDF().join(users, 'id', 'full'), 'bad2'), (err: unknown) => err instanceof AnalysisError);
  });

  test('batch joins: inner, full outer, semi and anti; a condition join with a shared column name is refused', async () => {
    const weir = new Weir();
    const left = weir.createDataFrame([{ k: 1, l: 'x' }, { k: 2, l: 'y' }, { k: null, l: 'z' }], 'k LONG, l STRING');
    const right = weir.createDataFrame([{ k: 2, r: 'p' }, { k: 3, r: 'q' }, { k: 2, r: 'p2' }], 'k LONG, r STRING');
    assertRows(await left.join(right, 'k').collect(), [{ k: 2, l: 'y', r: 'p' }, { k: 2, l: 'y', r: 'p2' }]);
    assertRows(await left.join(right, 'k', 'full').collect(), [
      { k: 1, l: 'x', r: null }, { k: 2, l: 'y', r: 'p' }, { k: 2, l: 'y', r: 'p2' }, { k: null, l: 'z', r: null }, { k: 3, l: null, r: 'q' },
    ]);
    assertRows(await left.join(right, 'k', 'left_semi').collect(), [{ k: 2, l: 'y' }]);
    assertRows(await left.join(right, 'k', 'left_anti').collect(), [{ k: 1, l: 'x' }, { k: null, l: 'z' }]);
    assert.throws(() => left.join(right, col('k').equalTo(col('k'))), (err: unknown) =>
      err instanceof AnalysisError && err.code === 'DUPLICATE_COLUMN' && /withColumnRenamed\('k'/.test(err.message));
  });
});
