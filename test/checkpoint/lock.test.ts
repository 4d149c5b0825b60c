/**
 * The checkpoint lock: a dead holder's lock is taken over even when its pid is reused (node is PID 1 in
 * every container), a live holder's never is, and of several processes taking over one stale lock at
 * most one wins.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface, Interface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { judgeHolder, LOCK_HEARTBEAT_WATCH_MS, LockHolder, thisProcessView } from '../../src/checkpoint/fs-lock.js';
import { CheckpointError } from '../../src/common/errors.js';
import { Weir } from '../../src/index.js';
import { removeTempDirs, startMemory, tempDir } from '../api/helpers.js';
import { mulberry32, testSeed } from '../connectors/harness.js';

after(removeTempDirs);

const CONTENDER = fileURLToPath(new URL('./lock-contender.js', import.meta.url));
const owner = { queryId: 'q', runId: 'r' };

/** A holder record as this process would write it, with `changes`. */
function holder(changes: Partial<LockHolder>): LockHolder {
  const view = thisProcessView();
  return {
    queryId: 'earlier', runId: 'earlier-run', token: 'not-ours', host: view.host, pid: view.pid, bootId: view.bootId,
    pidNamespace: view.pidNamespace, startTime: view.startTimeOf(view.pid), since: 'then', ...changes,
  };
}

async function writeGeneration(checkpoint: string, generation: number, record: LockHolder): Promise<string> {
  await mkdir(join(checkpoint, '.lock'), { recursive: true });
  const path = join(checkpoint, '.lock', String(generation));
  await writeFile(path, JSON.stringify(record));
  return path;
}

const onLinux = thisProcessView().bootId !== null && thisProcessView().startTimeOf(process.pid) !== null;

describe('checkpoint lock: who holds it', () => {
  test('a lock file of an older weir recorded with this process\'s pid is a dead holder\'s (a container restarted)', async () => {
    const dir = await tempDir();
    // What an older weir in a container left after a kill -9: node was PID 1 then and is PID 1 again now.
    await writeFile(join(dir, '.lock'), JSON.stringify({ pid: process.pid, queryId: 'q0', runId: 'r0', since: 'then' }));
    const lock = await new FileSystemStorage(dir).lock(owner);
    await lock.release();
  });

  test('a lock with this process\'s pid but another start time is a dead holder\'s (pid reused)', { skip: !onLinux }, async () => {
    const dir = await tempDir();
    const view = thisProcessView();
    await writeGeneration(dir, 3, holder({ startTime: String(Number(view.startTimeOf(process.pid)) - 1) }));
    const lock = await new FileSystemStorage(dir).lock(owner);
    assert.deepEqual(await readdir(join(dir, '.lock')), ['4'], 'the new holder is the next generation; the dead one is gone');
    assert.equal((JSON.parse(await readFile(join(dir, '.lock', '4'), 'utf8')) as LockHolder).queryId, 'q');
    await lock.release();
  });

  test('a lock of the machine\'s previous boot is a dead holder\'s', { skip: !onLinux }, async () => {
    const dir = await tempDir();
    await writeGeneration(dir, 1, holder({ bootId: 'an-earlier-boot' }));
    await (await new FileSystemStorage(dir).lock(owner)).release();
  });

  test('a second query of this process is refused, and the holder is named', async () => {
    const dir = await tempDir();
    const first = await new FileSystemStorage(dir).lock({ queryId: 'first-query', runId: 'run-1' });
    try {
      await assert.rejects(new FileSystemStorage(dir).lock(owner), (err: CheckpointError) => {
        assert.equal(err.code, 'CHECKPOINT_IN_USE');
        assert.match(err.message, new RegExp(`in use by query first-query \\(run run-1, process ${process.pid} on `));
        return true;
      });
    } finally {
      await first.release();
    }
  });

  test('a holder this process cannot see (another PID namespace) is judged by its heartbeat', { skip: !onLinux }, async () => {
    const unseen = holder({ pidNamespace: 'pid:[another-container]', pid: 1 });
    assert.equal(judgeHolder(unseen, thisProcessView()), 'unknown');
    assert.equal(judgeHolder(holder({ host: 'another-host' }), thisProcessView()), 'unknown');

    const beating = await tempDir();
    const path = await writeGeneration(beating, 1, unseen);
    const heart = setInterval(() => { void utimes(path, new Date(), new Date()); }, 200);
    try {
      await assert.rejects(new FileSystemStorage(beating).lock(owner), (err: CheckpointError) => {
        assert.equal(err.code, 'CHECKPOINT_IN_USE');
        assert.match(err.message, /cannot see \(another container or host\) that keeps its heartbeat/);
        return true;
      });
    } finally {
      clearInterval(heart);
    }

    const silent = await tempDir();
    await writeGeneration(silent, 1, unseen);
    const started = Date.now();
    await (await new FileSystemStorage(silent).lock(owner)).release();
    assert.ok(Date.now() - started >= LOCK_HEARTBEAT_WATCH_MS - 50, 'a silent holder is taken over only after watching it');
  });
});

