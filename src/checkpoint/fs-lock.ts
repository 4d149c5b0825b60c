/**
 * The single-writer lock of a checkpoint on the local file system.
 *
 * Who holds it: the lock folder holds numbered generations; the holder is the creator of the highest
 * one. A file is created with link(), which fails when the name exists, so of all processes that
 * judge generation g's holder dead, exactly one creates g + 1; a process that then finds a generation
 * above its own backs off. Nothing is ever deleted to take a lock over, so a slow process cannot
 * remove a lock that a faster one just took (the race of read-delete-recreate).
 *
 * Whether the holder is alive: a pid alone does not say (in a container node is PID 1 after every
 * restart; pids are reused). A generation records the holder's pid with, on Linux, the machine's boot
 * id, the holder's PID namespace and its start time from /proc/<pid>/stat: the same boot, namespace,
 * pid and start time is the same process. A holder this process cannot see (another PID namespace, i.e.
 * another container or a restarted one, another host, or a system without /proc whose pid is in use)
 * is judged by its heartbeat: a holder touches its generation every second, and a contender watches
 * it for a few seconds; no touch means the holder is gone.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import * as nodePath from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { syncDir, writeFileSynced } from '../common/durable-files.js';
import { CheckpointError } from '../common/errors.js';
import { checkpointIoError as ioError } from './io-error.js';
import { CheckpointLock, LockOwner } from './storage.js';

export const LOCK_HEARTBEAT_MS = 1_000;
/** How long a contender watches a holder it cannot see for a heartbeat (a few heartbeats, for slow disks and busy holders). */
export const LOCK_HEARTBEAT_WATCH_MS = 3_500;
/** Rounds of judging and claiming before giving up: each lost round means another process moved the lock meanwhile. */
const MAX_ROUNDS = 16;

/** What a generation file records about its holder. */
export interface LockHolder {
  readonly queryId: string;
  readonly runId: string;
  /** Random per acquisition: tells this process's own locks from another's with the same pid. */
  readonly token: string;
  readonly host: string;
  readonly pid: number;
  /** Linux only: /proc/sys/kernel/random/boot_id, the PID namespace and the start time (clock ticks after boot). */
  readonly bootId: string | null;
  readonly pidNamespace: string | null;
  readonly startTime: string | null;
  readonly since: string;
}

/** What this process can see of the machine it runs on. */
export interface ProcessView {
  readonly host: string;
  readonly pid: number;
  readonly bootId: string | null;
  readonly pidNamespace: string | null;
  /** A running process's start time, null when no such process runs (or it is a zombie) or /proc is missing. */
  startTimeOf(pid: number): string | null;
  /** Whether a process with this pid exists (it may be another process that reused the pid). */
  pidInUse(pid: number): boolean;
}

export type Liveness = 'alive' | 'dead' | 'unknown';

/** Tokens of the locks this process holds now. */
const heldTokens = new Set<string>();

/** Judges a holder from what this process can see; 'unknown' means only its heartbeat can tell. */
export function judgeHolder(holder: LockHolder, view: ProcessView): Liveness {
  if (heldTokens.has(holder.token)) return 'alive';
  if (holder.host !== view.host) return 'unknown';
  if (holder.bootId !== null && view.bootId !== null) {
    if (holder.bootId !== view.bootId) return 'dead'; // this machine restarted since: every process of that boot is gone
    if (holder.pidNamespace === null || holder.pidNamespace !== view.pidNamespace || holder.startTime === null) return 'unknown';
    return view.startTimeOf(holder.pid) === holder.startTime ? 'alive' : 'dead';
  }
  // No /proc: the pid alone. Ours is not the holder (its token is not ours); a free pid means a dead holder.
  if (holder.pid === view.pid || !view.pidInUse(holder.pid)) return 'dead';
  return 'unknown';
}

/** The lock files of weir versions before generations: `{ pid, queryId, runId, since }`, alive while the pid runs. */
function judgeLegacyHolder(pid: number, view: ProcessView): Liveness {
  return pid !== view.pid && view.pidInUse(pid) ? 'alive' : 'dead';
}

