import * as nodePath from 'node:path';
import { CheckpointError } from '../common/errors.js';
import { CheckpointLock, CheckpointStorage, LockOptions, LockOwner } from './storage.js';

/** A view of one folder of a checkpoint, handed to a source or a state store as its private space. */
export class PrefixedStorage implements CheckpointStorage {
  readonly description: string;
  readonly localRoot?: string;

  constructor(private readonly inner: CheckpointStorage, private readonly prefix: string) {
    this.description = inner.locate(prefix);
    if (inner.localRoot !== undefined) this.localRoot = nodePath.join(inner.localRoot, ...prefix.split('/'));
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

  fenceError(): CheckpointError | null {
    return this.inner.fenceError?.() ?? null;
  }

  private full(path: string): string {
    return path === '' ? this.prefix : `${this.prefix}/${path}`;
  }
}
