/** `weir run --standby`: waits while another instance holds the lease, keeps the state warm, takes over. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectJetStream, JetStreamHandle } from '../../src/connectors/nats/client.js';
import { JetStreamStorage } from '../../src/connectors/nats/jetstream-storage.js';
import { service } from '../connectors/services.js';

const CLI = resolve(fileURLToPath(import.meta.url), '../../../../bin/weir.js');
const nats = service('WEIR_TEST_NATS_URL');

interface Running { readonly stdout: () => string; line(pattern: RegExp): Promise<void>; readonly ended: Promise<{ code: number | null; out: string }> }

function weirRun(cwd: string, ...args: string[]): Running {
  const child = spawn(process.execPath, [CLI, 'run', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const ended = new Promise<{ code: number | null; out: string }>((done) => child.on('exit', (code) => done({ code, out })));
  return {
    stdout: () => out,
    line: (pattern) => new Promise((done, fail) => {
      const look = (): void => {
        if (pattern.test(out)) {
          child.stdout.off('data', look);
          done();
        }
      };
      child.stdout.on('data', look);
      child.on('exit', () => fail(new Error(`weir run ended before printing ${pattern}: ${out}`)));
      look();
    }),
    ended,
  };
}

/** Events `{ts, word}` two seconds apart from `fromSecond`; windows of 10 s. */
function events(fromSecond: number, count: number): string {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ ts: (fromSecond + i * 2) * 1000, word: ['a', 'b'][i % 2] }))
    .join('\n') + '\n';
}

async function outputRows(folder: string): Promise<string[]> {
  const rows: string[] = [];
  for (const name of await readdir(folder)) {
    if (name.startsWith('_') || name.startsWith('.')) continue;
    for (const line of (await readFile(join(folder, name), 'utf8')).split('\n').filter(Boolean)) {
      const row = JSON.parse(line) as { start: string; word: string; n: number };
      rows.push(`${row.start}|${row.word}|${row.n}`);
    }
  }
  return rows.sort();
}

describe('weir run --standby', { skip: nats.skip }, () => {
  let admin: JetStreamHandle;
  let dir: string;
  const bucket = `cli_standby_${process.pid}`;

  before(async () => {
    admin = await connectJetStream([nats.url()], 'test');
    dir = await mkdtemp(join(tmpdir(), 'weir-run-standby-'));
  });

  after(async () => {
    for (const stream of [`KV_weir_${bucket}`, `OBJ_weir_${bucket}`]) await admin.jsm.streams.delete(stream).catch(() => false);
    await admin.nc.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('waits while the lease is held (without --standby: CHECKPOINT_IN_USE), follows the state, takes over warm', { timeout: 120_000 },
    async () => {
      const checkpoint = `${nats.url()}/${bucket}`;
      await mkdir(join(dir, 'data'));
      await writeFile(join(dir, 'pipeline.sql'), [
        "CREATE TABLE events (ts TIMESTAMP, word STRING, WATERMARK FOR ts AS ts - INTERVAL '0' SECONDS)",
        "WITH ('format' = 'json', 'path' = 'data');",
        `CREATE TABLE counts WITH ('format' = 'json', 'path' = 'out', 'trigger' = 'availableNow', 'checkpointLocation' = '${checkpoint}');`,
        'INSERT INTO counts SELECT window.start AS start, word, count(*) AS n FROM events GROUP BY window(ts, INTERVAL 10 SECONDS), word;',
      ].join('\n'));
      await writeFile(join(dir, 'data', '1.json'), events(0, 10));
      const first = await weirRun(dir, 'pipeline.sql').ended;
      assert.equal(first.code, 0, first.out);

      // Another instance holds the lease and renews it (this test, standing in for an active query).
      const holder = new JetStreamStorage(checkpoint);
      const lease = await holder.lock({ queryId: 'q', runId: 'holder' }, { leaseTimeoutMs: 1_500 });
      try {
        const refused = await weirRun(dir, 'pipeline.sql').ended;
        assert.equal(refused.code, 1, refused.out);
        assert.match(refused.out, /is in use: run holder/);
        const standby = weirRun(dir, 'pipeline.sql', '--standby');
        await standby.line(/^counts: standby, state warm at batch \d+ \([1-9]\d* rows\)$/m);
        await writeFile(join(dir, 'data', '2.json'), events(20, 10));
        await lease.release();
        const ended = await standby.ended;
        assert.equal(ended.code, 0, ended.out);
        assert.match(ended.out, /^counts: took over after waiting \d+ ms \(warm, ready in \d+ ms with [1-9]\d* state rows, after batch \d+\)$/m);
      } finally {
        await holder.close();
      }
      // Every window the watermark (the newest event, 38 s) closed, once, with its count: [0,10) [10,20) [20,30).
      const expected = ['0|a|3', '0|b|2', '10|a|2', '10|b|3', '20|a|3', '20|b|2']
        .map((line) => line.replace(/^\d+/, (s) => new Date(Number(s) * 1000).toISOString()));
      assert.deepEqual(await outputRows(join(dir, 'out')), expected.sort());
    });
});

test('weir run --help documents --standby', async () => {
  const help = weirRun(process.cwd(), '--help');
  const { code, out } = await help.ended;
  assert.equal(code, 0, out);
  assert.match(out, /--standby +start every query as a standby/);
});
