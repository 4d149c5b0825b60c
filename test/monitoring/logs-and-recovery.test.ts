/**
 * Structured logs (what `info` and `debug` say, a user's logger, WEIR_LOG_LEVEL) and the recovery
 * event a restart posts: where it resumed and which logged batch it re-ran.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { ConnectorError, QueryRecoveredEvent, QueryTerminatedEvent, Weir, WeirLogger } from '../../src/index.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

interface Line { readonly level: string; readonly fields: Record<string, unknown>; readonly message: string }

/** A user-supplied logger that keeps what it is given. */
function capture(): { logger: WeirLogger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (fields: object, message: string) => { lines.push({ level, fields: fields as Record<string, unknown>, message }); };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

async function runOnce(weir: Weir, checkpoint: string, rows: number[]): Promise<void> {
  const input = weir.memoryStream('n LONG');
  const query = await input.toDF().writeStream.format('memory').queryName('numbers')
    .option('checkpointLocation', checkpoint).start();
  for (const n of rows) {
    input.addData([{ n }]);
    await query.processAllAvailable();
  }
  await query.stop();
}

test('a restart posts onQueryRecovered: the committed batch it resumed after, and a logged batch it re-runs', async () => {
  const checkpoint = await tempDir();
  const recovered: QueryRecoveredEvent[] = [];
  const weir = new Weir({ logLevel: 'silent' });
  weir.streams.addListener({ onQueryRecovered: (e) => recovered.push(e) });
  await runOnce(weir, checkpoint, [1, 2, 3]);
  assert.equal(recovered.length, 0, 'a fresh checkpoint has nothing to recover');

  await runOnce(weir, checkpoint, []);
  assert.equal(recovered.length, 1);
  assert.deepEqual({ ...recovered[0]!, recoveryMs: 0, timestamp: '', runId: '' }, {
    id: recovered[0]!.id, runId: '', name: 'numbers', timestamp: '', lastCommittedBatchId: 2, nextBatchId: 3, rerun: null, recoveryMs: 0,
  });
  assert.ok(recovered[0]!.recoveryMs >= 0);

  // A crash between the offset log and the commit of batch 2 leaves offsets/2 without commits/2.
  await rm(join(checkpoint, 'commits', '2'));
  await runOnce(weir, checkpoint, []);
  const rerun = recovered[1]!;
  assert.equal(rerun.lastCommittedBatchId, 1);
  assert.equal(rerun.rerun?.batchId, 2);
  assert.deepEqual(rerun.rerun?.sources, [3], 'the re-run uses the offsets batch 2 logged');
  assert.equal(rerun.nextBatchId, 3);
  await weir.close();
});

test('info logs start, resume (with the batch re-run), stop and failure with its code; debug adds each batch', async () => {
  const checkpoint = await tempDir();
  const { logger, lines } = capture();
  const weir = new Weir({ logger });
  await runOnce(weir, checkpoint, [1, 2]);
  await rm(join(checkpoint, 'commits', '1'));
  await runOnce(weir, checkpoint, []);
  const info = lines.filter((l) => l.level === 'info').map((l) => l.message);
  assert.deepEqual(info, ['query started', 'query stopped',
    'query resumed from the checkpoint after batch 0; re-running batch 1 with its logged offsets [2]', 'query started', 'query stopped']);
  const resumed = lines.find((l) => l.message.startsWith('query resumed'))!;
  assert.equal(resumed.fields['rerunBatchId'], 1);
  assert.equal(resumed.fields['queryName'], 'numbers');
  assert.equal(typeof resumed.fields['queryId'], 'string');
  const batches = lines.filter((l) => l.level === 'debug');
  assert.deepEqual(batches.map((l) => l.message), ['batch 0 committed', 'batch 1 committed', 'batch 1 committed']);
  assert.deepEqual(Object.keys(batches[0]!.fields).sort(), ['batchId', 'durationMs', 'inputRowsPerSecond', 'numInputRows',
    'numOutputRows', 'processedRowsPerSecond', 'queryId', 'queryName', 'runId', 'watermark']);

  const terminated: QueryTerminatedEvent[] = [];
  weir.streams.addListener({ onQueryTerminated: (e) => terminated.push(e) });
  const input = weir.memoryStream('n LONG');
  const failing = await input.toDF().writeStream.foreachBatch(() => {
    throw new ConnectorError('WAREHOUSE_DOWN', 'the warehouse refused the batch: start it, then restart the query');
  }).option('checkpointLocation', await tempDir()).start();
  input.addData([{ n: 1 }]);
  await assert.rejects(failing.awaitTermination());
  assert.equal(terminated[0]!.errorClassOnException, 'WAREHOUSE_DOWN');
  const failed = lines.find((l) => l.level === 'error')!;
  assert.equal(failed.message, 'query failed');
  assert.equal(failed.fields['errorCode'], 'WAREHOUSE_DOWN');
  assert.match(String(failed.fields['error']), /the warehouse refused the batch: start it, then restart the query/);
  await weir.close();
});

test('weir logs JSON lines on standard error at WEIR_LOG_LEVEL; an option overrides it; bad levels are refused', async () => {
  const entry = new URL('../../src/index.js', import.meta.url).href;
  const script = `
    import { Weir } from '${entry}';
    const weir = new Weir(process.argv[1] ? { logLevel: process.argv[1] } : {});
    const input = weir.memoryStream('n LONG');
    const query = await input.toDF().writeStream.format('memory').queryName('env').start();
    input.addData([{ n: 1 }]);
    await query.processAllAvailable();
    await query.stop();`;
  const run = async (env: string, option = ''): Promise<{ stdout: string; lines: { level: number; msg: string }[] }> => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, option],
      { env: { ...process.env, WEIR_LOG_LEVEL: env } });
    return { stdout, lines: stderr.trim().split('\n').filter((l) => l).map((l) => JSON.parse(l) as { level: number; msg: string }) };
  };
  const debug = await run('debug');
  assert.equal(debug.stdout, '');
  assert.deepEqual(debug.lines.map((l) => l.msg), ['query started', 'batch 0 committed', 'query stopped']);
  assert.deepEqual((await run('info')).lines.map((l) => l.msg), ['query started', 'query stopped']);
  assert.deepEqual((await run('debug', 'warn')).lines, []);
  assert.throws(() => new Weir({ logLevel: 'loud' }), /Unknown log level 'loud' in option 'logLevel': use one of trace, debug, info/);
  await assert.rejects(run('chatty'), /Unknown log level 'chatty' in WEIR_LOG_LEVEL/);
});
