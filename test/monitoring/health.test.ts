/**
 * Health: the judgement on its own (every status and its thresholds), the monitor's transitions and
 * onQueryStatus events fed with progress, and real queries driven into stalled, watermark-stuck and failed.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  ConnectorError, QueryHealthStatus, QueryStatusEvent, StreamingQueryProgress, StreamingQueryStatus, Weir,
} from '../../src/index.js';
import { ListenerBus } from '../../src/engine/progress.js';
import { DEFAULT_HEALTH_THRESHOLDS, HealthObservation, judgeHealth } from '../../src/monitoring/health.js';
import { SessionMonitor } from '../../src/monitoring/session-monitor.js';
import { removeTempDirs, sec, startMemory, tempDir } from '../api/helpers.js';
import { eventually } from './child.js';

after(removeTempDirs);

const NOW = 1_000_000;
const BUSY: StreamingQueryStatus = { message: 'Processing new data', isDataAvailable: true, isTriggerActive: true };
const WAITING: StreamingQueryStatus = { message: 'Waiting for data to arrive', isDataAvailable: false, isTriggerActive: false };

function progress(batchId: number, fields: Partial<StreamingQueryProgress> = {}, lag?: number): StreamingQueryProgress {
  return {
    id: 'q', runId: 'r', name: 'q', timestamp: new Date(NOW).toISOString(), batchId, numInputRows: 10,
    inputRowsPerSecond: 100, processedRowsPerSecond: 200, durationMs: { triggerExecution: 50 }, eventTime: {},
    stateOperators: [], sources: [{ description: 's', startOffset: 0, endOffset: 1, numInputRows: 10, inputRowsPerSecond: 100,
      processedRowsPerSecond: 200, metrics: lag === undefined ? {} : { lag } }],
    sink: { description: 'k', numOutputRows: 10, metrics: {} }, operators: [], ...fields,
  };
}

function observe(fields: Partial<HealthObservation>): HealthObservation {
  return {
    isActive: true, failure: null, status: WAITING, triggerIntervalMs: 0, lastCommitAtMs: NOW, recent: [],
    watermarkMovedAtMs: NOW, batchesWithInputSinceWatermarkMoved: 0, ...fields,
  };
}

const T = { ...DEFAULT_HEALTH_THRESHOLDS, stalledAfterMs: 1000, fallingBehindBatches: 3, watermarkStuckAfterMs: 5000 };

test('judgement: stalled needs available data and no commit for max(N trigger intervals, the floor)', () => {
  assert.equal(judgeHealth(observe({ status: BUSY, lastCommitAtMs: NOW - 999 }), NOW, T).status, 'healthy');
  const stalled = judgeHealth(observe({ status: BUSY, lastCommitAtMs: NOW - 1000 }), NOW, T);
  assert.equal(stalled.status, 'stalled');
  assert.match(stalled.reasons[0]!, /no batch committed for 1\.0 s \(threshold 1\.0 s\); the query is at: Processing new data/);
  // Without data a quiet query is idle, however long ago its last batch was.
  assert.equal(judgeHealth(observe({ status: WAITING, lastCommitAtMs: 0 }), NOW, T).status, 'idle');
  // A 2 s trigger: three intervals (6 s) before it counts as stalled.
  assert.equal(judgeHealth(observe({ status: BUSY, triggerIntervalMs: 2000, lastCommitAtMs: NOW - 5999 }), NOW, T).status, 'healthy');
  assert.equal(judgeHealth(observe({ status: BUSY, triggerIntervalMs: 2000, lastCommitAtMs: NOW - 6000 }), NOW, T).status, 'stalled');
});

test('judgement: falling behind on rates over the whole window, or on source lag growing batch after batch', () => {
  const slow = (id: number) => progress(id, { inputRowsPerSecond: 300, processedRowsPerSecond: 200 });
  assert.equal(judgeHealth(observe({ recent: [slow(1), slow(2)] }), NOW, T).status, 'idle', 'the window is not full yet');
  const behind = judgeHealth(observe({ recent: [progress(0), slow(1), slow(2), slow(3)] }), NOW, T);
  assert.deepEqual(behind, { status: 'falling-behind',
    reasons: ['input rate above processing rate in the last 3 batches (now 300 vs 200 rows/s)'] });
  assert.equal(judgeHealth(observe({ recent: [slow(1), progress(2), slow(3)] }), NOW, T).status, 'idle');
  const growing = judgeHealth(observe({ recent: [10, 20, 30, 40].map((lag, i) => progress(i, {}, lag)) }), NOW, T);
  assert.deepEqual(growing.reasons, ['source lag grew in each of the last 3 batches (10 -> 40 records)']);
  assert.equal(judgeHealth(observe({ recent: [10, 20, 20, 40].map((lag, i) => progress(i, {}, lag)) }), NOW, T).status, 'idle');
});

test('judgement: watermark stuck while batches with input keep coming; failed and stopped come first', () => {
  const withWatermark = [progress(1, { eventTime: { watermark: '2026-01-01T00:00:00.000Z' } })];
  const stuck = observe({ recent: withWatermark, watermarkMovedAtMs: NOW - 5000, batchesWithInputSinceWatermarkMoved: 2 });
  assert.equal(judgeHealth(stuck, NOW, T).status, 'watermark-stuck');
  assert.equal(judgeHealth({ ...stuck, batchesWithInputSinceWatermarkMoved: 1 }, NOW, T).status, 'idle');
  assert.equal(judgeHealth({ ...stuck, watermarkMovedAtMs: NOW - 4999 }, NOW, T).status, 'idle');
  assert.equal(judgeHealth({ ...stuck, recent: [progress(1)] }, NOW, T).status, 'idle', 'no watermark, nothing to be stuck');
  assert.deepEqual(judgeHealth({ ...stuck, status: BUSY, lastCommitAtMs: 0, failure: 'SINK_DOWN: gone' }, NOW, T),
    { status: 'failed', reasons: ['SINK_DOWN: gone'] });
  assert.equal(judgeHealth({ ...stuck, isActive: false }, NOW, T).status, 'stopped');
});

test('the monitor posts onQueryStatus on each change, with the previous status, and not again while it holds', () => {
  const bus = new ListenerBus();
  const events: QueryStatusEvent[] = [];
  bus.add({ onQueryStatus: (e) => events.push(e) });
  const monitor = new SessionMonitor(bus, {
    health: { ...T, fallingBehindBatches: 2 }, healthCheckIntervalMs: 60_000, historySize: 10, persistHistory: false,
    onHistoryError: (_, err) => { throw err; },
  });
  try {
    const query = { id: 'q', runId: 'r', name: 'q', isActive: true, exception: null, lastProgress: null, status: BUSY };
    bus.post('onQueryStarted', { id: 'q', runId: 'r', name: 'q', timestamp: new Date().toISOString() });
    monitor.register(query);
    const post = (p: StreamingQueryProgress) => bus.post('onQueryProgress', { progress: p });
    post(progress(0));
    post(progress(1, { inputRowsPerSecond: 500, processedRowsPerSecond: 100 }));
    post(progress(2, { inputRowsPerSecond: 500, processedRowsPerSecond: 100 }));
    post(progress(3, { inputRowsPerSecond: 600, processedRowsPerSecond: 100 }));
    post(progress(4));
    const statuses = events.map((e) => [e.previousStatus, e.status]);
    assert.deepEqual(statuses, [[null, 'healthy'], ['healthy', 'falling-behind'], ['falling-behind', 'healthy']]);
    assert.deepEqual(monitor.health().map((h) => h.status), ['healthy']);
  } finally {
    monitor.close();
  }
});

/** Collects a session's status changes; `reached(status)` waits for one. */
function statusLog(weir: Weir): { statuses: QueryHealthStatus[]; reached(status: QueryHealthStatus): Promise<QueryStatusEvent> } {
  const events: QueryStatusEvent[] = [];
  weir.streams.addListener({ onQueryStatus: (e) => events.push(e) });
  return {
    get statuses() { return events.map((e) => e.status); },
    reached: (status) => eventually(`status ${status} (seen: ${events.map((e) => e.status).join(', ')})`,
      async () => events.find((e) => e.status === status)),
  };
}

