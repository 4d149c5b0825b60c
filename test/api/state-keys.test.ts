/**
 * Keyed operators keep distinct key tuples apart whatever the values hold (FIX-protocol text carries
 * U+0001), and a checkpoint whose state was written with the former, ambiguous keys is refused.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeFile, encodeFile } from '../../src/checkpoint/file-format.js';
import { col, count, sessionWindow, sum, Weir } from '../../src/index.js';
import { FORMAT_VERSION } from '../../src/state/state-files.js';
import { assertRows, removeTempDirs, sec, startMemory, tempDir } from './helpers.js';

after(removeTempDirs);

/** Rows whose key tuples the former encoding merged: U+0001 inside values, and null next to U+0000. */
const TRICKY = [
  { a: 'x\u0001y', b: 'z', n: 1 },
  { a: 'x', b: 'y\u0001z', n: 2 },
  { a: null, b: 'q', n: 4 },
  { a: '\u0000', b: 'q', n: 8 },
];

describe('distinct keys stay distinct', () => {
  test('groupBy on several columns, and on one column holding null and U+0000', async () => {
    const weir = new Weir();
    const input = weir.memoryStream({ a: 'string', b: 'string', n: 'int' });
    const q = await startMemory(input.toDF().groupBy('a', 'b').agg(sum('n').as('total')), 'groups2', { mode: 'complete' });
    const single = await startMemory(input.toDF().groupBy('a').agg(count('*').as('c')), 'groups1', { mode: 'complete' });
    input.addData(TRICKY);
    await q.processAllAvailable();
    await single.processAllAvailable();
    await q.stop();
    await single.stop();
    assertRows(weir.memorySink('groups2').rows, TRICKY.map(({ a, b, n }) => ({ a, b, total: n })));
    assertRows(weir.memorySink('groups1').rows, [
      { a: 'x\u0001y', c: 1 }, { a: 'x', c: 1 }, { a: null, c: 1 }, { a: '\u0000', c: 1 },
    ]);
  });

  test('groupBy in a batch query too (collect)', async () => {
    const weir = new Weir();
    const rows = await weir.createDataFrame(TRICKY, { a: 'string', b: 'string', n: 'int' }).groupBy('a', 'b').count().collect();
    assert.equal(rows.length, 4);
  });

  test('dropDuplicates on several columns keeps every distinct row', async () => {
    const weir = new Weir();
    const input = weir.memoryStream({ a: 'string', b: 'string', n: 'int' });
    const q = await startMemory(input.toDF().dropDuplicates(['a', 'b']), 'dedup_tricky');
    input.addData(TRICKY);
    await q.processAllAvailable();
    input.addData(TRICKY.map((r) => ({ ...r, n: 0 }))); // true duplicates: dropped
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('dedup_tricky').rows, TRICKY);
  });

  test('session windows keep the sessions of distinct keys apart, across a restart', async () => {
    const weir = new Weir();
    const input = weir.memoryStream({ ts: 'timestamp', a: 'string', b: 'string', n: 'int' });
    const df = input.toDF().withWatermark('ts', '1 second').groupBy(sessionWindow('ts', '5 seconds'), 'a', 'b')
      .agg(sum('n').as('total'));
    const checkpoint = await tempDir();
    let q = await startMemory(df, 'sessions_tricky', { checkpoint });
    input.addData(TRICKY.map((r, i) => ({ ...r, ts: sec(1 + i) })));
    await q.processAllAvailable();
    await q.stop();
    q = await startMemory(df, 'sessions_tricky', { checkpoint });
    input.addData([{ ts: sec(100), a: 'end', b: 'end', n: 0 }]); // moves the watermark past every session
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('sessions_tricky').rows.map(({ a, b, total }) => ({ a: a!, b: b!, total: total! })),
      TRICKY.map(({ a, b, n }) => ({ a, b, total: n })));
  });

  test('a stream-stream outer join never matches a null key, not even with the text the null bucket was stored under', async () => {
    const weir = new Weir();
    const left = weir.memoryStream({ k: 'string', lt: 'timestamp' });
    const right = weir.memoryStream({ rk: 'string', rt: 'timestamp' });
    const joined = left.toDF().withWatermark('lt', '1 second').join(right.toDF().withWatermark('rt', '1 second'),
      col('k').equalTo(col('rk')).and(col('rt').geq(col('lt'))).and(col('rt').leq(col('lt').plus(10_000))), 'left_outer');
    const q = await startMemory(joined, 'null_keys');
    left.addData([{ k: null, lt: sec(1) }]);
    await q.processAllAvailable();
    right.addData([{ rk: '\u0000null', rt: sec(2) }]);
    await q.processAllAvailable();
    left.addData([{ k: 'late', lt: sec(100) }]);
    right.addData([{ rk: 'late', rt: sec(100) }]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('null_keys').rows, [
      { k: null, lt: sec(1), rk: null, rt: null },
      { k: 'late', lt: sec(100), rk: 'late', rt: sec(100) },
    ]);
  });

  test('a join on several keys tells NaN from Infinity (NaN equals NaN, as in Spark)', async () => {
    const weir = new Weir();
    const schema = { id: 'int', x: 'double' };
    const left = weir.createDataFrame([{ id: 1, x: NaN }, { id: 2, x: Infinity }], schema);
    const right = weir.createDataFrame([{ id: 1, x: Infinity }, { id: 2, x: Infinity }, { id: 1, x: NaN }], schema)
      .withColumnRenamed('id', 'rid').withColumnRenamed('x', 'rx');
    const rows = await left.join(right, col('id').equalTo(col('rid')).and(col('x').equalTo(col('rx')))).collect();
    assertRows(rows, [{ id: 2, x: Infinity, rid: 2, rx: Infinity }, { id: 1, x: NaN, rid: 1, rx: NaN }]);
  });
});

/** Rewrites every state file under `folder` with another format version in its header (same body). */
async function relabelStateFiles(folder: string, format: number): Promise<number> {
  let relabelled = 0;
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/^\d+\.(delta|snapshot)$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    const kind = entry.name.endsWith('.delta') ? 'state-delta' : 'state-snapshot';
    const { body } = decodeFile(await readFile(path), kind, FORMAT_VERSION, path);
    await writeFile(path, encodeFile(kind, format, body));
    relabelled++;
  }
  return relabelled;
}

describe('state of the former key encoding', () => {
  test('a checkpoint with keys in the former encoding is refused at start, naming the folder and the way out', async () => {
    const weir = new Weir();
    const input = weir.memoryStream({ a: 'string', b: 'string', n: 'int' });
    const df = input.toDF().groupBy('a', 'b').agg(sum('n').as('total'));
    const checkpoint = await tempDir();
    const q = await startMemory(df, 'legacy', { checkpoint, mode: 'complete' });
    input.addData(TRICKY);
    await q.processAllAvailable();
    await q.stop();
    assert.ok(await relabelStateFiles(join(checkpoint, 'state'), 2) > 0);
    // A query that starts anyway is stopped, so a failure here does not leave it running.
    const restart = startMemory(df, 'legacy', { checkpoint, mode: 'complete' }).then(async (started) => { await started.stop(); });
    await assert.rejects(restart, (err: Error & { code?: string }) =>
      err.code === 'STATE_KEY_FORMAT' && err.message.includes(join(checkpoint, 'state', '0')) &&
        /format 2/.test(err.message) && /collide/.test(err.message) && /new checkpointLocation/.test(err.message));
  });
});
