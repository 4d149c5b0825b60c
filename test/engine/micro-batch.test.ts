/**
 * The batch loop's collaborators as a user meets them: batches start on the trigger's interval whatever
 * the source, the offset log's settings are read with defaults for entries of older versions, and what
 * could not be released when a query ends is reported.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeFile, encodeFile } from '../../src/checkpoint/file-format.js';
import { BATCH_CONF_OF_OLDER_CHECKPOINTS, offsetCodec } from '../../src/checkpoint/offset-log.js';
import { col, count, MemoryStreamInput, Row, StreamingQuery, Weir } from '../../src/index.js';
import { registerSink } from '../../src/sinks/registry.js';
import { removeTempDirs, startMemory, tempDir } from '../api/helpers.js';

after(removeTempDirs);

/** Resolves once `condition` holds, checking after each turn of the event loop (no timed waits). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise<void>((resolve) => setTimeout(resolve, 1));
}

describe('trigger interval', () => {
  test('a push source does not start batches between trigger ticks: data waits for the next tick', async () => {
    const weir = new Weir();
    const input = weir.memoryStream('n LONG');
    let idle = false;
    weir.streams.addListener({ onQueryIdle: () => { idle = true; } });
    // An hour-long interval: only the first trigger (at start) and processAllAvailable() may run a batch.
    const query = await startMemory(input.toDF(), 'ticks', { trigger: { processingTime: '1 hour' } });
    try {
      await until(() => idle); // the first trigger found nothing; the loop now waits for the next tick
      for (let i = 0; i < 20; i++) {
        input.addData([{ n: i }]);
        // Turns of the event loop in which a loop woken by the data would plan and run a batch.
        for (let turn = 0; turn < 50; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      assert.deepEqual(query.recentProgress.map((p) => p.batchId), [], 'no batch may start before the next tick');
      await query.processAllAvailable();
      assert.equal(weir.memorySink('ticks').rows.length, 20);
      assert.deepEqual(query.recentProgress.map((p) => p.numInputRows), [20], 'processAllAvailable() runs one batch with everything');
    } finally {
      await query.stop();
    }
  });

  test('without an interval, new data still wakes an idle query', async () => {
    const weir = new Weir();
    const input = weir.memoryStream('n LONG');
    const query = await startMemory(input.toDF(), 'asap', { options: { pollIntervalMs: 3_600_000 } });
    try {
      input.addData([{ n: 1 }]);
      await until(() => weir.memorySink('asap').rows.length === 1); // an hour's poll would never get here
    } finally {
      await query.stop();
    }
  });
});

/** A word count over a memory stream with a checkpoint in `dir`; `partitions` sets numStatePartitions. */
async function startWordCount(dir: string, partitions?: number): Promise<{ weir: Weir; input: MemoryStreamInput; query: StreamingQuery }> {
  const weir = new Weir();
  const input = weir.memoryStream('word STRING');
  const query = await startMemory(input.toDF().groupBy(col('word')).agg(count('*').as('n')), 'words',
    { mode: 'complete', checkpoint: dir, options: partitions === undefined ? {} : { numStatePartitions: partitions } });
  return { weir, input, query };
}

