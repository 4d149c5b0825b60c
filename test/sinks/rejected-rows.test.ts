/**
 * Rows a sink cannot write (a value outside its type's range, text CSV cannot encode): without a
 * dead-letter place the query stops naming the row, the column and both fixes, nothing of the batch is
 * visible, and a restart with either fix writes everything else; with `deadLetterPath` the rows are
 * recorded once per batch, also across a kill between the dead-letter write and the commit.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { col, ConnectorError, pow, StreamingQueryException, Weir } from '../../src/index.js';
import type { DataFrame, Row, StreamingQueryProgress } from '../../src/index.js';
import { rowJson } from '../../src/sinks/rejected-rows.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';
import { isPoison, POISON_OUTPUT_SCHEMA, PoisonRecord, runPoisonChild, toTimestampRow, writePoisonInput, YEAR_10000_SECS } from './poison-child.js';

after(removeTempDirs);

const INPUT_SCHEMA = 'id LONG, secs LONG, name STRING';

interface Run { readonly error: StreamingQueryException | null; readonly progress: StreamingQueryProgress[] }

/** Runs the input folder through `shape` into a sink until everything available is processed. */
async function run(input: string, checkpoint: string, out: string, format: 'json' | 'csv', options: Record<string, string> = {},
  shape: (df: DataFrame) => DataFrame = (df) => df): Promise<Run> {
  const weir = new Weir();
  const df = weir.readStream.format('json').schema(INPUT_SCHEMA).option('maxFilesPerTrigger', 1).load(input)
    .map(toTimestampRow, POISON_OUTPUT_SCHEMA);
  const writer = shape(df).writeStream.format(format).option('checkpointLocation', checkpoint).trigger({ availableNow: true });
  for (const [k, v] of Object.entries(options)) writer.option(k, v);
  const query = await writer.start(out);
  try {
    await query.awaitTermination();
    return { error: null, progress: query.recentProgress };
  } catch (err) {
    return { error: err as StreamingQueryException, progress: query.recentProgress };
  }
}

async function outputIds(out: string): Promise<number[]> {
  const rows = await new Weir().read.format('json').schema('id LONG, ts TIMESTAMP, name STRING').load(out).collect();
  return rows.map((r) => r['id'] as number).sort((a, b) => a - b);
}

interface DeadLetterLine { queryId: string; batchId: number; rowIndex: number; column: string; reason: string; row: Row }

