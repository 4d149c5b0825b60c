import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { PrefixedStorage } from '../../src/checkpoint/prefixed-storage.js';
import { AnalysisError, CheckpointError, WeirError } from '../../src/common/errors.js';
import { connectJetStream, JetStreamHandle } from '../../src/connectors/nats/client.js';
import '../../src/connectors/builtin.js';
import { HttpSource } from '../../src/connectors/http/source.js';
import { join } from 'node:path';
import { Row, toSchema } from '../../src/common/schema.js';
import type { SourceContext } from '../../src/sources/source.js';
import { FailoverChild } from './failover-child.js';
import { freePort, mulberry32, testSeed } from './harness.js';
import { startHttpFailoverChild } from './http-failover-child.js';
import { jsonLines, makeSource, post, records, tempFolder } from './http-helpers.js';
import { streamRows } from './nats-output.js';
import { service } from './services.js';

const nats = service('WEIR_TEST_NATS_URL');

/** A checkpoint storage whose lease can be taken over at will, as a JetStream checkpoint's is by a standby. */
class FenceableStorage extends FileSystemStorage {
  fencedBy: CheckpointError | null = null;
  fenceError(): CheckpointError | null {
    return this.fencedBy;
  }
}

describe('http source with its ingest log on JetStream (option wal)', { skip: nats.skip }, () => {
  let hosts = '';
  let admin: JetStreamHandle;
  const streams: string[] = [];
  /** Checkpoints on JetStream: a key-value bucket and an object store each. */
  const buckets: string[] = [];
  const folders: string[] = [];
  let n = 0;

  before(async () => {
    hosts = nats.url().replace(/^nats:\/\//, '');
    admin = await connectJetStream([nats.url()], 'test');
  });

  after(async () => {
    for (const s of streams) await admin.jsm.streams.delete(s).catch(() => false);
    for (const b of buckets) {
      await admin.jsm.streams.delete(`KV_weir_${b}`).catch(() => false);
      await admin.jsm.streams.delete(`OBJ_weir_${b}`).catch(() => false);
    }
    await admin.nc.close();
    for (const f of folders) await rm(f, { recursive: true, force: true });
  });

  /** A new log, or the one named `name`. */
  function walUrl(name = `http${process.pid}_${n++}`): string {
    if (!streams.includes(`WEIR_INGEST_${name}`)) streams.push(`WEIR_INGEST_${name}`);
    return `nats://${hosts}/${name}`;
  }

  /** A source's checkpoint folder (removed after the tests) and the context that opens a source over it. */
  async function sourceFolder(storage?: FileSystemStorage): Promise<{ folder: string; context: SourceContext }> {
    const folder = await tempFolder();
    folders.push(folder);
    const context = {
      storage: new PrefixedStorage(storage ?? new FileSystemStorage(folder), 'sources/0'), queryId: 'q', notifyDataAvailable: () => {},
    };
    return { folder, context };
  }

  async function instance(wal: string, storage?: FileSystemStorage): Promise<{ source: HttpSource; url: string }> {
    const source = makeSource({ port: 0, wal });
    await source.open((await sourceFolder(storage)).context);
    return { source, url: `http://127.0.0.1:${source.port}` };
  }

  test('two instances share one replicated log: keys hold across them, a batch reads each request once, in order', async () => {
    const wal = walUrl();
    const a = await instance(wal);
    const b = await instance(wal);
    try {
      const first = await post(a.url, jsonLines(records(0, 3)), { 'idempotency-key': 'k0' });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual(first.body, { offsets: { start: 0, end: 1 } }, 'positions count requests: one message each');
      const second = await post(b.url, jsonLines(records(3, 2)), { 'idempotency-key': 'k1' });
      assert.deepEqual(second.body, { offsets: { start: 1, end: 2 } });
      // The retry of k0 reaches the other instance: the stream knows the key, nothing is appended.
      const retry = await post(b.url, jsonLines(records(0, 3)), { 'idempotency-key': 'k0' });
      assert.deepEqual(retry.body, { offsets: { start: 0, end: 1 }, duplicate: true });
      const reused = await post(b.url, jsonLines(records(9, 1)), { 'idempotency-key': 'k0' });
      assert.equal(reused.status, 422, JSON.stringify(reused.body));
      assert.equal((await post(a.url, jsonLines(records(5, 1)))).status, 200);
      // The reading instance learns what the other appended.
      const end = await a.source.latestOffset(null);
      assert.deepEqual(end, { end: 3 });
      assert.deepEqual(await a.source.getBatch(null, end!), records(0, 6));
      await a.source.commit(end!);
      assert.equal(a.source.stats.walEnd, 3);
      // The key outlives its message: a retry after the commit is still a repeat, nothing is ingested.
      const late = await post(b.url, jsonLines(records(0, 3)), { 'idempotency-key': 'k0' });
      assert.deepEqual(late.body, { offsets: { start: 0, end: 1 }, duplicate: true });
      assert.deepEqual(await a.source.latestOffset({ end: 3 }), { end: 3 });
      // A committed range is removed from the stream for every instance.
      await assert.rejects(b.source.getBatch(null, { end: 1 }),
        (err: unknown) => err instanceof WeirError && err.code === 'WAL_DATA_LOSS' && /starts at 3/.test(err.message));
    } finally {
      await a.source.stop();
      await b.source.stop();
    }
  });

  test('a process fenced off its checkpoint acknowledges nothing more: 503 with Retry-After', async () => {
    const folder = await tempFolder();
    folders.push(folder);
    const storage = new FenceableStorage(folder);
    const a = await instance(walUrl(), storage);
    try {
      assert.equal((await post(a.url, jsonLines(records(0, 1)))).status, 200);
      storage.fencedBy = new CheckpointError('FENCED', folder, 'taken over by run r2');
      const refused = await post(a.url, jsonLines(records(1, 1)), { 'idempotency-key': 'late' });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.headers.get('retry-after'), '2');
      assert.match(JSON.stringify(refused.body), /taken over by run r2/);
    } finally {
      await a.source.stop();
    }
  });

  /** GET /health of an instance: null while nothing listens there. */
  async function health(url: string): Promise<{ status: number; body: { standby?: boolean; committed?: number } } | null> {
    const res = await fetch(`${url}/health`).catch(() => null);
    return res === null ? null : { status: res.status, body: await res.json() as { standby?: boolean; committed?: number } };
  }

  test('a standby\'s source accepts into the replicated log without reading it; at takeover the same source reads, ' +
    'on the same port', async () => {
    const wal = walUrl();
    const active = await instance(wal);
    const { folder, context } = await sourceFolder();
    const standby = makeSource({ port: 0, wal, maxBacklogRecords: 2 });
    try {
      await standby.acceptWhileStandby(context);
      const url = `http://127.0.0.1:${standby.port}`;
      assert.deepEqual((await health(url))?.body, { status: 'ok', walEnd: 0, committed: 0, backlog: 0, standby: true });
      const first = await post(url, jsonLines(records(0, 2)), { 'idempotency-key': 's0' });
      assert.deepEqual(first.body, { offsets: { start: 0, end: 1 } });
      // The key holds across instances, whichever got the request first.
      assert.deepEqual((await post(active.url, jsonLines(records(0, 2)), { 'idempotency-key': 's0' })).body,
        { offsets: { start: 0, end: 1 }, duplicate: true });
      assert.deepEqual((await post(url, jsonLines(records(2, 1)), { 'idempotency-key': 's1' })).body, { offsets: { start: 1, end: 2 } });
      // Its backlog limit counts what the active query has not committed: full now.
      assert.equal((await post(url, jsonLines(records(3, 1)), { 'idempotency-key': 's2' })).status, 429);
      // The active instance reads what the standby accepted.
      const end = await active.source.latestOffset(null);
      assert.deepEqual(end, { end: 2 });
      assert.deepEqual(await active.source.getBatch(null, end!), records(0, 3));
      await active.source.commit(end!);
      // The standby learns the commit from the log (it reads it every second) and takes requests again.
      while ((await health(url))?.body.committed !== 2) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual((await post(url, jsonLines(records(3, 1)), { 'idempotency-key': 's2' })).body, { offsets: { start: 2, end: 3 } });
      // A standby writes nothing into its checkpoint folder.
      assert.deepEqual(await readdir(folder), []);
      const port = standby.port;
      await standby.open(context);
      assert.equal(standby.port, port, 'the port stays open across the takeover');
      assert.equal((await health(url))?.body.standby, undefined);
      const next = await standby.latestOffset(end);
      assert.deepEqual(next, { end: 3 });
      assert.deepEqual(await standby.getBatch(end, next!), records(3, 1));
    } finally {
      await standby.stop();
      await active.source.stop();
    }
  });

  test('a standby whose port is taken on its machine (by the active instance) warns and listens once it takes over', async () => {
    const wal = walUrl();
    const active = await instance(wal);
    const { context } = await sourceFolder();
    const port = active.source.port;
    const standby = makeSource({ port, wal });
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => { warnings.push(w); };
    process.on('warning', onWarning);
    try {
      await standby.acceptWhileStandby(context);
      assert.throws(() => standby.port, (err: unknown) => err instanceof WeirError && err.code === 'NOT_STARTED');
      while (warnings.length === 0) await new Promise((r) => setImmediate(r));
      assert.equal((warnings[0] as Error & { code?: string }).code, 'WEIR_HTTP_STANDBY_PORT');
      assert.match(warnings[0]!.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
      assert.equal((await post(active.url, jsonLines(records(0, 1)))).status, 200);
      await active.source.stop();
      await standby.open(context);
      assert.equal(standby.port, port);
      assert.deepEqual(await standby.latestOffset(null), { end: 1 });
    } finally {
      process.off('warning', onWarning);
      await standby.stop();
      await active.source.stop();
    }
  });

  test('with the local WAL a standby does not listen: that WAL would be in its own folder, which nobody else reads', async () => {
    const { folder, context } = await sourceFolder();
    const source = makeSource({ port: 0 });
    try {
      await source.acceptWhileStandby(context);
      assert.throws(() => source.port, (err: unknown) => err instanceof WeirError && err.code === 'NOT_STARTED');
      assert.deepEqual(await readdir(folder), []);
      await source.open(context);
      assert.equal((await post(`http://127.0.0.1:${source.port}`, jsonLines(records(0, 1)))).status, 200);
    } finally {
      await source.stop();
    }
  });

  test('a standby instance accepts with keys while the active runs, which reads it all once; the active is SIGKILLed and ' +
    'the standby takes over on the port it listened on: every acknowledged record is in the output once', { timeout: 180_000 }, async (t) => {
    const seed = testSeed(t);
    const random = mulberry32(seed);
    const name = `hsb${process.pid}_${n++}`;
    buckets.push(name);
    const output = `WEIR_HSB_${process.pid}_${n}`;
    const subject = `weirhsb.${process.pid}.${n++}`;
    streams.push(output);
    await admin.jsm.streams.add({ name: output, subjects: [subject], num_replicas: 3 });
    const root = await tempFolder();
    folders.push(root);
    const start = async (machine: string): Promise<{ child: FailoverChild; url: string; folder: string }> => {
      const port = await freePort();
      const folder = join(root, machine);
      const child = startHttpFailoverChild({ checkpoint: `nats://${hosts}/${name}`, wal: walUrl(name), port, natsUrl: nats.url(),
        outputSubject: subject, leaseTimeoutMs: 1_000, workDir: folder });
      return { child, url: `http://127.0.0.1:${port}`, folder };
    };
    const word = (i: number): string => ['a', 'b', 'c'][i % 3]!;
    const body = (i: number): string => jsonLines([{ word: word(i), n: i }]);
    /** Update mode: a word's last row is its total so far; waits until they count `records`, then compares. */
    const expectTotals = async (records: number, instances: readonly FailoverChild[]): Promise<void> => {
      const schema = toSchema('word STRING, records LONG, total LONG');
      const expected = ['a', 'b', 'c'].map((w) => {
        const ns = Array.from({ length: records }, (_, i) => i).filter((i) => word(i) === w);
        return { word: w, records: ns.length, total: ns.reduce((x, y) => x + y, 0) };
      });
      for (;;) {
        const last = new Map<string, Row>();
        for (const row of await streamRows(nats.url(), admin, output, schema)) last.set(String(row['word']), row);
        const totals = [...last.values()].sort((x, y) => String(x['word']).localeCompare(String(y['word'])));
        if (totals.reduce((x, r) => x + Number(r['records']), 0) >= records) return assert.deepEqual(totals, expected, `seed ${seed}`);
        if (instances.every((i) => i.process.exitCode !== null || i.process.signalCode !== null)) {
          assert.fail(`every instance ended before the output was complete: ${(await Promise.all(instances.map(async (i) => (await i.exited).stderr))).join(' | ')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const active = await start('m0');
    let standby = active;
    try {
      await active.child.active;
      standby = await start('m1');
      // The standby listens while it waits: GET /health says so.
      while ((await health(standby.url))?.body.standby !== true) {
        if (standby.child.process.exitCode !== null) assert.fail(`the standby ended: ${(await standby.child.exited).stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Phase 1: requests to either instance at random, each retried once on the other (a repeat, ingested once).
      const FIRST = 30;
      for (let i = 0; i < FIRST; i++) {
        const [to, other] = random() < 0.5 ? [standby, active] : [active, standby];
        const reply = await post(to.url, body(i), { 'idempotency-key': `r${i}` });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal((await post(other.url, body(i), { 'idempotency-key': `r${i}` })).body.duplicate, true);
      }
      await expectTotals(FIRST, [active.child]);
      // Phase 2: a client posts to the standby only, through the kill of the active and the takeover: its port never
      // refuses a connection. A 503 (no quorum in time) is retried with the same key, as a client would.
      let sent = FIRST;
      let tookOver = false;
      let afterTakeover = 0;
      const client = (async (): Promise<void> => {
        while (!tookOver || afterTakeover < 10) {
          const reply = await post(standby.url, body(sent), { 'idempotency-key': `r${sent}` });
          if (reply.status !== 503) {
            assert.equal(reply.status, 200, JSON.stringify(reply.body));
            sent++;
            if (tookOver) afterTakeover++;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      client.catch(() => undefined); // awaited below; a failure before then must not go unhandled
      await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 400)));
      active.child.process.kill('SIGKILL');
      await active.child.exited;
      await rm(active.folder, { recursive: true, force: true });
      const takeoverMs = await standby.child.active;
      tookOver = true;
      await client;
      assert.ok(takeoverMs > 0, 'the standby waited for the lease');
      await expectTotals(sent, [standby.child]);
      t.diagnostic(`seed ${seed}: ${sent} requests, takeover after ${takeoverMs} ms`);
    } finally {
      active.child.process.kill('SIGKILL');
      standby.child.process.kill('SIGKILL');
    }
  });

  test('option wal is checked: a URL with a known scheme, a valid stream name', async () => {
    const folder = await tempFolder();
    folders.push(folder);
    const open = (wal: string): Promise<void> => makeSource({ port: 0, wal }).open({
      storage: new PrefixedStorage(new FileSystemStorage(folder), 'sources/0'), queryId: 'q', notifyDataAvailable: () => {},
    });
    await assert.rejects(open('s3://bucket/x'), (err: unknown) => err instanceof AnalysisError &&
      /scheme of option 'wal' 's3'/.test(err.message) && /Known: nats/.test(err.message));
    await assert.rejects(open('/var/wal'), (err: unknown) => err instanceof AnalysisError && /Option 'wal'.*not a URL/.test(err.message));
    await assert.rejects(open(`nats://${hosts}/bad.name`), (err: unknown) => err instanceof AnalysisError &&
      /option 'wal' of the http source 'nats:\/\/.*bad\.name' has the name/.test(err.message));
  });
});
