import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { col, count, sum, Weir } from '../../src/index.js';
import { testSeed } from '../connectors/harness.js';

const CLI = resolve(fileURLToPath(import.meta.url), '../../../../bin/weir.js');

interface Run { code: number | null; stdout: string; stderr: string }

function weir(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

describe('weir CLI', () => {
  let dir: string;
  let demo: Run;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-cli-'));
    demo = await weir('demo', '--dir', join(dir, 'demo'), '--seconds', '2', '--rate', '1000', '--kills', '2',
      '--seed', String(testSeed()));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('demo: kills the pipeline, resumes it, and finds every event counted exactly once', () => {
    assert.equal(demo.code, 0, demo.stdout + demo.stderr);
    assert.match(demo.stdout, /events written\s+2000\n/);
    assert.match(demo.stdout, /events counted\s+2000\n/);
    assert.match(demo.stdout, /lost windows\s+0\n/);
    assert.match(demo.stdout, /duplicated windows\s+0\n/);
    assert.equal((demo.stdout.match(/^kill -9 /gm) ?? []).length, 2);
    // Every kill comes after the pipeline committed a batch, so some later run resumes past batch 0.
    assert.match(demo.stdout, /resumed from the checkpoint at batch [1-9]\d*/);
  });

  it('inspect: prints the query id, the input and each batch with its commit and sink', async () => {
    const run = await weir('inspect', join(dir, 'demo', 'checkpoint'));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /query id {4}[0-9a-f-]{36}/);
    assert.match(run.stdout, /input 0 {5}FileSource\[/);
    assert.match(run.stdout, /^0 +yes +- +FileSink\[/m);
    assert.match(run.stdout, /All \d+ batches in the logs committed/);
  });

  it('inspect --json: the same report as JSON', async () => {
    const run = await weir('inspect', join(dir, 'demo', 'checkpoint'), '--json');
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { batches: { batchId: number; committed: boolean; sink: string }[]; state: unknown[] };
    assert.ok(report.batches.length > 0);
    assert.ok(report.batches.every((b) => b.committed && b.sink.startsWith('FileSink[')));
    assert.deepEqual(report.batches.map((b) => b.batchId), report.batches.map((_, i) => report.batches[0]!.batchId + i));
    assert.equal(report.state.length, 1);
  });

  it('inspect: a folder that is not a checkpoint is refused, naming it', async () => {
    const run = await weir('inspect', join(dir, 'demo', 'input'));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /input is not a weir checkpoint: it has no metadata file/);
    assert.match(run.stderr, /NOT_A_CHECKPOINT/);
  });

  it('inspect: a damaged offsets file is reported by path', async () => {
    const offsets = join(dir, 'demo', 'checkpoint', 'offsets');
    const newest = (await readdir(offsets)).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b)).at(-1)!;
    await writeFile(join(offsets, newest), 'v1\nnot what weir wrote\n');
    const run = await weir('inspect', join(dir, 'demo', 'checkpoint'));
    assert.equal(run.code, 2);
    assert.ok(run.stderr.includes(join(offsets, newest)), run.stderr);
  });

  it('an unknown option names itself', async () => {
    const run = await weir('demo', '--rate', 'fast');
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /--rate/);
  });
});

// Both providers write the same state files; the lmdb one also keeps a working copy that inspect reports.
for (const provider of ['memory', 'lmdb'] as const) describe(`weir inspect --state (${provider} state store)`, () => {
  let checkpoint: string;

  before(async () => {
    checkpoint = await mkdtemp(join(tmpdir(), 'weir-cli-state-'));
    const weir = new Weir();
    const input = weir.memoryStream('word STRING, n LONG');
    const query = await input.toDF().groupBy(col('word')).agg(count('*').as('count'), sum('n').as('total'))
      .writeStream.format('memory').queryName('words').outputMode('update').option('checkpointLocation', checkpoint)
      .option('stateStoreProvider', provider).start();
    input.addData([{ word: 'b', n: 1 }, { word: 'a', n: 2 }, { word: 'b', n: 3 }]);
    await query.processAllAvailable();
    input.addData([{ word: 'c', n: 4 }, { word: 'a', n: 5 }]);
    await query.processAllAvailable();
    await query.stop();
  });
  after(() => rm(checkpoint, { recursive: true, force: true }));

  it('prints each key of the binary state files with its value, as of the last committed batch', async () => {
    const run = await weir('inspect', checkpoint, '--state', '0');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { store: string; key: string; value: unknown[] });
    assert.deepEqual(lines.map((l) => [l.store, l.key]), [['state/0', 'a'], ['state/0', 'b'], ['state/0', 'c']]);
    // An entry holds the grouping value, then the aggregates' slots: count, then sum.
    assert.deepEqual(lines.map((l) => l.value.slice(0, 3)), [['a', 2, 7], ['b', 2, 4], ['c', 1, 4]]);
  });

  it('the summary shows the state files, and the lmdb working copy when there is one', async () => {
    const run = await weir('inspect', checkpoint);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /newest version 1/);
    if (provider === 'lmdb') assert.match(run.stdout, /lmdb working copy \d+\.\d KiB/);
    else assert.doesNotMatch(run.stdout, /working copy/);
  });

  it('an operator the query does not have is refused, saying which exist', async () => {
    const run = await weir('inspect', checkpoint, '--state', '1');
    assert.equal(run.code, 2);
    assert.match(run.stderr, /has no stateful operator 1: pass 0 \(weir inspect lists them\)/);
    assert.match(run.stderr, /NO_SUCH_OPERATOR/);
  });
});

describe('weir inspect on a stream-stream join', () => {
  let checkpoint: string;

  before(async () => {
    checkpoint = await mkdtemp(join(tmpdir(), 'weir-cli-join-'));
    const weir = new Weir();
    const imps = weir.memoryStream({ adId: 'string', impTime: 'timestamp' });
    const clicks = weir.memoryStream({ clickAdId: 'string', clickTime: 'timestamp' });
    const joined = imps.toDF().withWatermark('impTime', '10 seconds').join(
      clicks.toDF().withWatermark('clickTime', '20 seconds'),
      col('adId').equalTo(col('clickAdId')).and(col('clickTime').geq(col('impTime')))
        .and(col('clickTime').leq(col('impTime').plus(60_000))));
    const query = await joined.writeStream.format('memory').queryName('ad_clicks')
      .option('checkpointLocation', checkpoint).start();
    imps.addData([{ adId: 'a', impTime: 1000 }]);
    clicks.addData([{ clickAdId: 'b', clickTime: 2000 }]);
    await query.processAllAvailable();
    await query.stop();
  });
  after(() => rm(checkpoint, { recursive: true, force: true }));

  it('the report counts both sides\' state files', async () => {
    const run = await weir('inspect', checkpoint, '--json');
    assert.equal(run.code, 0, run.stderr);
    const [state] = (JSON.parse(run.stdout) as { state: { partitions: number; files: number; newestVersion: number }[] }).state;
    assert.deepEqual([state!.partitions, state!.files, state!.newestVersion], [8, 8, 0]);
  });

  it('--state prints each side\'s buffered rows under its own store', async () => {
    const run = await weir('inspect', checkpoint, '--state', '0');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { store: string; key: string; value: unknown[][] });
    assert.deepEqual(lines.map((l) => [l.store, l.key, l.value[0]![0]]), [
      ['state/0/left', 'a', { adId: 'a', impTime: 1000 }],
      ['state/0/right', 'b', { clickAdId: 'b', clickTime: 2000 }],
    ]);
  });
});
