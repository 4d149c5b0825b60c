/** `weir top`: the terminal view of a running session's web UI. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConnectorError, Weir } from '../../src/index.js';
import { removeTempDirs, startMemory, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const CLI = resolve(fileURLToPath(import.meta.url), '../../../../bin/weir.js');

async function top(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'top', ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('weir top lists each query with its status, batch and rates, and the reasons of a failed one', async () => {
  const weir = new Weir({ ui: { port: 0, token: 'tok' }, logLevel: 'silent' });
  try {
    const url = await weir.uiUrl();
    const input = weir.memoryStream('n LONG');
    const counted = await startMemory(input.toDF(), 'counted', { checkpoint: await tempDir() });
    input.addData([{ n: 1 }, { n: 2 }]);
    await counted.processAllAvailable();
    const broken = weir.memoryStream('n LONG');
    const failing = await broken.toDF().writeStream.queryName('broken').foreachBatch(() => {
      throw new ConnectorError('WAREHOUSE_DOWN', 'the warehouse refused the batch');
    }).start();
    broken.addData([{ n: 1 }]);
    await assert.rejects(failing.awaitTermination());

    const run = await top(url, '--once', '--token', 'tok');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    assert.match(lines[0]!, /^weir top — http:\/\/127\.0\.0\.1:\d+ — .* — 2 queries$/);
    assert.match(lines[2]!, /^NAME\s+ID\s+STATUS\s+UPTIME\s+BATCH\s+IN ROWS\/S\s+PROC ROWS\/S$/);
    const row = lines.find((l) => l.startsWith('counted'))!;
    assert.match(row, new RegExp(`^counted\\s+${counted.id.slice(0, 8)}\\s+idle\\s+\\d+s\\s+${counted.lastProgress!.batchId}\\s`));
    assert.match(lines.find((l) => l.startsWith('broken '))!, /\sfailed\s/);
    assert.match(run.stdout, /^broken: WAREHOUSE_DOWN: .*the warehouse refused the batch/m);

    const refused = await top(url, '--once');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /needs its token: pass --token or set WEIR_UI_TOKEN\. \[UI_UNAUTHORIZED\]/);
    await counted.stop();
  } finally {
    await weir.close();
  }
});

test('weir top says when no UI answers at the address', async () => {
  const run = await top('http://127.0.0.1:9', '--once');
  assert.equal(run.code, 2);
  assert.match(run.stderr, /Cannot reach the weir web UI at http:\/\/127\.0\.0\.1:9 .*\[UI_UNREACHABLE\]/);
});

test('weir demo --ui serves the web UI from its pipeline', async () => {
  const dir = await tempDir('weir-demo-ui-');
  const { stdout } = await promisify(execFile)(process.execPath,
    [CLI, 'demo', '--dir', dir, '--seconds', '1', '--rate', '200', '--kills', '0', '--ui', '0'], { timeout: 120_000 });
  assert.match(stdout, /\[pipeline \d+\] web UI at http:\/\/127\.0\.0\.1:\d+\n/);
  assert.match(stdout, /Exactly once/);
});
