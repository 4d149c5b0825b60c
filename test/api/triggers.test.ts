import assert from 'node:assert/strict';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  AnalysisError, col, QueryIdleEvent, QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent, Row, Weir,
  window,
} from '../../src/index.js';
import { removeTempDirs, sec, startCollecting, startMemory, tempDir } from './helpers.js';

after(removeTempDirs);

const EVENTS = 'ts TIMESTAMP, word STRING';
const ev = (s: number, word: string): Row => ({ ts: sec(s), word });

/** A folder with three JSON files of two rows each, admitted in order f1, f2, f3 (by modification time). */
async function threeFiles(): Promise<string> {
  const dir = await tempDir('weir-api-files-');
  for (let i = 1; i <= 3; i++) {
    const file = join(dir, `f${i}.json`);
    await writeFile(file, `${JSON.stringify({ k: `f${i}`, v: 1 })}\n${JSON.stringify({ k: `f${i}`, v: 2 })}\n`);
    await utimes(file, 1_000 + i, 1_000 + i);
  }
  return dir;
}

describe('triggers', () => {
  test('{ once: true } runs one batch (one file with maxFilesPerTrigger 1) and stops by itself', async () => {
    const weir = new Weir();
    const df = weir.readStream.format('json').schema('k STRING, v INT').option('maxFilesPerTrigger', 1)
      .load(await threeFiles());
    const seen: [number, Row[]][] = [];
    const q = await startCollecting(df, seen, { trigger: { once: true } });
    await q.awaitTermination();
    assert.equal(q.isActive, false);
    assert.deepEqual(seen, [[0, [{ k: 'f1', v: 1 }, { k: 'f1', v: 2 }]]]);
  });

  test('{ availableNow: true } runs batches until everything there at start is read, each within the limit', async () => {
    const weir = new Weir();
    const df = weir.readStream.format('json').schema('k STRING, v INT').option('maxFilesPerTrigger', 1)
      .load(await threeFiles());
    const seen: [number, Row[]][] = [];
    const q = await startCollecting(df, seen, { trigger: { availableNow: true } });
    await q.awaitTermination();
    assert.equal(q.isActive, false);
    assert.deepEqual(seen.map(([id, rows]) => [id, rows.map((r) => `${r['k']}:${r['v']}`)]), [
      [0, ['f1:1', 'f1:2']], [1, ['f2:1', 'f2:2']], [2, ['f3:1', 'f3:2']],
    ]);
    assert.deepEqual(q.recentProgress.map((p) => p.sources[0]?.metrics['numFilesRead']), [1, 1, 1]);
  });

  test('once runs no no-data batch; availableNow ends with one when the watermark moved', async () => {
    const run = async (trigger: { once: true } | { availableNow: true }) => {
      const weir = new Weir();
      const input = weir.memoryStream(EVENTS);
      input.addData([ev(1, 'a'), ev(30, 'b')]);
      const seen: [number, Row[]][] = [];
      const df = input.toDF().withWatermark('ts', '5 seconds').groupBy(window('ts', '10 seconds')).count();
      const q = await startCollecting(df, seen, { trigger });
      await q.awaitTermination();
      return { batches: q.recentProgress.map((p) => [p.batchId, p.numInputRows]), emitted: seen.flatMap(([, r]) => r) };
    };
    assert.deepEqual(await run({ once: true }), { batches: [[0, 2]], emitted: [] });
    assert.deepEqual(await run({ availableNow: true }), {
      batches: [[0, 2], [1, 0]], emitted: [{ window: { start: 0, end: sec(10) }, count: 1 }],
    });
  });

  test('processingTime runs batches as data arrives; processAllAvailable waits for them', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const q = await startMemory(input.toDF(), 'pt', { trigger: { processingTime: '20 milliseconds' } });
    input.addData([ev(1, 'a')]);
    await q.processAllAvailable();
    input.addData([ev(2, 'b'), ev(3, 'c')]);
    await q.processAllAvailable();
    assert.equal(q.isActive, true);
    await q.stop();
    assert.deepEqual(weir.memorySink('pt').rows, [ev(1, 'a'), ev(2, 'b'), ev(3, 'c')]);
    assert.equal(q.recentProgress.reduce((n, p) => n + p.numInputRows, 0), 3);
  });

  test('a stateless query never runs an empty batch', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const q = await startMemory(input.toDF().withWatermark('ts', '1 second'), 'noempty');
    input.addData([ev(100, 'a')]);
    await q.processAllAvailable();
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(q.recentProgress.map((p) => [p.batchId, p.numInputRows]), [[0, 1]]);
  });

  test('bad triggers are rejected, naming what to use', () => {
    const writer = new Weir().memoryStream(EVENTS).toDF().writeStream;
    assert.throws(() => writer.trigger({ once: false } as unknown as { once: true }), (err: unknown) => {
      assert.ok(err instanceof AnalysisError);
      assert.equal(err.code, 'INVALID_TRIGGER');
      assert.match(err.message, /processingTime.*once.*availableNow/);
      return true;
    });
    assert.throws(() => writer.trigger({ processingTime: 'soon' }), /processingTime/);
  });
});

