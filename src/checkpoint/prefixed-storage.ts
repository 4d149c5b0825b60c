import * as nodePath from 'node:path';
import { CheckpointLock, CheckpointStorage, LockOptions, LockOwner } from './storage.js';

/** A view of one folder of a checkpoint, handed to a source or a state store as its private space. */
export class PrefixedStorage implements CheckpointStorage {
  readonly description: string;
  readonly localRoot?: string;
  readonly sha256?: (path: string) => Promise<string | null>;

  constructor(private readonly inner: CheckpointStorage, private readonly prefix: string) {
    this.description = inner.locate(prefix);
    if (inner.localRoot !== undefined) this.localRoot = nodePath.join(inner.localRoot, ...prefix.split('/'));
    if (inner.sha256) this.sha256 = (path) => inner.sha256!(this.full(path));
  }

  locate(path: string): string {
    return this.inner.locate(this.full(path));
  }

  read(path: string): Promise<Buffer | null> {
    return this.inner.read(this.full(path));
  }

  writeAtomic(path: string, data: Buffer, options: { overwrite: boolean }): Promise<void> {
    return this.inner.writeAtomic(this.full(path), data, options);
  }

  list(dir: string): Promise<string[]> {
    return this.inner.list(this.full(dir));
  }

  delete(path: string): Promise<void> {
    return this.inner.delete(this.full(path));
  }

  lock(owner: LockOwner, options?: LockOptions): Promise<CheckpointLock> {
    return this.inner.lock(owner, options);
  }

  private full(path: string): string {
    return path === '' ? this.prefix : `${this.prefix}/${path}`;
  }
}