describe('checkpoint lock: losing it', () => {
  test('a query whose lock another process took over stops, saying so', async () => {
    const dir = await tempDir();
    const weir = new Weir();
    const input = weir.memoryStream('n LONG');
    const query = await startMemory(input.toDF(), 'fenced', { checkpoint: dir });
    input.addData([{ n: 1 }]);
    await query.processAllAvailable();
    // What a process that judged this one gone (paused past the heartbeat watch) leaves: the next generation.
    const [mine] = await readdir(join(dir, '.lock'));
    await writeGeneration(dir, Number(mine) + 1, holder({ queryId: 'successor', token: 'theirs', pidNamespace: 'pid:[elsewhere]' }));
    await assert.rejects(query.awaitTermination(), (err: Error) => {
      assert.match(err.message, /was taken over by another process \(generation \d+\) while this query held it/);
      assert.equal((err.cause as CheckpointError).code, 'CHECKPOINT_LOCK_LOST');
      return true;
    });
    assert.deepEqual(weir.memorySink('fenced').rows, [{ n: 1 }]);
  });
});

/** A contender process, answering one line per command. */
interface Contender { readonly child: ChildProcess; readonly lines: Interface; next(): Promise<string> }

function startContender(): Contender {
  const child = spawn(process.execPath, [CONTENDER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => { const w = waiting.shift(); if (w) w(line); else queue.push(line); });
  return {
    child, lines,
    next: () => new Promise<string>((resolve) => { const line = queue.shift(); if (line !== undefined) resolve(line); else waiting.push(resolve); }),
  };
}

const send = (c: Contender, line: string): void => { c.child.stdin!.write(`${line}\n`); };

describe('checkpoint lock: taking over a stale lock', () => {
  test('of several processes taking over one dead holder\'s lock at once, exactly one wins, every round', async (t) => {
    const seed = testSeed(t);
    const random = mulberry32(seed);
    const ROUNDS = 40;
    const CONTENDERS = 4;
    // Dead holders' locks to start each round from: one of this version (a process killed while holding
    // it) and one of an older weir (a pid that no longer runs).
    const template = await tempDir('weir-lock-template-');
    const victim = startContender();
    send(victim, `hold-and-wait ${template}`);
    assert.equal(await victim.next(), 'held');
    victim.child.kill('SIGKILL');
    await once(victim.child, 'exit');
    const contenders = Array.from({ length: CONTENDERS }, startContender);
    t.after(() => { for (const c of contenders) c.child.kill('SIGKILL'); });
    const doubleWins: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const checkpoint = await tempDir('weir-lock-race-');
      if (random() < 0.5) await cp(join(template, '.lock'), join(checkpoint, '.lock'), { recursive: true });
      else await writeFile(join(checkpoint, '.lock'), JSON.stringify({ pid: victim.child.pid, queryId: 'old', runId: 'old', since: 'then' }));
      for (const c of contenders) send(c, `try ${checkpoint} ${Math.floor(random() * 3)}`);
      const answers = await Promise.all(contenders.map((c) => c.next()));
      const wins = answers.filter((a) => a === 'won').length;
      assert.deepEqual(answers.filter((a) => a !== 'won' && a !== 'refused CHECKPOINT_IN_USE'), [], `seed ${seed}, round ${round}`);
      if (wins !== 1) doubleWins.push(round);
      assert.ok(wins >= 1, `seed ${seed}, round ${round}: nobody took over the dead holder's lock (${answers.join(', ')})`);
      for (const c of contenders) send(c, 'release');
      await Promise.all(contenders.map((c) => c.next()));
    }
    assert.deepEqual(doubleWins, [], `seed ${seed}: rounds in which more than one process took the lock`);
    for (const c of contenders) c.child.stdin!.end();
    await Promise.all(contenders.map((c) => once(c.child, 'exit')));
  });
});
