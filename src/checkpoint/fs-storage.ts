import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import { retryOnDescriptorShortage } from '../common/descriptor-shortage.js';
import { syncDir, writeFileSynced } from '../common/durable-files.js';
import { CheckpointError, errorMessage } from '../common/errors.js';
import { CheckpointLock, CheckpointStorage, FileExistsError, LockOwner } from './storage.js';

const LOCK_FILE = '.lock';

/** Checkpoint storage on the local file system: temp file, fsync, rename (or link), fsync of the folder. */
export class FileSystemStorage implements CheckpointStorage {
  readonly description: string;
  readonly localRoot: string;
  private readonly madeDirs = new Set<string>();

  constructor(private readonly root: string) {
    this.root = nodePath.resolve(root);
    this.description = this.root;
    this.localRoot = this.root;
  }

  locate(path: string): string {
    return nodePath.join(this.root, path);
  }

  async read(path: string): Promise<Buffer | null> {
    const file = this.locate(path);
    try {
      return await retryOnDescriptorShortage(file, () => fs.readFile(file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError('read', this.locate(path), err);
    }
  }

  async writeAtomic(path: string, data: Buffer, options: { overwrite: boolean }): Promise<void> {
    const target = this.locate(path);
    const dir = nodePath.dirname(target);
    await this.ensureDir(dir);
    const temp = nodePath.join(dir, `.${nodePath.basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFileSynced(temp, data, 'wx');
      if (options.overwrite) {
        await fs.rename(temp, target);
      } else {
        // link() fails when the name exists, which rename() would silently replace.
        try {
          await fs.link(temp, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(target);
          throw err;
        }
        await fs.unlink(temp);
      }
      await syncDir(dir);
    } catch (err) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      if (err instanceof FileExistsError) throw err;
      throw ioError('write', target, err);
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      const folder = this.locate(dir);
      return (await retryOnDescriptorShortage(folder, () => fs.readdir(folder))).filter((n) => !n.endsWith('.tmp'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError('list', this.locate(dir), err);
    }
  }

  async delete(path: string): Promise<void> {
    await fs.rm(this.locate(path), { recursive: true, force: true });
  }

  async lock(owner: LockOwner): Promise<CheckpointLock> {
    await this.ensureDir(this.root);
    const lockPath = this.locate(LOCK_FILE);
    const content = JSON.stringify({ pid: process.pid, ...owner, since: new Date().toISOString() });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.writeFile(lockPath, content, { flag: 'wx' });
        return { release: () => fs.rm(lockPath, { force: true }) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('lock', lockPath, err);
      }
      const holder = await readLockHolder(lockPath);
      if (holder && processAlive(holder.pid)) {
        throw new CheckpointError('CHECKPOINT_IN_USE', lockPath,
          `Checkpoint ${this.root} is in use by query ${holder.queryId} (run ${holder.runId}, process ${holder.pid}, ` +
            `since ${holder.since}). Stop that query first, or give this query its own checkpointLocation.`);
      }
      // The holder died without releasing (kill -9): its lock is stale and safe to take over.
      await fs.rm(lockPath, { force: true });
    }
    throw new CheckpointError('CHECKPOINT_IN_USE', lockPath,
      `Could not take the lock ${lockPath}: another process keeps taking it. Run one query per checkpoint.`);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (err) {
      throw ioError('create folder', dir, err);
    }
    this.madeDirs.add(dir);
  }
}

interface LockHolder { pid: number; queryId: string; runId: string; since: string }

async function readLockHolder(lockPath: string): Promise<LockHolder | null> {
  try {
    return JSON.parse(await fs.readFile(lockPath, 'utf8')) as LockHolder;
  } catch {
    return null; // unreadable or half-written by a process that died: treat as stale
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ioError(action: string, path: string, err: unknown): CheckpointError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = code === 'ENOSPC' ? ' The disk is full: free space and restart the query; nothing was committed.'
    : code === 'EACCES' || code === 'EPERM' ? ' Check the permissions of the checkpoint folder.'
      : '';
  return new CheckpointError(code === 'ENOSPC' ? 'DISK_FULL' : 'CHECKPOINT_IO', path,
    `Could not ${action} ${path}: ${errorMessage(err)}.${hint}`, { cause: err });
}
