/**
 * The web UI in a real browser (headless Chromium, driven by playwright-core): a query in a child
 * process serves it; the page's charts fill with live batches and show the query's own lastProgress;
 * the child is killed with SIGKILL and restarted, and the page shows the recovery event while the
 * charts keep the history from before the crash (kept in the checkpoint).
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StreamingQueryProgress } from '../../src/index.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';
import { freePort } from '../connectors/harness.js';
import { launchChromium } from './browser.js';
import { eventually, JsonLinesChild } from './child.js';

after(removeTempDirs);

const CHILD = new URL('./ui-child.js', import.meta.url);

/** One JSON-lines file of `n` page views with event times from `fromSec`, renamed into the input folder. */
async function addFile(input: string, name: string, fromSec: number, n: number): Promise<void> {
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({
    ts: new Date((fromSec + i / n) * 1000).toISOString(), page: ['home', 'cart', 'search'][i % 3],
  }));
  await writeFile(join(input, `.${name}.tmp`), `${lines.join('\n')}\n`);
  await rename(join(input, `.${name}.tmp`), join(input, name));
}

interface PageView {
  /** The latest-batch panel: field -> the exact value shown (data-value). */
  readonly latest: Record<string, string>;
  /** Each chart's newest point, by chart title. */
  readonly charted: Record<string, Record<string, number>>;
  /** Points in the input-rows chart. */
  readonly points: number;
}

/** Runs in the page: what it shows now, in one synchronous read. */
function readView(): PageView {
  const latest: Record<string, string> = {};
  for (const dd of document.querySelectorAll<HTMLElement>('#latest [data-field]')) latest[dd.dataset['field']!] = dd.dataset['value']!;
  const charted: Record<string, Record<string, number>> = {};
  for (const chart of document.querySelectorAll<HTMLElement>('[data-chart]')) charted[chart.dataset['chart']!] = JSON.parse(chart.dataset['last'] ?? '{}');
  const points = Number(document.querySelector<HTMLElement>('[data-chart="Input rows per batch"]')?.dataset['points'] ?? 0);
  return { latest, charted, points };
}

test('the web UI charts live batches, shows lastProgress, and shows the recovery after a kill -9', async () => {
  const dir = await tempDir('weir-ui-');
  const input = join(dir, 'input');
  await mkdir(input);
  const config = { port: await freePort(), token: 'ui-token', input, checkpoint: join(dir, 'checkpoint') };
  let child = new JsonLinesChild(CHILD, config);
  const browser = await launchChromium(dir);
  try {
    const { ui } = await child.waitFor((l) => 'ui' in l) as { ui: string };
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => { if (msg.type() === 'error') pageErrors.push(`${msg.text()} (${msg.location().url})`); });
    assert.equal((await fetch(`${ui}/api/queries`)).status, 401, 'the data needs the token');
    // The page passes the token from its own address to its data requests and event stream.
    await page.goto(`${ui}/?token=${config.token}`);
    for (let i = 0; i < 4; i++) await addFile(input, `views-${i}.json`, 100 + i * 3, 30 + i * 10);

    // Once the query has read every file and settled (a batch may follow the last file to move the
    // watermark), the page shows its newest batch, read in one go and compared with that batch's lastProgress.
    const rows = [30, 40, 50, 60]; // the files' sizes
    const printed = (): StreamingQueryProgress[] =>
      child.lines.flatMap((l) => (l['lastProgress'] ? [l['lastProgress'] as StreamingQueryProgress] : []));
    const view = await eventually(() => `the page to show the newest batch (page errors: ${pageErrors.join('; ')})`, async () => {
      const progress = printed();
      if (progress.reduce((n, p) => n + p.numInputRows, 0) < rows.reduce((a, b) => a + b)) return undefined;
      const v = await page.evaluate(readView);
      return Number(v.latest['batchId']) === progress[progress.length - 1]!.batchId && v.points >= 3 ? v : undefined;
    });
    const last = Number(view.latest['batchId']);
    const lastProgress = printed().find((p) => p.batchId === last)!;
    assert.deepEqual(view.latest, {
      batchId: String(lastProgress.batchId), numInputRows: String(lastProgress.numInputRows),
      inputRowsPerSecond: String(lastProgress.inputRowsPerSecond), processedRowsPerSecond: String(lastProgress.processedRowsPerSecond),
      triggerExecutionMs: String(lastProgress.durationMs['triggerExecution']), numOutputRows: String(lastProgress.sink.numOutputRows),
      watermark: lastProgress.eventTime['watermark'],
    });
    assert.deepEqual(view.charted['Input rows per batch'], { rows: lastProgress.numInputRows });
    assert.deepEqual(view.charted['Input vs processing rate (rows/s)'],
      { input: lastProgress.inputRowsPerSecond, processing: lastProgress.processedRowsPerSecond });
    assert.equal(view.charted['State rows']?.['total'], lastProgress.stateOperators[0]!.numRowsTotal);
    const pointsBefore = view.points;
    assert.equal(await page.locator('#queries tbody tr').count(), 1);
    assert.match(await page.locator('#queries tbody tr').innerText(), /page-views/);
    await page.screenshot({ path: join(dir, 'ui-live.png'), fullPage: true });

    await child.kill();
    await eventually('the page to notice the lost connection', async () =>
      (await page.locator('#connection').innerText()).includes('offline'));
    const newest = Math.max(...printed().map((p) => p.batchId));
    child = new JsonLinesChild(CHILD, config);
    const { recovered } = await child.waitFor((l) => 'recovered' in l) as { recovered: { lastCommittedBatchId: number; runId: string } };
    assert.equal(recovered.lastCommittedBatchId, newest, 'the restart resumed after the last batch committed before the kill');
    const item = page.locator(`#recoveries li[data-recovery="${recovered.runId}"]`);
    await item.waitFor({ timeout: 60_000 });
    assert.match(await item.innerText(), new RegExp(`resumed after batch ${newest}; recovery took \\d+ ms`));

    // New batches after the restart are charted on top of the history from before the crash.
    await addFile(input, 'views-after-restart.json', 200, 20);
    await eventually('a batch after the restart on the page', async () => {
      const v = await page.evaluate(readView);
      return Number(v.latest['batchId']) > newest && v.points > pointsBefore;
    });
    assert.equal(await page.locator('#connection').innerText(), 'live');
    await page.screenshot({ path: join(dir, 'ui-after-restart.png'), fullPage: true });
    // WEIR_TEST_SCREENSHOTS=<folder> keeps the screenshots (docs/ui.png is the first one).
    const keep = process.env['WEIR_TEST_SCREENSHOTS'];
    if (keep) for (const name of ['ui-live.png', 'ui-after-restart.png']) await copyFile(join(dir, name), join(keep, name));
    // Errors while the server was down (the event stream's reconnects) are expected; none from the page's code.
    assert.deepEqual(pageErrors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  } finally {
    await child.kill();
    await browser.close();
  }
});