test('a query whose batch hangs turns stalled (/health answers 503), and healthy again once it commits', async () => {
  const weir = new Weir({ ui: { port: 0 }, logLevel: 'silent', health: { stalledAfterMs: 100, checkIntervalMs: 20 } });
  const log = statusLog(weir);
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  try {
    const input = weir.memoryStream('n LONG');
    const query = await input.toDF().writeStream.foreachBatch(async () => { await released; })
      .option('checkpointLocation', await tempDir()).start();
    input.addData([{ n: 1 }]);
    const stalled = await log.reached('stalled');
    assert.equal(stalled.id, query.id);
    assert.match(stalled.reasons[0]!, /data is available but no batch committed/);
    const health = await fetch(`${await weir.uiUrl()}/health`);
    assert.equal(health.status, 503);
    const body = await health.json() as { status: string; queries: { status: string; reasons: string[] }[] };
    assert.equal(body.status, 'unhealthy');
    assert.equal(body.queries[0]!.status, 'stalled');
    assert.deepEqual(weir.streams.health().map((h) => [h.id, h.status]), [[query.id, 'stalled']]);
    release();
    await query.processAllAvailable();
    await eventually('stalled to clear', async () => ['healthy', 'idle'].includes(weir.streams.health()[0]!.status));
    const after = log.statuses.slice(log.statuses.indexOf('stalled') + 1);
    assert.ok(after.length > 0 && after.every((s) => s === 'healthy' || s === 'idle'), `after stalled: ${after.join(', ')}`);
    assert.equal((await fetch(`${await weir.uiUrl()}/health`)).status, 200);
    await query.stop();
    assert.equal(weir.streams.health()[0]!.status, 'stopped');
  } finally {
    release();
    await weir.close();
  }
});

