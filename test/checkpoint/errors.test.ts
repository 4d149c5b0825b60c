/**
 * Every way a checkpoint can be wrong is reported by its error code and a message naming the file
 * or folder; nothing is skipped or rewritten. Exercised through the public API, as a user meets them.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CheckpointError, col, DataFrame, MemoryStreamInput, Row, StreamingQuery, StreamingQueryException, Weir, window } from '../../src/index.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const SCHEMA = { ts: 'timestamp', word: 'string' };

/** A windowed count over a memory stream, with its batches collected by foreachBatch. */
async function startCounts(checkpoint: string, options: { groupByWord?: boolean; retain?: number } = {}):
  Promise<{ input: MemoryStreamInput; query: StreamingQuery; batches: { id: number; rows: Row[] }[] }> {
  const weir = new Weir();
  const input = weir.memoryStream(SCHEMA);
  const batches: { id: number; rows: Row[] }[] = [];
  const df: DataFrame = input.toDF().withWatermark('ts', '1 second');
  const grouped = options.groupByWord === false ? df.groupBy(window(col('ts'), '10 seconds')) : df.groupBy(window(col('ts'), '10 seconds'), col('word'));
  let writer = grouped.count().writeStream.outputMode('update').option('checkpointLocation', checkpoint)
    .foreachBatch((rows, id) => { batches.push({ id, rows }); });
  if (options.retain !== undefined) writer = writer.option('minBatchesToRetain', options.retain);
  return { input, query: await writer.start(), batches };
}

async function runBatches(checkpoint: string, count: number, options: { retain?: number } = {}): Promise<void> {
  const { input, query } = await startCounts(checkpoint, options);
  for (let i = 0; i < count; i++) {
    input.addData([{ ts: i * 1000, word: `w${i % 3}` }]);
    await query.processAllAvailable();
  }
  await query.stop();
}

/** The newest batch id in a log folder of the checkpoint. */
async function newest(dir: string, log: 'offsets' | 'commits'): Promise<number> {
  return Math.max(...(await readdir(join(dir, log))).filter((n) => /^\d+$/.test(n)).map(Number));
}

