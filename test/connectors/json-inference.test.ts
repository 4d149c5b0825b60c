/** JSON schema inference as Spark does it, and a file sink's output read back with the types it was written with. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { schemaToString } from '../../src/common/schema.js';
import { inferJsonSchema } from '../../src/connectors/file/infer.js';
import { col, count, sessionWindow, Weir, window } from '../../src/index.js';
import { removeTempDirs, sec, tempDir, win } from '../api/helpers.js';

after(removeTempDirs);

async function inferred(lines: readonly string[], inferTimestamp = false): Promise<string> {
  const file = join(await tempDir(), 'in.json');
  await writeFile(file, lines.join('\n'));
  return schemaToString(await inferJsonSchema([file], '_corrupt_record', inferTimestamp));
}

describe('JSON schema inference', () => {
  test('nested objects are structs with sorted fields; arrays take their elements\' widened type', async () => {
    assert.equal(await inferred(['{"s": {"b": "x", "a": 1}, "xs": [1, 2.5], "ys": [], "zs": [[1], [null]]}', '{"s": {"c": true}}']),
      's struct<a:long,b:string,c:boolean>, xs array<double>, ys array<string>, zs array<array<long>>');
  });

  test('integers are longs; long and double widen to double; anything mixed with text or nesting to string', async () => {
    assert.equal(await inferred(['{"i": 1, "d": 1, "t": 1, "o": {"a": 1}, "a": [1], "n": null}', '{"d": 2.5, "t": "x", "o": 3, "a": {"b": 1}}']),
      'a string, d double, i long, n string, o string, t string');
  });

  test('an integer beyond what a long holds exactly infers as string, its digits kept', async () => {
    assert.equal(await inferred(['{"id": 12345678901234567890}']), 'id string');
    const folder = await tempDir();
    await writeFile(join(folder, 'a.json'), '{"id": 9007199254740993}\n');
    assert.deepEqual(await new Weir().read.format('json').load(folder).collect(), [{ id: '9007199254740993' }]);
  });

  test('timestamp text is a string unless option inferTimestamp is true', async () => {
    const lines = ['{"t": "2024-01-02T03:04:05Z", "d": "2024-01-02", "n": {"t": "2024-01-02 03:04:05"}}'];
    assert.equal(await inferred(lines), 'd string, n struct<t:string>, t string');
    assert.equal(await inferred(lines, true), 'd string, n struct<t:timestamp>, t timestamp');
    const folder = await tempDir();
    await writeFile(join(folder, 'a.json'), `${lines[0]}\n`);
    const [row] = await new Weir().read.format('json').option('inferTimestamp', true).load(folder).collect();
    assert.deepEqual(row, { d: '2024-01-02', n: { t: Date.UTC(2024, 0, 2, 3, 4, 5) }, t: Date.UTC(2024, 0, 2, 3, 4, 5) });
  });
});

describe('a json file sink\'s output read back without a schema', () => {
  const EVENTS = 'ts TIMESTAMP, word STRING, tags ARRAY<STRING>, attrs MAP<STRING, DOUBLE>, pos STRUCT<x: INT, y: INT>';

  test('window and session_window come back as structs of timestamps, nested columns as written', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const [raw, windows, sessions] = [await tempDir(), await tempDir(), await tempDir()];
    const events = input.toDF().withWatermark('ts', '1 second');
    const start = async (df: ReturnType<typeof input.toDF>, out: string): Promise<Awaited<ReturnType<typeof df.writeStream.start>>> =>
      df.writeStream.format('json').option('checkpointLocation', await tempDir()).start(out);
    const queries = [
      await start(input.toDF(), raw),
      await start(events.groupBy(window('ts', '10 seconds'), 'word').agg(count('*').as('n')), windows),
      await start(events.groupBy(sessionWindow(col('ts'), '5 seconds')).agg(count('*').as('n')), sessions),
    ];
    input.addData([{ ts: sec(1), word: 'a', tags: ['p', null], attrs: { k: 1.5 }, pos: { x: 1, y: 2 } }]);
    for (const q of queries) await q.processAllAvailable();
    input.addData([{ ts: sec(30), word: 'b', tags: [], attrs: {}, pos: null }]);
    for (const q of queries) await q.processAllAvailable();
    input.addData([{ ts: sec(60), word: 'c', tags: null, attrs: null, pos: null }]);
    for (const q of queries) await q.processAllAvailable();
    for (const q of queries) await q.stop();

    const read = (folder: string): Promise<unknown[]> => weir.read.format('json').load(folder).collect();
    assert.deepEqual(await read(raw), [
      { ts: sec(1), word: 'a', tags: ['p', null], attrs: { k: 1.5 }, pos: { x: 1, y: 2 } },
      { ts: sec(30), word: 'b', tags: [], attrs: {}, pos: null },
      { ts: sec(60), word: 'c', tags: null, attrs: null, pos: null },
    ]);
    assert.deepEqual(await read(windows), [{ window: win(0, 10), word: 'a', n: 1 }, { window: win(30, 40), word: 'b', n: 1 }]);
    assert.deepEqual(await read(sessions), [{ session_window: win(1, 6), n: 1 }, { session_window: win(30, 35), n: 1 }]);
  });
});
