import { CheckpointError } from '../common/errors.js';
import { CheckpointLock, CheckpointStorage, LockOptions, LockOwner } from './storage.js';

/**
 * A checkpoint storage whose paths map onto another's: the base of the views a part of a query gets
 * (a folder of its own, one state partition seen as a whole store). Only the mapping differs.
 */
export abstract class MappedStorage implements CheckpointStorage {
  abstract readonly description: string;

  constructor(protected readonly inner: CheckpointStorage) {}

  /** The inner storage's path for `path` of this view. */
  protected abstract full(path: string): string;

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
}