export function thisProcessView(): ProcessView {
  return {
    host: hostname(), pid: process.pid, bootId: readOrNull(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()),
    pidNamespace: readOrNull(() => readlinkSync('/proc/self/ns/pid')),
    startTimeOf: (pid) => readOrNull(() => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime field 22.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] === 'Z' || fields[0] === 'X' ? null : fields[19] ?? null;
    }),
    pidInUse: (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
  };
}

function readOrNull(read: () => string | null): string | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/** Takes the lock in folder `lockDir` for `owner`, or fails naming the live holder. `checkpoint` names the checkpoint in messages. */
export async function acquireLock(lockDir: string, owner: LockOwner, checkpoint: string,
  view: ProcessView = thisProcessView()): Promise<CheckpointLock> {
  const me: LockHolder = {
    ...owner, token: randomBytes(12).toString('hex'), host: view.host, pid: view.pid, bootId: view.bootId,
    pidNamespace: view.pidNamespace, startTime: view.startTimeOf(view.pid), since: new Date().toISOString(),
  };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (!(await prepareFolder(lockDir, view, checkpoint))) continue;
    const top = (await generations(lockDir)).at(-1);
    if (top !== undefined) {
      const verdict = await judgeGeneration(lockDir, top, view);
      if (verdict === 'changed') continue;
      if (verdict !== 'dead') throw inUse(checkpoint, lockDir, verdict.holder, verdict.how);
    }
    const mine = (top ?? 0) + 1;
    if (!(await claim(lockDir, mine, me))) continue;
    const above = (await generations(lockDir)).filter((g) => g > mine);
    if (above.length > 0) {
      // Someone took the lock over from a generation this process had not seen yet: theirs stands.
      await fs.rm(generationPath(lockDir, mine), { force: true });
      continue;
    }
    return holdLock(lockDir, mine, me, checkpoint);
  }
  throw new CheckpointError('CHECKPOINT_IN_USE', lockDir,
    `Could not take the lock of ${checkpoint}: other processes kept taking it over while this one tried. ` +
      'Run one query per checkpoint.');
}