describe('query lifecycle', () => {
  test('stop, isActive, awaitTermination, weir.streams.active; stop twice is harmless', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const q = await startMemory(input.toDF(), 'life');
    assert.equal(q.isActive, true);
    assert.deepEqual(weir.streams.active, [q]);
    const terminated = q.awaitTermination();
    input.addData([ev(1, 'a')]);
    await q.processAllAvailable();
    await q.stop();
    await terminated;
    assert.equal(q.isActive, false);
    assert.equal(q.exception, null);
    assert.deepEqual(weir.streams.active, []);
    await q.stop();
    await q.awaitTermination();
    await q.processAllAvailable();
    // Data added after stop is not processed.
    input.addData([ev(2, 'b')]);
    assert.deepEqual(weir.memorySink('life').rows, [ev(1, 'a')]);
  });

  test('id is stable across restarts on one checkpoint, runId is new each start; name is the query name', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const checkpoint = await tempDir();
    const first = await startMemory(input.toDF(), 'named', { checkpoint });
    input.addData([ev(1, 'a')]);
    await first.processAllAvailable();
    await first.stop();
    const second = await startMemory(input.toDF(), 'named', { checkpoint });
    input.addData([ev(2, 'b')]);
    await second.processAllAvailable();
    await second.stop();
    const other = await startMemory(input.toDF(), 'other');
    await other.stop();
    assert.equal(second.id, first.id);
    assert.notEqual(second.runId, first.runId);
    assert.notEqual(other.id, first.id);
    assert.equal(first.name, 'named');
    assert.deepEqual(second.recentProgress.map((p) => [p.id, p.runId, p.name, p.batchId]),
      [[first.id, second.runId, 'named', 1]]);
    assert.deepEqual(weir.memorySink('named').rows, [ev(1, 'a'), ev(2, 'b')]);
  });

  test('progress: batch, input, phases, sources with offsets, sink, state operators, event time', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().withWatermark('ts', '10 seconds').groupBy(window('ts', '10 seconds'), 'word').count();
    const q = await startMemory(df, 'prog', { mode: 'update' });
    assert.equal(q.lastProgress, null);
    input.addData([ev(1, 'a'), ev(2, 'a'), ev(15, 'b')]);
    await q.processAllAvailable();
    input.addData([ev(3, 'a'), ev(4, 'c')]);
    await q.processAllAvailable();
    await q.stop();

    const [p0, p1, p2] = q.recentProgress;
    assert.equal(q.recentProgress.length, 3); // batch 1 is the no-data batch for watermark 5
    assert.ok(p0 && p1 && p2);
    assert.deepEqual([p0.batchId, p1.batchId, p2.batchId], [0, 1, 2]);
    assert.deepEqual([p0.numInputRows, p1.numInputRows, p2.numInputRows], [3, 0, 2]);
    assert.equal(q.lastProgress, p2);
    for (const p of [p0, p1, p2]) {
      assert.equal(p.id, q.id);
      assert.equal(p.runId, q.runId);
      assert.equal(p.name, 'prog');
      assert.equal(new Date(p.timestamp).toISOString(), p.timestamp);
      for (const phase of ['latestOffset', 'walCommit', 'getBatch', 'execution', 'addBatch', 'commitOffsets',
        'triggerExecution']) {
        assert.equal(typeof p.durationMs[phase], 'number', `durationMs.${phase} in batch ${p.batchId}`);
      }
      assert.equal(p.sink.description, 'MemorySink[prog]');
    }
    assert.deepEqual(p0.sources.map((s) => [s.description, s.startOffset, s.endOffset, s.numInputRows]),
      [['MemoryStream', null, 3, 3]]);
    assert.deepEqual(p1.sources.map((s) => [s.startOffset, s.endOffset, s.numInputRows]), [[3, 3, 0]]);
    assert.deepEqual(p2.sources.map((s) => [s.startOffset, s.endOffset, s.numInputRows]), [[3, 5, 2]]);
    assert.deepEqual([p0.sink.numOutputRows, p1.sink.numOutputRows, p2.sink.numOutputRows], [2, 0, 2]);
    assert.deepEqual(p0.eventTime, {
      watermark: new Date(0).toISOString(), min: new Date(sec(1)).toISOString(), max: new Date(sec(15)).toISOString(),
      avg: new Date(sec(6)).toISOString(),
    });
    assert.deepEqual(p1.eventTime, { watermark: new Date(sec(5)).toISOString() });
    const ops = [p0, p1, p2].map((p) => p.stateOperators[0]!);
    assert.deepEqual(ops.map((o) => o.operatorName), ['stateStoreSave', 'stateStoreSave', 'stateStoreSave']);
    // Batch 0: groups [0,10) a and [10,20) b. Batch 1 (watermark 5): nothing ends by 5. Batch 2: a again, c new;
    // 3 and 4 fall in [0, 10), which ends after the watermark 5, so nothing is late.
    assert.deepEqual(ops.map((o) => [o.numRowsTotal, o.numRowsUpdated, o.numRowsRemoved, o.numRowsDroppedByWatermark]),
      [[2, 2, 0, 0], [2, 0, 0, 0], [3, 2, 0, 0]]);
    for (const o of ops) {
      // The memory provider holds its keys on the heap; the lmdb one on disk (and on the heap until they go there).
      assert.ok(o.memoryUsedBytes > 0 || o.diskBytesUsed > 0, `state figures: ${JSON.stringify(o)}`);
      assert.equal(typeof o.commitTimeMs, 'number');
    }
  });

  test('listeners hear started, progress, idle and terminated, in order; removeListener stops that', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const events: string[] = [];
    const ids: string[] = [];
    const listener = {
      onQueryStarted: (e: QueryStartedEvent) => { ids.push(e.id, e.runId); events.push(`started ${e.name}`); },
      onQueryProgress: (e: QueryProgressEvent) => { ids.push(e.progress.id); events.push(`progress ${e.progress.batchId}`); },
      onQueryIdle: (e: QueryIdleEvent) => { ids.push(e.id, e.runId); events.push('idle'); },
      onQueryTerminated: (e: QueryTerminatedEvent) => { ids.push(e.id, e.runId); events.push(`terminated ${e.exception}`); },
    };
    weir.streams.addListener(listener);
    weir.streams.addListener({ onQueryProgress: () => { throw new Error('a broken listener'); } });
    input.addData([ev(1, 'a')]); // before start, so the first trigger finds data (an empty one would be idle)
    const q = await startMemory(input.toDF().select('word'), 'heard');
    await q.processAllAvailable();
    input.addData([ev(2, 'b')]);
    await q.processAllAvailable();
    await q.stop();
    weir.streams.removeListener(listener);
    const again = await startMemory(input.toDF().select('word'), 'unheard');
    await again.stop();
    assert.deepEqual(events, ['started heard', 'progress 0', 'idle', 'progress 1', 'idle', 'terminated null']);
    assert.deepEqual(new Set(ids), new Set([q.id, q.runId]));
    assert.deepEqual(weir.memorySink('heard').rows, [{ word: 'a' }, { word: 'b' }]);
  });

  test("explain() shows the physical plan, one operator per line, as Spark's default (simple) mode", async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().withWatermark('ts', '10 seconds').filter(col('word').notEqual('x'))
      .groupBy(window('ts', '5 seconds'), 'word').count();
    const q = await startMemory(df, 'explained', { mode: 'update' });
    await q.stop();
    assert.equal(q.explain(), df.explain());
    assert.deepEqual(q.explain().split('\n'), [
      '== Physical Plan ==',
      'HashAggregate keys=[window, word], functions=[count]',
      // As Spark's optimizer places it: a filter that does not read the event time runs below the watermark.
      '+- EventTimeWatermark ts, 10000 ms',
      '   +- WholeStageCodegen Filter (NOT (word = x))',
      '      +- MicroBatchScan MemoryStream [ts, word]',
    ]);
  });
});
