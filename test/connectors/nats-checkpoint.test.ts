import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Objm } from '@nats-io/obj';
import { fileURLToPath } from 'node:url';
import type { ClusterInfo } from '@nats-io/jetstream';
import { CheckpointError } from '../../src/index.js';
import { copyCheckpoint } from '../../src/cli/checkpoint-copy.js';
import { dumpState, inspectCheckpoint } from '../../src/cli/inspect.js';
import { encodeFile } from '../../src/checkpoint/file-format.js';
import { decodeRecords, encodeDelta } from '../../src/state/state-files.js';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { PrefixedStorage } from '../../src/checkpoint/prefixed-storage.js';
import { openCheckpointStorage } from '../../src/checkpoint/registry.js';
import { FileExistsError } from '../../src/checkpoint/storage.js';
import { Row, Schema, toSchema, WINDOW_TYPE } from '../../src/common/schema.js';
import { connectJetStream, JetStreamHandle } from '../../src/connectors/nats/client.js';
import { fileKey } from '../../src/connectors/nats/checkpoint-keys.js';
import { JetStreamStorage } from '../../src/connectors/nats/jetstream-storage.js';
import { FailoverChild, FailoverConfig, startFailoverChild } from './failover-child.js';
import { startHttpFailoverChild } from './http-failover-child.js';
import { jsonLines, makeSource, post, records, Reply } from './http-helpers.js';
import { freePort, mulberry32, testSeed } from './harness.js';
import { crashInput, expectedCounts } from './pipeline-child.js';
import { streamRows } from './nats-output.js';
import { service } from './services.js';

const nats = service('WEIR_TEST_NATS_URL');
/** How long the store-fault test waits for the cluster or the query before it reports what it saw. */
const CLUSTER_WAIT_MS = 120_000;
const SERVICES_SCRIPT = fileURLToPath(new URL('../../../scripts/services.sh', import.meta.url));