/** Makes sure `lockDir` is a folder; a lock file of an older weir is judged, and removed when its holder is gone. */
async function prepareFolder(lockDir: string, view: ProcessView, checkpoint: string): Promise<boolean> {
  let info;
  try {
    info = await fs.lstat(lockDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('read the lock', lockDir, err);
    await fs.mkdir(lockDir, { recursive: true }).catch((e: unknown) => { throw ioError('create the lock folder', lockDir, e); });
    return true;
  }
  if (info.isDirectory()) return true;
  const legacy = await readJson(lockDir) as { pid?: unknown; queryId?: unknown; runId?: unknown; since?: unknown } | null;
  if (legacy !== null && typeof legacy.pid === 'number' && judgeLegacyHolder(legacy.pid, view) === 'alive') {
    throw inUse(checkpoint, lockDir, {
      queryId: String(legacy.queryId), runId: String(legacy.runId), pid: legacy.pid, host: view.host, since: String(legacy.since),
    }, 'a running process (lock written by an older weir)');
  }
  // unlink() removes only the old file: if another process already made the folder, it fails and this round is retried.
  await fs.unlink(lockDir).catch(() => undefined);
  return false;
}

async function generations(lockDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(lockDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError('list the lock folder', lockDir, err);
  }
  return names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
}

const generationPath = (lockDir: string, generation: number): string => nodePath.join(lockDir, String(generation));

type GenerationVerdict = 'dead' | 'changed' | { readonly holder: LockHolder; readonly how: string };

async function judgeGeneration(lockDir: string, generation: number, view: ProcessView): Promise<GenerationVerdict> {
  const path = generationPath(lockDir, generation);
  const holder = await readJson(path) as LockHolder | null;
  if (holder === null) return (await exists(path)) ? 'dead' : 'changed'; // unreadable: no holder can be named, none can be judged alive
  const liveness = judgeHolder(holder, view);
  if (liveness === 'alive') return { holder, how: 'a running process' };
  if (liveness === 'dead') return 'dead';
  const heartbeat = await watchHeartbeat(path);
  if (heartbeat === 'gone') return 'changed';
  return heartbeat === 'beating' ? { holder, how: 'a process this one cannot see (another container or host) that keeps its heartbeat' } : 'dead';
}

async function watchHeartbeat(path: string): Promise<'beating' | 'still' | 'gone'> {
  const before = await mtimeOf(path);
  if (before === null) return 'gone';
  await sleep(LOCK_HEARTBEAT_WATCH_MS);
  const after = await mtimeOf(path);
  return after === null ? 'gone' : after !== before ? 'beating' : 'still';
}

/** Creates generation `generation` with the holder record, whole or not at all; false when it exists already. */
async function claim(lockDir: string, generation: number, me: LockHolder): Promise<boolean> {
  const target = generationPath(lockDir, generation);
  const temp = nodePath.join(lockDir, `.${generation}.${me.token}.tmp`);
  try {
    await writeFileSynced(temp, Buffer.from(JSON.stringify(me)), 'wx');
    await fs.link(temp, target);
    await syncDir(lockDir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError('write the lock', target, err);
  } finally {
    await fs.rm(temp, { force: true }).catch(() => undefined);
  }
}

async function holdLock(lockDir: string, generation: number, me: LockHolder, checkpoint: string): Promise<CheckpointLock> {
  heldTokens.add(me.token);
  const path = generationPath(lockDir, generation);
  // Older generations are dead holders' records; a process that re-creates one sees this generation above it and backs off.
  for (const older of (await generations(lockDir)).filter((g) => g < generation)) {
    await fs.rm(generationPath(lockDir, older), { force: true }).catch(() => undefined);
  }
  let lost: CheckpointError | null = null;
  const heartbeat = setInterval(() => {
    const now = new Date();
    fs.utimes(path, now, now).catch(() => undefined); // a missed beat only lets a watcher decide later
    // A process that judged this one gone (paused past a watcher's patience, say) holds a higher generation now.
    void generations(lockDir).then((all) => {
      const above = all.filter((g) => g > generation);
      if (lost !== null || (above.length === 0 && all.includes(generation))) return;
      lost = new CheckpointError('CHECKPOINT_LOCK_LOST', path, above.length > 0
        ? `The lock of ${checkpoint} was taken over by another process (generation ${above.at(-1)}) while this query ` +
          `held it (generation ${generation}): that process judged this one gone, e.g. because it was paused longer ` +
          `than ${LOCK_HEARTBEAT_WATCH_MS} ms. This query stops so that only one writes the checkpoint.`
        : `The lock file ${path} of this query was removed by someone else. This query stops so that only one writes the checkpoint.`);
    }, () => undefined);
  }, LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  return {
    assertHeld: () => {
      if (lost !== null) throw lost;
    },
    release: async () => {
      clearInterval(heartbeat);
      heldTokens.delete(me.token);
      try {
        await fs.rm(path, { force: true });
      } catch (err) {
        throw ioError('release the lock', path, err);
      }
    },
  };
}

function inUse(checkpoint: string, lockDir: string, holder: Pick<LockHolder, 'queryId' | 'runId' | 'pid' | 'host' | 'since'>,
  how: string): CheckpointError {
  return new CheckpointError('CHECKPOINT_IN_USE', lockDir,
    `Checkpoint ${checkpoint} is in use by query ${holder.queryId} (run ${holder.runId}, process ${holder.pid} on ` +
      `${holder.host}, since ${holder.since}), ${how}. Stop that query first, or give this query its own checkpointLocation.`);
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(path, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

async function mtimeOf(path: string): Promise<number | null> {
  try {
    return (await fs.stat(path)).mtimeMs;
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await mtimeOf(path)) !== null;
}