async function deadLetters(folder: string): Promise<DeadLetterLine[]> {
  const names = (await readdir(folder).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
  const lines: DeadLetterLine[] = [];
  for (const name of names) {
    for (const line of (await readFile(join(folder, name), 'utf8')).split('\n')) if (line) lines.push(JSON.parse(line) as DeadLetterLine);
  }
  return lines;
}

const idsOf = (files: readonly (readonly PoisonRecord[])[], keep: (r: PoisonRecord) => boolean): number[] =>
  files.flat().filter(keep).map((r) => r.id).sort((a, b) => a - b);

test('a computed timestamp outside 0001-9999 stops the query naming row, column and both fixes; a restart with a filter writes the rest', async () => {
  const [input, checkpoint, out] = [await tempDir(), await tempDir(), await tempDir()];
  const files = await writePoisonInput(input);
  const { error } = await run(input, checkpoint, out, 'json');
  assert.ok(error instanceof StreamingQueryException, String(error));
  assert.equal(error.batchId, 1);
  const cause = error.cause;
  assert.ok(cause instanceof ConnectorError && cause.code === 'SINK_REJECTED_ROW', String(cause));
  assert.match(cause.message, /row 1 of batch 1, column 'ts': 100000000000000000 \(epoch ms\) is outside the TIMESTAMP range/);
  assert.match(cause.message, /"id":6/);
  assert.match(cause.message, /1 more row\(s\) of the batch are rejected too/);
  assert.match(cause.message, /filter such rows out in the query/);
  assert.match(cause.message, /option 'deadLetterPath'/);
  assert.deepEqual(await outputIds(out), [1, 2, 3, 4], 'nothing of batch 1 is visible');
  const maxMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
  const fixed = await run(input, checkpoint, out, 'json', {},
    (df) => df.where(col('ts').leq(maxMs / 1000 - 1).and(col('ts').geq(0))));
  assert.equal(fixed.error, null, String(fixed.error));
  assert.deepEqual(await outputIds(out), idsOf(files, (r) => !isPoison(r)));
});

test('with deadLetterPath the rejected rows are recorded with batch, column and reason; the rest is written and counted', async () => {
  const [input, checkpoint, out, dead] = [await tempDir(), await tempDir(), await tempDir(), await tempDir()];
  const files = await writePoisonInput(input);
  const failed = await run(input, checkpoint, out, 'json');
  assert.ok(failed.error instanceof StreamingQueryException);
  // The restart with the option re-runs the failed batch and goes on.
  const fixed = await run(input, checkpoint, out, 'json', { deadLetterPath: dead });
  assert.equal(fixed.error, null, String(fixed.error));
  assert.deepEqual(await outputIds(out), idsOf(files, (r) => !isPoison(r)));
  const lines = await deadLetters(dead);
  assert.deepEqual(lines.map((l) => [l.batchId, l.rowIndex, l.column, l.row['id']]), [[1, 1, 'ts', 6], [1, 3, 'ts', 8], [2, 0, 'ts', 9]]);
  assert.match(lines[1]!.reason, /253402300800000 \(epoch ms\) is outside the TIMESTAMP range/);
  assert.deepEqual(lines[1]!.row, { id: 8, ts: YEAR_10000_SECS * 1000, name: 'n8' });
  assert.deepEqual(fixed.progress.map((p) => [p.batchId, p.sink.metrics['numRejectedRows']]), [[1, 2], [2, 1]]);
});

test('csv rejects text that is not valid Unicode (no UTF-8 form); json writes it and reads it back', async () => {
  const [checkpoint, out, dead] = [await tempDir(), await tempDir(), await tempDir()];
  const weir = new Weir();
  const input = weir.memoryStream('id LONG, name STRING');
  input.addData([{ id: 1, name: 'ok' }, { id: 2, name: 'lone \ud800 surrogate' }, { id: 3, name: 'pair \ud83d\ude00' }]);
  const query = await input.toDF().writeStream.format('csv').option('checkpointLocation', checkpoint)
    .option('deadLetterPath', dead).start(out);
  await query.processAllAvailable();
  await query.stop();
  const back = await new Weir().read.format('csv').schema('id LONG, name STRING').load(out).collect();
  assert.deepEqual(back.map((r) => r['id']).sort(), [1, 3]);
  const lines = await deadLetters(dead);
  assert.deepEqual(lines.map((l) => [l.rowIndex, l.column]), [[1, 'name']]);
  assert.match(lines[0]!.reason, /lone UTF-16 surrogate/);

  const [jsonCheckpoint, jsonOut] = [await tempDir(), await tempDir()];
  const json = await input.toDF().writeStream.format('json').option('checkpointLocation', jsonCheckpoint).start(jsonOut);
  await json.processAllAvailable();
  await json.stop();
  const names = (await new Weir().read.format('json').schema('id LONG, name STRING').load(jsonOut).collect())
    .sort((a, b) => (a['id'] as number) - (b['id'] as number)).map((r) => r['name']);
  assert.deepEqual(names, ['ok', 'lone \ud800 surrogate', 'pair \ud83d\ude00']);
});

test('crash test: killed between the dead-letter write and the manifest, a restart records each rejected row once and the output is exact', async () => {
  const root = await tempDir();
  const config = {
    input: join(root, 'input'), checkpoint: join(root, 'checkpoint'),
    sink: { format: 'json' as const, output: join(root, 'out'), deadLetterPath: join(root, 'dead') },
  };
  const files = await writePoisonInput(config.input);
  assert.equal(await runPoisonChild(config, 'midSink@1'), 'SIGKILL');
  const written = await deadLetters(config.sink.deadLetterPath);
  assert.deepEqual(written.map((l) => l.row['id']), [6, 8], 'the dead-letter file of batch 1 was written before the kill');
  assert.deepEqual(await outputIds(config.sink.output), [1, 2, 3, 4], 'batch 1 is not committed');
  assert.equal(await runPoisonChild(config, 'midSink@2'), 'SIGKILL');
  assert.equal(await runPoisonChild(config, null), null);
  assert.deepEqual(await outputIds(config.sink.output), idsOf(files, (r) => !isPoison(r)));
  const lines = await deadLetters(config.sink.deadLetterPath);
  assert.deepEqual(lines.map((l) => [l.batchId, l.row['id']]), [[1, 6], [1, 8], [2, 9]]);
});

test('json writes NaN and the infinities a query computes as the strings Spark writes, instead of null', async () => {
  const [checkpoint, out] = [await tempDir(), await tempDir()];
  const weir = new Weir();
  const input = weir.memoryStream('x DOUBLE, y DOUBLE');
  input.addData([{ x: -1, y: 0.5 }, { x: 10, y: 400 }, { x: 2, y: 2 }]);
  const query = await input.toDF().select(pow(col('x'), col('y')).as('d')).writeStream.format('json')
    .option('checkpointLocation', checkpoint).start(out);
  await query.processAllAvailable();
  await query.stop();
  const part = (await readdir(out)).find((f) => f.startsWith('part-'))!;
  assert.equal(await readFile(join(out, part), 'utf8'), '{"d":"NaN"}\n{"d":"Infinity"}\n{"d":4}\n');
});

test('a rejected row holding a bigint (a map() that returned one) is reported, not turned into a JSON crash', () => {
  assert.equal(rowJson({ id: 9007199254740993n, x: Number.NaN }), '{"id":"9007199254740993","x":"NaN"}');
});