describe('the offset log\'s batch settings', () => {
  test('an entry written before settings were logged reads as what weir used then', () => {
    const old = offsetCodec.decode('{"batchWatermarkMs":0,"batchTimestampMs":5}\n{"logOffset":1}');
    assert.deepEqual(old.conf, BATCH_CONF_OF_OLDER_CHECKPOINTS);
    assert.deepEqual(old.conf, { numStatePartitions: 4, multipleWatermarkPolicy: 'min' });
    const partial = offsetCodec.decode('{"batchWatermarkMs":0,"batchTimestampMs":5,"conf":{"numStatePartitions":2}}\n-');
    assert.deepEqual(partial.conf, { numStatePartitions: 2, multipleWatermarkPolicy: 'min' });
  });

  test('a restart over entries of an older version keeps their partitioning, not this run\'s option', async () => {
    const dir = await tempDir();
    const first = await startWordCount(dir);
    first.input.addData([{ word: 'a' }, { word: 'b' }, { word: 'a' }]);
    await first.query.processAllAvailable();
    await first.query.stop();
    // As an older weir wrote it: no conf in the entry.
    const path = join(dir, 'offsets', '0');
    const { body } = decodeFile(await readFile(path), 'offsets', 1, path);
    const [meta, ...sources] = body.toString('utf8').split('\n');
    const { conf: _dropped, ...withoutConf } = JSON.parse(meta!) as Record<string, unknown>;
    await writeFile(path, encodeFile('offsets', 1, [JSON.stringify(withoutConf), ...sources].join('\n')));

    const second = await startWordCount(dir, 8);
    try {
      // A memory stream restarts empty: three rows stand in for those the first run counted (offsets 0-3) ...
      second.input.addData([{ word: 'x' }, { word: 'x' }, { word: 'x' }]);
      second.input.addData([{ word: 'c' }, { word: 'a' }]); // ... and these come after them
      await second.query.processAllAvailable();
      const next = offsetCodec.decode(decodeFile(await readFile(join(dir, 'offsets', '1')), 'offsets', 1, 'offsets/1').body.toString('utf8'));
      assert.equal(next.conf.numStatePartitions, 4, 'the state was written in 4 partitions; the option (8) must not change that');
      // (An lmdb store keeps its working copy there too, in .lmdb.)
      assert.deepEqual((await readdir(join(dir, 'state', '0'))).filter((f) => !f.startsWith('.')).sort(), ['0', '1', '2', '3']);
      const rows = weir2rows(second.weir);
      assert.deepEqual(rows, [{ word: 'a', n: 3 }, { word: 'b', n: 1 }, { word: 'c', n: 1 }]);
    } finally {
      await second.query.stop();
    }
  });

  test('a logged setting of the wrong shape is reported with the file', async () => {
    const dir = await tempDir();
    const first = await startWordCount(dir);
    first.input.addData([{ word: 'a' }]);
    await first.query.processAllAvailable();
    await first.query.stop();
    const path = join(dir, 'offsets', '0');
    const body = decodeFile(await readFile(path), 'offsets', 1, path).body.toString('utf8');
    await writeFile(path, encodeFile('offsets', 1, body.replace('"numStatePartitions":4', '"numStatePartitions":"four"')));
    await assert.rejects(startWordCount(dir), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CHECKPOINT_CORRUPT');
      assert.ok(err.message.includes(path), err.message);
      assert.match(err.message, /numStatePartitions is "four"/);
      return true;
    });
  });
});

function weir2rows(weir: Weir): Row[] {
  return [...weir.memorySink('words').rows].sort((x, y) => String(x['word']).localeCompare(String(y['word'])));
}

describe('releasing a query', () => {
  test('a resource that fails to release is reported by the query, naming it and the error', async () => {
    registerSink('stop-fails', () => ({
      description: 'StopFailsSink', supportedModes: ['append'],
      open: async () => undefined, addBatch: async () => undefined,
      stop: async () => { throw new Error('the connection pool would not close'); },
    }));
    const weir = new Weir();
    const input = weir.memoryStream('n LONG');
    const query = await input.toDF().writeStream.format('stop-fails').option('checkpointLocation', await tempDir()).start();
    input.addData([{ n: 1 }]);
    await query.processAllAvailable();
    await query.stop();
    assert.ok(query.exception, 'the failed release must be reported');
    assert.match(query.exception.message, /releasing its resources failed: stopping sink StopFailsSink: the connection pool would not close/);
    await assert.rejects(query.awaitTermination(), /StopFailsSink/);
  });

  test('a release step that never ends (a lost server) is given up after its time, naming the step; the query ends', async (t) => {
    let stopCalled = (): void => {};
    const sinkStopping = new Promise<void>((resolve) => { stopCalled = resolve; });
    registerSink('stop-hangs', () => ({
      description: 'StopHangsSink', supportedModes: ['append'],
      open: async () => undefined, addBatch: async () => undefined,
      stop: () => {
        stopCalled();
        return new Promise<void>(() => {});
      },
    }));
    const weir = new Weir();
    const input = weir.memoryStream('n LONG');
    const query = await input.toDF().writeStream.format('stop-hangs').option('checkpointLocation', await tempDir()).start();
    input.addData([{ n: 1 }]);
    await query.processAllAvailable();
    // Mocked timers: the step's time limit passes at once, however long it is.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const stopping = query.stop();
    await sinkStopping;
    t.mock.timers.tick(60_000);
    await stopping;
    const message = query.exception?.message ?? '';
    assert.match(message, /releasing its resources failed: stopping sink StopHangsSink: no answer within \d+ s/);
    assert.doesNotMatch(message, /lock/, 'the steps after it still ran');
  });
});
