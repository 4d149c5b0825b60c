/**
 * End-to-end crash test of issue #4: clients POST a known set of events, with idempotency keys and
 * retries as a real client does, to HTTP → 10-second windowed count (append) → PostgreSQL, while the
 * process is SIGKILLed at random moments and restarted. At the end the table must hold exactly the
 * expected counts: one row per window and word, none missing, none doubled.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { HTTP_PG_WINDOW_MS } from './http-pg-child.js';
import { freePort, mulberry32, testSeed } from './harness.js';
import { service } from './services.js';

const postgres = service('WEIR_TEST_PG_URL');
const EVENTS = 2000;
const PER_REQUEST = 10;
const CLIENTS = 2;
const KILLS = 8;
const WORDS = ['ant', 'bee', 'cat', 'dog', 'elk'];

interface Event { ts: number; word: string }

const eventAt = (i: number): Event => ({ ts: i * 1000, word: WORDS[(i * 7) % WORDS.length]! });

function expectedRows(): string[] {
  const counts = new Map<string, number>();
  for (let i = 0; i < EVENTS; i++) {
    const e = eventAt(i);
    const key = `${e.ts - (e.ts % HTTP_PG_WINDOW_MS)}|${e.word}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${key}|${n}`).sort();
}

test('HTTP -> windowed count -> PostgreSQL, SIGKILLed at random while clients post: exact counts',
  { skip: postgres.skip, timeout: 300_000 }, async (t) => {
  const url = postgres.url();
  const seed = testSeed(t);
  const random = mulberry32(seed);
  const folder = await mkdtemp(join(tmpdir(), 'weir-http-pg-'));
  const table = `crash_http_${process.pid}_${seed}`;
  const port = await freePort();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  let child = await startChild([join(folder, 'checkpoint'), String(port), url, table]);
  t.after(async () => {
    child.kill('SIGKILL');
    await admin.query(`DROP TABLE IF EXISTS "${table}"`);
    await admin.end();
    await rm(folder, { recursive: true, force: true });
  });

  // Each request is retried with its key until acknowledged, as a client that saw no answer must.
  let retries = 0;
  // A pipeline that cannot be restarted must fail the test, not leave the clients retrying forever.
  let killerFailure: unknown = null;
  const postUntilAcknowledged = async (key: string, events: readonly Event[]): Promise<void> => {
    const body = events.map((e) => JSON.stringify({ ts: e.ts, word: e.word })).join('\n');
    for (;;) {
      if (killerFailure !== null) throw killerFailure;
      try {
        const reply = await fetch(`http://127.0.0.1:${port}/ingest`, {
          method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': key },
        });
        if (reply.status === 200) return;
        // 503: the WAL is not writable right now; 429: the backlog is full. Both say: retry later.
        assert.ok(reply.status === 503 || reply.status === 429, `seed ${seed}: ${key} got ${reply.status}: ${await reply.text()}`);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
      }
      retries++;
      await sleep(10);
    }
  };
  const requests = Array.from({ length: EVENTS / PER_REQUEST }, (_, r) => r);
  const client = async (): Promise<void> => {
    for (let r = requests.shift(); r !== undefined; r = requests.shift()) {
      await postUntilAcknowledged(`req-${r}`, Array.from({ length: PER_REQUEST }, (_, k) => eventAt(r * PER_REQUEST + k)));
    }
  };
  // Kills go on after the posting ends, so they also land while the last windows are written.
  const killer = async (): Promise<number> => {
    let kills = 0;
    while (kills < KILLS) {
      await sleep(50 + Math.floor(random() * 300));
      child.kill('SIGKILL');
      await child.exited;
      kills++;
      child = await startChild([join(folder, 'checkpoint'), String(port), url, table]);
    }
    return kills;
  };
  const killing = killer();
  killing.catch((err: unknown) => { killerFailure = err; });
  await Promise.all(Array.from({ length: CLIENTS }, client));
  // One event far ahead moves the watermark past every window above (its own stays open).
  await postUntilAcknowledged('end', [{ ts: EVENTS * 1000 + 10 * 60_000, word: 'end' }]);
  const kills = await killing;

  const expected = expectedRows();
  let actual: string[] = [];
  for (let waited = 0; waited < 30_000; waited += 100) {
    const exists = await admin.query('SELECT to_regclass($1) AS t', [`"${table}"`]);
    if (exists.rows[0].t !== null) {
      const result = await admin.query(`SELECT (extract(epoch FROM window_start) * 1000)::bigint AS start, word, count FROM "${table}"`);
      actual = result.rows.map((r: { start: string; word: string; count: string }) => `${r.start}|${r.word}|${r.count}`).sort();
      if (actual.length >= expected.length) break;
    }
    await sleep(100);
  }
  t.diagnostic(`seed ${seed}: ${kills} kills, ${retries} retried requests`);
  assert.ok(kills >= 1, `seed ${seed}: the test never killed the pipeline`);
  const missing = expected.filter((row) => !actual.includes(row));
  const unexpected = actual.filter((row) => !expected.includes(row));
  assert.deepEqual({ missing, unexpected }, { missing: [], unexpected: [] }, `seed ${seed}: the table differs from the expected counts`);
  assert.equal(actual.length, expected.length, `seed ${seed}: rows written twice`);
});

interface Child {
  readonly exited: Promise<void>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts the pipeline child; resolves once it listens. */
function startChild(args: readonly string[]): Promise<Child> {
  const script = fileURLToPath(new URL('./http-pg-child.js', import.meta.url));
  const proc: ChildProcess = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve({ exited, kill: (signal) => { proc.kill(signal); } });
    });
    proc.on('exit', (code, signal) => reject(new Error(`pipeline child ended (${code ?? signal}) before it was ready: ${stderr}`)));
  });
}