test('a watermark held back by old event times turns watermark-stuck, and clears when it moves', async () => {
  const weir = new Weir({ logLevel: 'silent', health: { watermarkStuckAfterMs: 1, checkIntervalMs: 20 } });
  const log = statusLog(weir);
  try {
    const input = weir.memoryStream('ts TIMESTAMP, n LONG');
    const query = await startMemory(input.toDF().withWatermark('ts', '10 seconds').dropDuplicates(['n', 'ts']), 'stuck');
    for (let i = 0; i < 4; i++) {
      input.addData([{ ts: sec(100), n: i }]); // the same event time: the watermark stays where it is
      await query.processAllAvailable();
    }
    const stuck = await log.reached('watermark-stuck');
    assert.match(stuck.reasons[0]!, /the watermark has not moved for .* while 2 batches with input ran/);
    input.addData([{ ts: sec(500), n: 9 }]);
    await query.processAllAvailable();
    input.addData([{ ts: sec(501), n: 10 }]);
    await query.processAllAvailable();
    await eventually('the stuck watermark to clear', async () => weir.streams.health()[0]!.status !== 'watermark-stuck');
    await query.stop();
  } finally {
    await weir.close();
  }
});

test('a failed query reports failed with its error code and message', async () => {
  const weir = new Weir({ logLevel: 'silent' });
  const log = statusLog(weir);
  try {
    const input = weir.memoryStream('n LONG');
    const query = await input.toDF().writeStream.foreachBatch(() => {
      throw new ConnectorError('WAREHOUSE_DOWN', 'the warehouse refused the batch: start it and restart the query');
    }).option('checkpointLocation', await tempDir()).start();
    input.addData([{ n: 1 }]);
    await assert.rejects(query.awaitTermination());
    const failed = await log.reached('failed');
    assert.match(failed.reasons[0]!, /^WAREHOUSE_DOWN: .*the warehouse refused the batch: start it and restart the query/);
    assert.equal(weir.streams.health()[0]!.status, 'failed');
  } finally {
    await weir.close();
  }
});

test('a session keeps listing its newest 50 ended queries, and every running one', async () => {
  const weir = new Weir({ logLevel: 'silent' });
  try {
    const running = await startMemory(weir.memoryStream('n LONG').toDF(), 'running');
    for (let i = 0; i < 55; i++) await (await startMemory(weir.memoryStream('n LONG').toDF(), `ended-${i}`)).stop();
    const names = weir.streams.health().map((h) => h.name);
    assert.equal(names.length, 51);
    assert.ok(names.includes('running'));
    assert.deepEqual(names.filter((n) => n !== 'running'), Array.from({ length: 50 }, (_, i) => `ended-${i + 5}`));
    await running.stop();
  } finally {
    await weir.close();
  }
});
