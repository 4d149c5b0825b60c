/** The rate source (deterministic, replayable rows) and the console sink (Spark's batch tables). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { AnalysisError, Row, Weir } from '../../src/index.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

async function rateRun(checkpoint: string, startTimestamp: number, limit?: number): Promise<{ batches: Row[][] }> {
  const weir = new Weir();
  let reader = weir.readStream.format('rate').option('rowsPerSecond', 1000).option('startTimestamp', startTimestamp);
  if (limit !== undefined) reader = reader.option('maxRecordsPerTrigger', limit);
  const batches: Row[][] = [];
  const query = await reader.load().writeStream.option('checkpointLocation', checkpoint)
    .trigger({ availableNow: true }).foreachBatch((rows) => { batches.push(rows); }).start();
  await query.awaitTermination();
  return { batches };
}

test('rate: rows { timestamp, value } with value 0, 1, 2, … and timestamp = start + value / rowsPerSecond', async () => {
  const start = Date.now() - 1500;
  const { batches } = await rateRun(await tempDir(), start, 400);
  const rows = batches.flat();
  assert.ok(rows.length >= 1400, `about 1500 rows were due, got ${rows.length}`);
  assert.ok(batches.every((b) => b.length <= 400), 'maxRecordsPerTrigger bounds each batch');
  rows.forEach((r, i) => assert.deepEqual(r, { timestamp: start + i, value: i }));
});

test('rate: a restart keeps the start time of the checkpoint and continues after the last value', async () => {
  const checkpoint = await tempDir();
  const start = Date.now() - 500;
  const first = (await rateRun(checkpoint, start)).batches.flat();
  const second = (await rateRun(checkpoint, Date.now() + 86_400_000)).batches.flat(); // the option is ignored now
  assert.ok(second.length > 0);
  assert.equal(second[0]!['value'], first.length);
  second.forEach((r) => assert.equal(r['timestamp'], start + (r['value'] as number)));
});

test('rate: a bad option is refused, naming it', () => {
  assert.throws(() => new Weir().readStream.format('rate').option('rowsPerSecond', 'fast').load(),
    (err: unknown) => err instanceof AnalysisError && /'rowsPerSecond'/.test(err.message));
});

test('console: each batch printed as a table under its batch id, timestamps as Spark prints them', () => {
  // In a child process, so the table goes to a stdout of its own rather than into the test runner's.
  const index = new URL('../../src/index.js', import.meta.url).href;
  const script = `import { Weir } from '${index}';
    const weir = new Weir();
    const input = weir.memoryStream('word STRING, ts TIMESTAMP');
    const query = await input.toDF().writeStream.format('console').start();
    input.addData([{ word: 'hello', ts: Date.UTC(2024, 0, 1, 12) }, { word: null, ts: 0 }]);
    await query.processAllAvailable();
    await query.stop();`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, [
    '-------------------------------------------',
    'Batch: 0',
    '-------------------------------------------',
    '+-----+-------------------+',
    '| word|                 ts|',
    '+-----+-------------------+',
    '|hello|2024-01-01 12:00:00|',
    '| null|1970-01-01 00:00:00|',
    '+-----+-------------------+',
    '', '',
  ].join('\n'));
});
