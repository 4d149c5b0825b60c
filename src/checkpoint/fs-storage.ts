import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import { retryOnDescriptorShortage } from '../common/descriptor-shortage.js';
import { syncDir, writeFileSynced } from '../common/durable-files.js';
import { acquireLock } from './fs-lock.js';
import { checkpointIoError as ioError } from './io-error.js';
import { CheckpointPaths } from './layout.js';
import { CheckpointLock, CheckpointStorage, FileExistsError, LockOptions, LockOwner, refuseStandby } from './storage.js';

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
      // A file is a folder with nothing inside, as on storages that have no folders.
      if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return [];
      throw ioError('list', this.locate(dir), err);
    }
  }

  async delete(path: string): Promise<void> {
    await fs.rm(this.locate(path), { recursive: true, force: true });
  }

  lock(owner: LockOwner, options?: LockOptions): Promise<CheckpointLock> {
    refuseStandby(this.description, options);
    return acquireLock(this.locate(CheckpointPaths.lock), owner, this.root);
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