describe('JetStream checkpoint storage', { skip: nats.skip }, () => {
  let url = '';
  let hosts = '';
  let admin: JetStreamHandle;
  const buckets: string[] = [];
  const streams: string[] = [];
  let n = 0;

  before(async () => {
    url = nats.url();
    hosts = url.replace(/^nats:\/\//, '');
    admin = await connectJetStream([url], 'test');
  });

  after(async () => {
    for (const b of buckets) {
      await admin.jsm.streams.delete(`KV_weir_${b}`).catch(() => false);
      await admin.jsm.streams.delete(`OBJ_weir_${b}`).catch(() => false);
    }
    for (const s of streams) await admin.jsm.streams.delete(s).catch(() => false);
    await admin.nc.close();
  });

  function location(): string {
    const name = `t${process.pid}_${n++}`;
    buckets.push(name);
    return `nats://${hosts}/${name}`;
  }

  test('files round-trip through the key-value bucket and the object store; create-only names are taken once', async () => {
    const storage = openCheckpointStorage(location()) as JetStreamStorage;
    try {
      assert.ok(storage instanceof JetStreamStorage);
      const small = encodeFile('commit', 1, '{"a":1}');
      const big = Buffer.alloc(600 * 1024, 7);
      await storage.writeAtomic('commits/0', small, { overwrite: false });
      await storage.writeAtomic('state/0/1/5.delta', big, { overwrite: false });
      await storage.writeAtomic('sources/0/.odd name', Buffer.from('x'), { overwrite: true });
      await storage.writeAtomic('sources/0/.odd name', Buffer.from('y'), { overwrite: true });
      assert.deepEqual(await storage.read('commits/0'), small);
      assert.deepEqual(await storage.read('state/0/1/5.delta'), big);
      assert.deepEqual(await storage.read('sources/0/.odd name'), Buffer.from('y'));
      assert.equal(await storage.read('commits/1'), null);
      assert.deepEqual((await storage.list('')).sort(), ['commits', 'sources', 'state']);
      assert.deepEqual(await storage.list('state/0/1'), ['5.delta']);
      await assert.rejects(storage.writeAtomic('commits/0', small, { overwrite: false }), FileExistsError);
      await storage.delete('state');
      assert.equal(await storage.read('state/0/1/5.delta'), null);
      assert.deepEqual((await storage.list('')).sort(), ['commits', 'sources']);
      // A deleted name can be created again (retention deletes, a re-run recreates).
      await storage.writeAtomic('commits/0', small, { overwrite: true });
      await storage.delete('commits/0');
      await storage.writeAtomic('commits/0', small, { overwrite: false });
    } finally {
      await storage.close();
    }
  });

  test('a holder whose lease was taken over can write nothing more and fails with FENCED', async () => {
    const where = location();
    const first = new JetStreamStorage(where);
    const second = new JetStreamStorage(where);
    try {
      const lock = await first.lock({ queryId: 'q', runId: 'r1' }, { leaseTimeoutMs: 60_000 });
      await first.writeAtomic('offsets/0', Buffer.from('zero'), { overwrite: false });
      // What a standby does once the holder's lease expired (here judged at once): take it by revision.
      const lease = await second.readLease();
      assert.ok(lease);
      assert.ok(await second.takeLease({ ...lease.record, epoch: lease.record.epoch + 1, runId: 'r2' }, lease.revision));
      await assert.rejects(first.writeAtomic('commits/0', Buffer.from('late'), { overwrite: false }),
        (err: unknown) => err instanceof CheckpointError && err.code === 'FENCED' && /taken over by run r2/.test(err.message));
      await assert.rejects(first.writeAtomic('offsets/1', Buffer.from('later'), { overwrite: true }),
        (err: unknown) => err instanceof CheckpointError && err.code === 'FENCED');
      assert.throws(() => lock.assertHeld(), (err: unknown) => err instanceof CheckpointError && err.code === 'FENCED');
      assert.equal(await second.read('commits/0'), null);
      assert.equal(await second.read('offsets/1'), null);
      await second.writeAtomic('commits/0', Buffer.from('new holder'), { overwrite: false });
      // A second contender that lost the race for the same revision does not get the lease.
      assert.equal(await first.takeLease({ ...lease.record, epoch: lease.record.epoch + 1, runId: 'r3' }, lease.revision), false);
    } finally {
      await first.close();
      await second.close();
    }
  });

  test('without standby, a start while the holder renews its lease fails with CHECKPOINT_IN_USE', async () => {
    const where = location();
    const first = new JetStreamStorage(where);
    const second = new JetStreamStorage(where);
    try {
      const lock = await first.lock({ queryId: 'q', runId: 'r1' }, { leaseTimeoutMs: 600 });
      await assert.rejects(second.lock({ queryId: 'q', runId: 'r2' }, { leaseTimeoutMs: 600 }),
        (err: unknown) => err instanceof CheckpointError && err.code === 'CHECKPOINT_IN_USE' && /run r1/.test(err.message));
      await lock.release();
      const taken = await second.lock({ queryId: 'q', runId: 'r2' }, { leaseTimeoutMs: 600 });
      assert.equal(taken.takeoverMs, undefined, 'a released lease is taken at once');
      await taken.release();
    } finally {
      await first.close();
      await second.close();
    }
  });

  // ---- processes: a replicated query, killed, paused, and its store's servers stopped ----

  async function newStream(): Promise<{ stream: string; prefix: string }> {
    const i = n++;
    const stream = `WEIR_CKPT_${process.pid}_${i}`;
    const prefix = `weirckpt.${process.pid}.${i}`;
    streams.push(stream);
    // A server started again by the test before may not be placeable yet ('peer offline'): try again for a while.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], num_replicas: 3 });
        break;
      } catch (err) {
        if (attempt === 150) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await replicasCurrent(stream);
    return { stream, prefix };
  }

  interface Run { readonly config: Omit<FailoverConfig, 'standby' | 'workDir'>; readonly outputStream: string; readonly root: string }

  async function newRun(availableNow: boolean): Promise<Run> {
    const input = await newStream();
    const output = await newStream();
    for (const e of crashInput()) await admin.js.publish(`${input.prefix}.in`, JSON.stringify(e));
    const root = await mkdtemp(join(tmpdir(), 'weir-failover-'));
    return {
      config: { checkpoint: location(), natsUrl: url, inputStream: input.stream, outputSubject: `${output.prefix}.counts`,
        leaseTimeoutMs: 1_000, availableNow },
      outputStream: output.stream, root,
    };
  }

  function instance(run: Run, name: string, standby: boolean, fault?: string): FailoverChild {
    return startFailoverChild({ ...run.config, standby, workDir: join(run.root, name) }, fault);
  }

  async function outputLines(stream: string): Promise<string[]> {
    const schema: Schema = [{ name: 'window', type: WINDOW_TYPE, nullable: false }, ...toSchema('word STRING, count LONG')];
    const rows = await outputRows(stream, schema);
    return rows.map((r) => `${(r['window'] as { start: number }).start}|${r['word']}|${r['count']}`).sort();
  }

  /** Every row of the output stream, in order. */
  function outputRows(stream: string, schema: Schema): Promise<Row[]> {
    return streamRows(url, admin, stream, schema);
  }

  /**
   * Waits (polling the output stream, no fixed sleep decides anything) until every expected row is there;
   * fails, with what the instances said, once none of them runs any more.
   */
  async function waitForOutput(stream: string, expected: number, instances: readonly FailoverChild[]): Promise<void> {
    while ((await admin.jsm.streams.info(stream)).state.messages < expected) {
      if (instances.every((i) => i.process.exitCode !== null || i.process.signalCode !== null)) {
        const said = await Promise.all(instances.map(async (i) => (await i.exited).stderr));
        assert.fail(`every instance ended before the output was complete: ${said.join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test('machine loss: the active is SIGKILLed with its folder deleted at random moments, a standby takes over each time',
    { timeout: 300_000 }, async (t) => {
      const seed = testSeed(t);
      const random = mulberry32(seed);
      const run = await newRun(false);
      let generation = 0;
      let active = instance(run, `m${generation++}`, true);
      const takeovers: number[] = [];
      // Started once the first one holds the lease: of two instances started together, either may win it.
      let standby = active;
      try {
        await active.active;
        standby = instance(run, `m${generation++}`, true);
        for (let kill = 0; kill < 3; kill++) {
          await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 900)));
          active.process.kill('SIGKILL');
          await active.exited;
          await rm(join(run.root, `m${generation - 2}`), { recursive: true, force: true });
          takeovers.push(await standby.active);
          active = standby;
          standby = instance(run, `m${generation++}`, true);
        }
        await waitForOutput(run.outputStream, expectedCounts().length, [active, standby]);
        assert.deepEqual(await outputLines(run.outputStream), expectedCounts());
        t.diagnostic(`seed ${seed}: 3 kills, takeovers after ${takeovers.join(', ')} ms`);
        assert.ok(takeovers.every((ms) => ms > 0), 'each standby waited for the lease to expire');
      } finally {
        active.process.kill('SIGKILL');
        standby.process.kill('SIGKILL');
        await rm(run.root, { recursive: true, force: true });
      }
    });

  test('machine loss with replicated ingest: clients post with keys through both instances, the active is SIGKILLed ' +
    'with its folder deleted at random moments; every acknowledged record counts exactly once', { timeout: 300_000 }, async (t) => {
    const seed = testSeed(t);
    const random = mulberry32(seed);
    const output = await newStream();
    const walName = `ingest${process.pid}_${n++}`;
    streams.push(`WEIR_INGEST_${walName}`);
    const root = await mkdtemp(join(tmpdir(), 'weir-ingest-failover-'));
    const base = { checkpoint: location(), wal: `nats://${hosts}/${walName}`, natsUrl: url, outputSubject: `${output.prefix}.totals`, leaseTimeoutMs: 1_000 };
    let generation = 0;
    const start = async (): Promise<{ child: FailoverChild; port: number; folder: string }> => {
      const folder = join(root, `m${generation++}`);
      const port = await freePort();
      return { child: startHttpFailoverChild({ ...base, port, workDir: folder }), port, folder };
    };
    const RECORDS = 240;
    const word = (i: number): string => ['a', 'b', 'c'][i % 3]!;
    let active = await start();
    let standby = active;
    let clientsDone = false;
    try {
      await active.child.active;
      standby = await start();
      // A request is sent until acknowledged, each time to either instance (both accept; a killed one, or a new
      // standby not yet listening, refuses the connection). The same key and body each time: the log keeps it once.
      const deliver = async (first: number, size: number): Promise<void> => {
        const body = jsonLines(Array.from({ length: size }, (_, j) => ({ word: word(first + j), n: first + j })));
        for (;;) {
          const target = random() < 0.5 ? active : standby;
          const reply = await post(`http://127.0.0.1:${target.port}`, body, { 'idempotency-key': `r${first}` }).catch(() => null);
          if (reply?.status === 200) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const client = async (c: number): Promise<void> => {
        for (let first = c * (RECORDS / 4); first < (c + 1) * (RECORDS / 4);) {
          const size = Math.min(1 + Math.floor(random() * 3), (c + 1) * (RECORDS / 4) - first);
          await deliver(first, size);
          first += size;
        }
      };
      const clients = Promise.all([0, 1, 2, 3].map(client)).finally(() => { clientsDone = true; });
      const takeovers: number[] = [];
      for (let kill = 0; kill < 3 && !clientsDone; kill++) {
        await new Promise((r) => setTimeout(r, 200 + Math.floor(random() * 1_500)));
        active.child.process.kill('SIGKILL');
        await active.child.exited;
        await rm(active.folder, { recursive: true, force: true });
        takeovers.push(await standby.child.active);
        active = standby;
        standby = await start();
      }
      await clients;
      // Update mode: the last row of a word is its total; wait until every word has all its records.
      const schema = toSchema('word STRING, records LONG, total LONG');
      const expected = ['a', 'b', 'c'].map((w) => {
        const ns = Array.from({ length: RECORDS }, (_, i) => i).filter((i) => word(i) === w);
        return { word: w, records: ns.length, total: ns.reduce((x, y) => x + y, 0) };
      });
      let totals: Row[] = [];
      for (;;) {
        const last = new Map<string, Row>();
        for (const row of await outputRows(output.stream, schema)) last.set(String(row['word']), row);
        totals = [...last.values()].sort((x, y) => String(x['word']).localeCompare(String(y['word'])));
        const counted = totals.reduce((x, r) => x + Number(r['records']), 0);
        if (counted >= RECORDS) break;
        if ([active, standby].every((i) => i.child.process.exitCode !== null)) assert.fail('both instances ended before the output was complete');
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(totals, expected, `seed ${seed}`);
      t.diagnostic(`seed ${seed}: ${takeovers.length} kills, takeovers after ${takeovers.join(', ')} ms`);
    } finally {
      active.child.process.kill('SIGKILL');
      standby.child.process.kill('SIGKILL');
      await rm(root, { recursive: true, force: true });
    }
  });

  test('zombie: a paused active that wakes after the standby took over writes nothing and stops with FENCED',
    { timeout: 300_000 }, async (t) => {
      const run = await newRun(false);
      const zombie = instance(run, 'zombie', false);
      let standby: FailoverChild | null = null;
      try {
        await zombie.active;
        // Pause it once it committed something, mid-stream.
        const storage = new JetStreamStorage(run.config.checkpoint);
        while ((await storage.list('commits')).length < 2) await new Promise((r) => setTimeout(r, 50));
        zombie.process.kill('SIGSTOP');
        standby = instance(run, 'standby', true);
        const takeoverMs = await standby.active;
        const committedBefore = (await storage.list('commits')).length;
        while ((await storage.list('commits')).length <= committedBefore + 1) await new Promise((r) => setTimeout(r, 50));
        standby.process.kill('SIGSTOP'); // freeze the new holder so the check below sees only the zombie's doing
        const before = await snapshot(storage);
        const outputBefore = (await admin.jsm.streams.info(run.outputStream)).state.last_seq;
        zombie.process.kill('SIGCONT');
        const ended = await zombie.exited;
        assert.equal(ended.code, 3, `the zombie ended with ${ended.code}/${ended.signal}: ${ended.stderr}`);
        assert.match(ended.stderr, /^FENCED: /m);
        assert.deepEqual(await snapshot(storage), before, 'the zombie changed the checkpoint');
        const outputAfter = (await admin.jsm.streams.info(run.outputStream)).state;
        // The sink may re-send the batch the zombie had in flight: its message ids make the stream drop them.
        assert.equal(outputAfter.last_seq, outputBefore, 'the zombie added output');
        standby.process.kill('SIGCONT');
        await waitForOutput(run.outputStream, expectedCounts().length, [standby]);
        assert.deepEqual(await outputLines(run.outputStream), expectedCounts());
        t.diagnostic(`takeover after ${takeoverMs} ms`);
        await storage.close();
      } finally {
        zombie.process.kill('SIGKILL');
        standby?.process.kill('SIGCONT');
        standby?.process.kill('SIGKILL');
        await rm(run.root, { recursive: true, force: true });
      }
    });

  /** Servers a test stopped: started again after it, even when it failed or timed out midway. */
  const stoppedNodes = new Set<string>();
  function startStoppedNodes(): void {
    for (const node of stoppedNodes) execFileSync('bash', [SERVICES_SCRIPT, 'nats-start', node], { stdio: 'ignore' });
    stoppedNodes.clear();
  }
  after(startStoppedNodes);

  function stopNode(node: string): void {
    stoppedNodes.add(node);
    execFileSync('bash', [SERVICES_SCRIPT, 'nats-stop', node], { stdio: 'ignore' });
  }

  /** Starts the servers again and waits until `stream` has all its replicas current on them. */
  async function startNodes(nodes: readonly string[], stream: string): Promise<void> {
    for (const node of nodes) {
      execFileSync('bash', [SERVICES_SCRIPT, 'nats-start', node], { stdio: 'ignore' });
      stoppedNodes.delete(node);
    }
    await replicasCurrent(stream);
  }

  /** Waits until every replica of `stream` is online and current (after a server came back, it catches up first). */
  async function replicasCurrent(stream: string): Promise<ClusterInfo> {
    const deadline = Date.now() + CLUSTER_WAIT_MS;
    let cluster: ClusterInfo | undefined;
    for (;;) {
      // Right after a server loss the cluster may briefly answer that it has no such stream.
      cluster = await admin.jsm.streams.info(stream).then((i) => i.cluster, () => undefined);
      const replicas = cluster?.replicas ?? [];
      if (cluster?.leader && replicas.length === 2 && replicas.every((r) => r.current && !r.offline)) return cluster;
      if (Date.now() > deadline) assert.fail(`stream ${stream}'s replicas are not all current: ${JSON.stringify(cluster)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Polls `done` until it holds; past `CLUSTER_WAIT_MS`, asks the instance where it is and fails with what
   * it said, so a stall is reported with its cause instead of running into the test's timeout.
   */
  async function waitUntil(done: () => Promise<boolean>, what: string, child: FailoverChild): Promise<void> {
    const deadline = Date.now() + CLUSTER_WAIT_MS;
    while (!await done()) {
      if (Date.now() > deadline) {
        child.process.kill('SIGUSR2');
        await new Promise((r) => setTimeout(r, 1_000));
        assert.fail(`${what}: not within ${CLUSTER_WAIT_MS / 1000} s; the instance's ${child.said()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The newest committed batch in the checkpoint (-1: none); retention keeps only a few, so their count says nothing. */
  async function lastCommitted(storage: JetStreamStorage): Promise<number> {
    return Math.max(-1, ...(await storage.list('commits')).map(Number).filter(Number.isInteger));
  }

  test('store fault: the checkpoint stream\'s leader, then a follower, stopped and restarted during a run: nothing lost or doubled',
    { timeout: 300_000, skip: existsSync(SERVICES_SCRIPT) ? false : 'no services script' },
    async (t) => {
      const run = await newRun(true);
      const query = instance(run, 'only', false);
      const storage = new JetStreamStorage(run.config.checkpoint);
      try {
        await query.active;
        const bucketStream = `KV_weir_${run.config.checkpoint.split('/').pop()!}`;
        const running = (): boolean => query.process.exitCode === null;
        for (const [i, role] of (['leader', 'follower'] as const).entries()) {
          await waitUntil(async () => !running() || await lastCommitted(storage) >= 1 + 4 * i, `batch ${1 + 4 * i} committed`, query);
          const cluster = await replicasCurrent(bucketStream);
          const name = role === 'leader' ? cluster.leader : cluster.replicas?.[0]?.name;
          const node = /^weir-([123])$/.exec(name ?? '')?.[1];
          assert.ok(node, `the services script names its servers weir-1..3; the ${role} is ${name}`);
          t.diagnostic(`stopping the ${role}, server ${name}, after batch ${await lastCommitted(storage)}`);
          stopNode(node);
          // The query goes on with two of three servers; wait until it committed another batch.
          const committed = await lastCommitted(storage);
          await waitUntil(async () => !running() || await lastCommitted(storage) > committed,
            `a batch after ${committed} committed with server ${name} stopped`, query);
          await startNodes([node], bucketStream);
        }
        const ended = await query.exited;
        assert.equal(ended.code, 0, ended.stderr);
        assert.deepEqual(await outputLines(run.outputStream), expectedCounts());
        // weir inspect reads the replicated checkpoint as it reads a folder.
        const report = await inspectCheckpoint(run.config.checkpoint);
        assert.ok(report.batches.length > 0 && report.batches.every((b) => b.committed));
        assert.equal(report.state.length, 1);
        // Only the window of the last event is still open (the watermark closed the others): its count is 1.
        const state = (await dumpState(run.config.checkpoint, 0)).map((line) => JSON.parse(line) as { value: unknown[] });
        assert.deepEqual(state.map((entry) => entry.value.slice(0, 3)), [[1_000_000, 'z', 1]]);
        // weir checkpoint copy: JetStream -> a local folder -> JetStream again; each copy reads the same.
        const folder = join(run.root, 'backup');
        const restored = location();
        const copied = await copyCheckpoint(run.config.checkpoint, folder);
        assert.ok(copied.files > 3);
        assert.deepEqual(await copyCheckpoint(folder, restored), copied);
        for (const copy of [folder, restored]) {
          assert.deepEqual({ ...await inspectCheckpoint(copy), checkpoint: '' }, { ...report, checkpoint: '' });
          assert.deepEqual(await dumpState(copy, 0), await dumpState(run.config.checkpoint, 0));
        }
        await assert.rejects(copyCheckpoint(folder, restored),
          (err: unknown) => err instanceof CheckpointError && err.code === 'CHECKPOINT_NOT_EMPTY');
      } finally {
        query.process.kill('SIGKILL');
        // A failed run must not leave a server stopped for the tests after it.
        startStoppedNodes();
        await storage.close();
        await rm(run.root, { recursive: true, force: true });
      }
    });

  test('orphaned objects: a state object that no entry names (its writer died before the entry) is deleted by the next holder',
    async () => {
      const where = location();
      const first = new JetStreamStorage(where);
      const next = new JetStreamStorage(where);
      try {
        const lock = await first.lock({ queryId: 'q', runId: 'r1' }, { leaseTimeoutMs: 60_000 });
        // The holder's sweep runs in the background from the lock on: let it end before an orphan exists.
        assert.equal(await first.orphanSweep(), 0, 'the first holder found none');
        const objects = await new Objm(admin.js).open(`weir_${where.split('/').pop()!}`);
        const kept = encodeDelta([['k', 1]]);
        await first.writeAtomic('state/0/0/1.delta', kept, { overwrite: true });
        // What a writer killed between its object and its entry leaves: the object of batch 2, named by nothing.
        const orphan = `${fileKey('state/0/0/2.delta')}@${randomUUID()}`;
        await objects.putBlob({ name: orphan }, encodeDelta([['k', 2]]));
        // A file replaced: its writer deletes the old object itself (not an orphan).
        await first.writeAtomic('state/0/0/1.delta', kept, { overwrite: true });
        await lock.release();
        const names = async (): Promise<string[]> => (await objects.list()).filter((o) => !o.deleted).map((o) => o.name).sort();
        assert.equal((await names()).length, 2);
        const taken = await next.lock({ queryId: 'q', runId: 'r2' }, { leaseTimeoutMs: 60_000 });
        assert.equal(await next.orphanSweep(), 1);
        assert.equal((await names()).length, 1);
        assert.ok(!(await names()).includes(orphan));
        // A write of the new holder in flight while it sweeps again is not taken for an orphan.
        const big = Buffer.alloc(600 * 1024, 3);
        const [, swept] = await Promise.all([next.writeAtomic('state/0/0/3.delta', big, { overwrite: true }), next.deleteOrphanedObjects()]);
        assert.equal(swept, 0);
        assert.equal((await names()).length, 2);
        assert.deepEqual(await next.read('state/0/0/1.delta'), kept);
        assert.deepEqual(await next.read('state/0/0/3.delta'), big);
        assert.equal(await next.read('state/0/0/2.delta'), null);
        await taken.release();
      } finally {
        await first.close();
        await next.close();
      }
    });

  // ---- warm standby: the takeover uses the state the standby followed, only when it is exactly right ----

  /** A run whose input is published in two halves: the second when the test says (after a takeover). */
  async function newSplitRun(availableNow: boolean): Promise<Run & { publishRest(): Promise<void> }> {
    const input = await newStream();
    const output = await newStream();
    const events = crashInput();
    const half = Math.floor(events.length / 2);
    for (const e of events.slice(0, half)) await admin.js.publish(`${input.prefix}.in`, JSON.stringify(e));
    return {
      config: { checkpoint: location(), natsUrl: url, inputStream: input.stream, outputSubject: `${output.prefix}.counts`,
        leaseTimeoutMs: 1_000, availableNow },
      outputStream: output.stream, root: await mkdtemp(join(tmpdir(), 'weir-standby-')),
      publishRest: async () => {
        for (const e of events.slice(half)) await admin.js.publish(`${input.prefix}.in`, JSON.stringify(e));
      },
    };
  }

  interface Takeover { ms: number; warm: boolean; fromBatch: number | null; stateRows: number; waitedMs: number; coldReason?: string }

  async function takeoverOf(child: FailoverChild, line: 'takeover' | 'progress-takeover'): Promise<Takeover> {
    return JSON.parse((await child.line(new RegExp(`^${line} (.*)$`)))[1]!) as Takeover;
  }

  test('warm standby: the active is SIGKILLed with its folder deleted; the standby takes over on the state it followed',
    { timeout: 300_000 }, async (t) => {
      const run = await newSplitRun(false);
      const active = instance(run, 'active', true);
      let standby: FailoverChild | null = null;
      try {
        await active.active;
        standby = instance(run, 'standby', true);
        // The standby's copy has followed a few of the active's commits (each windowed count keeps state).
        const followed = Number((await standby.line(/^following ([3-9]|\d\d+) (\d+)$/))[1]);
        active.process.kill('SIGKILL');
        await active.exited;
        await rm(join(run.root, 'active'), { recursive: true, force: true });
        await run.publishRest();
        const started = await takeoverOf(standby, 'takeover');
        const reported = await takeoverOf(standby, 'progress-takeover');
        assert.deepEqual(reported, started, 'the first batch after the takeover reports it');
        assert.equal(reported.warm, true, `cold takeover: ${reported.coldReason}`);
        assert.equal(reported.coldReason, undefined);
        assert.ok(reported.fromBatch !== null && reported.fromBatch >= followed);
        assert.ok(reported.stateRows > 0, 'the warm copy held the open windows');
        await waitForOutput(run.outputStream, expectedCounts().length, [standby]);
        assert.deepEqual(await outputLines(run.outputStream), expectedCounts());
        t.diagnostic(`followed batch ${followed}; takeover ${JSON.stringify(reported)}`);
      } finally {
        active.process.kill('SIGKILL');
        standby?.process.kill('SIGKILL');
        await rm(run.root, { recursive: true, force: true });
      }
    });

  test('warm standby: a copy ahead of the checkpoint, or whose delta is not the checkpoint\'s file, is not used: a cold load, exact output',
    { timeout: 300_000 }, async (t) => {
      for (const mismatch of ['ahead', 'other bytes'] as const) {
        const run = await newSplitRun(true);
        const first = instance(run, 'first', false);
        const holder = new JetStreamStorage(run.config.checkpoint);
        let standby: FailoverChild | null = null;
        try {
          assert.equal((await first.exited).code, 0, 'the first half runs to its end');
          const last = (await holder.list('commits')).map(Number).reduce((a, b) => Math.max(a, b));
          // The test holds the lease (as an active would) while the standby follows, then changes the checkpoint.
          const lock = await holder.lock({ queryId: 'test', runId: 'test' }, { leaseTimeoutMs: 60_000 });
          standby = instance(run, 'standby', true);
          await standby.line(new RegExp(`^following ${last} `));
          if (mismatch === 'ahead') {
            // The checkpoint goes back one batch (as a restored copy would): the standby's copy is ahead.
            await holder.delete(`commits/${last}`);
            await holder.delete(`offsets/${last}`);
          } else {
            // The last version's delta rewritten with the same meaning but other bytes (a removal of a key never set).
            const path = `state/0/0/${last}.delta`;
            const records = decodeRecords((await holder.read(path))!, 'state-delta', path).records;
            await holder.writeAtomic(path, encodeDelta([...records, ['never-set']]), { overwrite: true });
          }
          await run.publishRest();
          await lock.release();
          const takeover = await takeoverOf(standby, 'takeover');
          assert.equal(takeover.warm, false, `${mismatch}: the warm copy was used`);
          assert.match(takeover.coldReason ?? '', mismatch === 'ahead' ? /ahead of the last committed batch/ : /not the file the warm copy applied/);
          assert.equal(takeover.fromBatch, mismatch === 'ahead' ? last - 1 : last);
          const ended = await standby.exited;
          assert.equal(ended.code, 0, `${mismatch}: the standby ended with ${ended.code}: ${ended.stderr.slice(-3000)}`);
          assert.deepEqual(await outputLines(run.outputStream), expectedCounts());
          t.diagnostic(`${mismatch}: ${JSON.stringify(takeover)}`);
        } finally {
          first.process.kill('SIGKILL');
          standby?.process.kill('SIGKILL');
          await holder.close();
          await rm(run.root, { recursive: true, force: true });
        }
      }
    });
  test('replicated ingest: with two of three servers down a request is refused with 503 and Retry-After; ' +
    'every acknowledged record arrives exactly once after they are back', { timeout: 300_000 }, async () => {
    const name = `ingest${process.pid}_${n++}`;
    const stream = `WEIR_INGEST_${name}`;
    streams.push(stream);
    const folder = await mkdtemp(join(tmpdir(), 'weir-ingest-'));
    const source = makeSource({ port: 0, wal: `nats://${hosts}/${name}` });
    await source.open({ storage: new PrefixedStorage(new FileSystemStorage(folder), 'sources/0'), queryId: 'q', notifyDataAvailable: () => {} });
    const ingest = `http://127.0.0.1:${source.port}`;
    // Request i holds records 2i and 2i+1, under key k<i>.
    const send = (i: number): Promise<Reply> => post(ingest, jsonLines(records(2 * i, 2)), { 'idempotency-key': `k${i}` });
    try {
      for (let i = 0; i < 4; i++) assert.equal((await send(i)).status, 200);
      const cluster = await replicasCurrent(stream);
      const down = [cluster.leader, cluster.replicas?.[0]?.name].map((s) => /^weir-([123])$/.exec(s ?? '')?.[1] ?? '');
      assert.ok(down.every((node) => node !== ''), `servers weir-1..3 expected, got ${down.join(', ')}`);
      for (const node of down) stopNode(node);
      const refused = await Promise.all([4, 5, 6].map(send));
      for (const reply of refused) {
        assert.equal(reply.status, 503, JSON.stringify(reply.body));
        assert.ok(Number(reply.headers.get('retry-after')) > 0, 'a 503 says when to come back');
        assert.match(String(reply.body.error), /majority of the stream's NATS servers/);
      }
      await startNodes(down, stream);
      // The clients retry what was refused, with the same keys: what had landed unacknowledged is not doubled.
      for (const i of [4, 5, 6, 7]) {
        for (;;) {
          const reply = await send(i);
          if (reply.status === 200) break;
          assert.equal(reply.status, 503, JSON.stringify(reply.body));
          await new Promise((r) => setTimeout(r, 1000 * Number(reply.headers.get('retry-after'))));
        }
      }
      const end = await source.latestOffset(null);
      const rows = await source.getBatch(null, end!);
      assert.deepEqual(rows.map((r) => r['n']).sort((a, b) => Number(a) - Number(b)), records(0, 16).map((r) => r['n']));
    } finally {
      startStoppedNodes();
      await source.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});


/** Every file of the checkpoint with its bytes, to compare before and after. */
async function snapshot(storage: JetStreamStorage): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const name of await storage.list(dir)) {
      const path = dir === '' ? name : `${dir}/${name}`;
      const data = await storage.read(path);
      if (data !== null && !/^c\./.test(path)) out[path] = data.toString('base64');
      await walk(path);
    }
  };
  await walk('');
  return out;
}