/** Expects start() to fail with a CheckpointError of `code` whose message includes `names`. */
async function refused(checkpoint: string, code: string, names: string | RegExp): Promise<CheckpointError> {
  let error: unknown;
  try {
    const { query } = await startCounts(checkpoint);
    await query.stop();
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof CheckpointError, `expected a CheckpointError ${code}, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  if (typeof names === 'string') assert.ok(error.message.includes(names), `the message should name ${names}: ${error.message}`);
  else assert.match(error.message, names);
  return error;
}

describe('checkpoint errors', () => {
  test('a second query on a running query\'s checkpoint is refused, naming the checkpoint', async () => {
    const dir = await tempDir();
    const first = await startCounts(dir);
    try {
      const err = await refused(dir, 'CHECKPOINT_IN_USE', dir);
      assert.match(err.message, /Stop that query first/);
    } finally {
      await first.query.stop();
    }
    const again = await startCounts(dir); // released on stop
    await again.query.stop();
  });

  test('the lock file of an older weir whose process died is taken over', async () => {
    const dir = await tempDir();
    await runBatches(dir, 1);
    await rm(join(dir, '.lock'), { recursive: true });
    await writeFile(join(dir, '.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, queryId: 'q', runId: 'r', since: 'then' }));
    const { query } = await startCounts(dir);
    assert.equal(query.isActive, true);
    await query.stop();
  });

  test('a checkpoint of another query (other grouping) is refused, saying what differs', async () => {
    const dir = await tempDir();
    await runBatches(dir, 2);
    let error: unknown;
    try {
      await (await startCounts(dir, { groupByWord: false })).query.stop();
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof CheckpointError && error.code === 'CHECKPOINT_MISMATCH', String(error));
    assert.ok(error.message.includes(join(dir, 'metadata')) || error.message.includes(dir), error.message);
    assert.match(error.message, /stateful operators/);
    assert.match(error.message, /keys: window, word/);
  });

  test('a corrupt offsets file is reported by path and left as it was', async () => {
    const dir = await tempDir();
    await runBatches(dir, 3);
    const file = join(dir, 'offsets', String(await newest(dir, 'offsets')));
    const bytes = await readFile(file);
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 20]! ^= 0x20;
    await writeFile(file, damaged);
    const err = await refused(dir, 'CHECKPOINT_CORRUPT', file);
    assert.match(err.message, /checksum/);
    assert.deepEqual(await readFile(file), damaged, 'the corrupt file must not be rewritten');
  });

  test('a truncated commits file is reported by path', async () => {
    const dir = await tempDir();
    await runBatches(dir, 3);
    const file = join(dir, 'commits', String(await newest(dir, 'commits')));
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 12));
    const err = await refused(dir, 'CHECKPOINT_CORRUPT', file);
    assert.match(err.message, /truncated/);
  });

  test('a file that is not weir\'s, or of another kind, in a log folder is reported by path', async () => {
    const dir = await tempDir();
    await runBatches(dir, 2);
    await writeFile(join(dir, 'offsets', 'notes.txt'), 'hello');
    await refused(dir, 'CHECKPOINT_FOREIGN', join(dir, 'offsets', 'notes.txt'));
    await rm(join(dir, 'offsets', 'notes.txt'));
    await writeFile(join(dir, 'offsets', '1'), await readFile(join(dir, 'commits', '1')));
    const err = await refused(dir, 'CHECKPOINT_FOREIGN', join(dir, 'offsets', '1'));
    assert.match(err.message, /'commits' file where a 'offsets' file belongs/);
  });

  test('a file of a newer format version is refused, naming it', async () => {
    const dir = await tempDir();
    await runBatches(dir, 2);
    const file = join(dir, 'commits', '1');
    const text = (await readFile(file, 'latin1')).replace('weir:commits v1', 'weir:commits v9');
    await writeFile(file, text, 'latin1');
    await refused(dir, 'CHECKPOINT_VERSION', file);
  });

  test('a commit without its offsets entry is an inconsistent checkpoint', async () => {
    const dir = await tempDir();
    await runBatches(dir, 3);
    const n = await newest(dir, 'offsets');
    await rm(join(dir, 'offsets', String(n)));
    const err = await refused(dir, 'CHECKPOINT_INCONSISTENT', `commits/${n}`);
    assert.match(err.message, /will not guess/);
  });

  test('a missing state file is STATE_MISSING naming it; a damaged one is CHECKPOINT_CORRUPT naming it', async () => {
    const dir = await tempDir();
    await runBatches(dir, 3);
    const partition = join(dir, 'state', '0', '0');
    const delta = join(partition, '1.delta');
    const bytes = await readFile(delta);
    await rm(delta);
    await refused(dir, 'STATE_MISSING', delta);
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 15]! ^= 0x01;
    await writeFile(delta, damaged);
    await refused(dir, 'CHECKPOINT_CORRUPT', delta);
  });
});

describe('recovery and retention', () => {
  test('a batch planned but not committed is re-run with its logged offsets: same id, same rows', async () => {
    const dir = await tempDir();
    const first = await startCounts(dir);
    first.input.addData([{ ts: 1000, word: 'a' }, { ts: 2000, word: 'b' }]);
    await first.query.processAllAvailable();
    first.input.addData([{ ts: 3000, word: 'a' }]);
    await first.query.processAllAvailable();
    await first.query.stop();
    const lastBatch = first.batches.at(-1)!;
    await rm(join(dir, 'commits', String(lastBatch.id))); // as if the process died before commits/N
    const second = await startCounts(dir);
    second.input.addData([{ ts: 1000, word: 'a' }, { ts: 2000, word: 'b' }]);
    second.input.addData([{ ts: 3000, word: 'a' }]); // the memory stream replays by offset, as a fresh process would
    await second.query.processAllAvailable();
    await second.query.stop();
    assert.deepEqual(second.batches[0], lastBatch);
  });

  test('minBatchesToRetain bounds the logs and state versions; the query still restarts', async () => {
    const dir = await tempDir();
    await runBatches(dir, 31, { retain: 5 });
    const offsets = (await readdir(join(dir, 'offsets'))).filter((n) => /^\d+$/.test(n)).map(Number);
    const commits = (await readdir(join(dir, 'commits'))).filter((n) => /^\d+$/.test(n)).map(Number);
    // Purged every tenth batch: at most 5 + 10 entries remain.
    assert.ok(offsets.length <= 15 && Math.min(...offsets) > 0, `offsets kept: ${offsets}`);
    assert.ok(commits.length <= 15 && Math.min(...commits) > 0, `commits kept: ${commits}`);
    const deltas = (await readdir(join(dir, 'state', '0', '0'))).filter((n) => n.endsWith('.delta')).map((n) => Number.parseInt(n, 10));
    assert.ok(Math.min(...deltas) > 0, `old state versions are removed: ${deltas}`);
    const next = await newest(dir, 'commits') + 1;
    const { input, query, batches } = await startCounts(dir, { retain: 5 });
    for (let i = 0; i < 31; i++) input.addData([{ ts: i * 1000, word: `w${i % 3}` }]);
    input.addData([{ ts: 40_000, word: 'w0' }]);
    await query.processAllAvailable();
    await query.stop();
    assert.equal(batches[0]?.id, next);
    assert.deepEqual(batches[0]?.rows.map((r) => r['count']), [1]);
  });

  test('a failing batch surfaces as StreamingQueryException naming the batch; the checkpoint stays usable', async () => {
    const dir = await tempDir();
    const weir = new Weir();
    const input = weir.memoryStream(SCHEMA);
    let fail = true;
    const query = await input.toDF().writeStream.option('checkpointLocation', dir)
      .foreachBatch(() => { if (fail) throw new Error('sink is down'); }).start();
    input.addData([{ ts: 1, word: 'x' }]);
    await assert.rejects(query.awaitTermination(), (err: unknown) => err instanceof StreamingQueryException &&
      err.batchId === 0 && /sink is down/.test(err.message) && /resumes from the checkpoint/.test(err.message));
    fail = false;
    const seen: number[] = [];
    const input2 = new Weir().memoryStream(SCHEMA);
    const again = await input2.toDF().writeStream.option('checkpointLocation', dir).foreachBatch((_rows, id) => { seen.push(id); }).start();
    input2.addData([{ ts: 1, word: 'x' }]);
    await again.processAllAvailable();
    await again.stop();
    assert.deepEqual(seen, [0]);
  });
});
