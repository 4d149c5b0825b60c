import { CheckpointError } from '../common/errors.js';
import { CheckpointLock, CheckpointStorage, FileExistsError, LockOptions, LockOwner, refuseStandby } from './storage.js';

/**
 * Checkpoint storage held in memory: no durability at all. It exists to measure what durability
 * costs (the same engine with and without disk) and for tests of the protocol logic.
 */
export class MemoryStorage implements CheckpointStorage {
  readonly description = 'memory';
  private readonly files = new Map<string, Buffer>();
  private locked = false;

  locate(path: string): string {
    return `memory:${path}`;
  }

  async read(path: string): Promise<Buffer | null> {
    return this.files.get(path) ?? null;
  }

  async writeAtomic(path: string, data: Buffer, options: { overwrite: boolean }): Promise<void> {
    if (!options.overwrite && this.files.has(path)) throw new FileExistsError(this.locate(path));
    this.files.set(path, Buffer.from(data));
  }

  async list(dir: string): Promise<string[]> {
    const prefix = dir === '' ? '' : `${dir}/`;
    const names = new Set<string>();
    for (const key of this.files.keys()) {
      if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split('/')[0]!);
    }
    return [...names];
  }

  async delete(path: string): Promise<void> {
    for (const key of [...this.files.keys()]) {
      if (key === path || key.startsWith(`${path}/`)) this.files.delete(key);
    }
  }

  async lock(owner: LockOwner, options?: LockOptions): Promise<CheckpointLock> {
    refuseStandby(this.description, options);
    if (this.locked) {
      throw new CheckpointError('CHECKPOINT_IN_USE', this.description,
        `In-memory checkpoint is in use by another query (this one is ${owner.queryId}).`);
    }
    this.locked = true;
    return { assertHeld: () => undefined, release: async () => { this.locked = false; } };
  }
}
