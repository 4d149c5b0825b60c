/**
 * Checkpoint storage as a worker thread's state stores see it. The main thread stays the only writer
 * of the checkpoint (it holds the lock, and a JetStream lease fences writes by their sender), so a
 * worker's reads and writes are requests to the main thread, which runs them on the query's storage.
 */
import { MappedStorage } from '../../checkpoint/mapped-storage.js';
import { CheckpointLock, CheckpointStorage } from '../../checkpoint/storage.js';
import { WeirError } from '../../common/errors.js';

export type StorageCall =
  | { readonly op: 'read'; readonly path: string }
  | { readonly op: 'writeAtomic'; readonly path: string; readonly data: Uint8Array; readonly overwrite: boolean }
  | { readonly op: 'list'; readonly path: string }
  | { readonly op: 'delete'; readonly path: string };

export type StorageResult = Uint8Array | string[] | null | undefined;

/** Runs a worker's storage call on the main thread's storage. */
export async function serveStorageCall(storage: CheckpointStorage, call: StorageCall): Promise<StorageResult> {
  switch (call.op) {
    case 'read': return storage.read(call.path);
    case 'writeAtomic':
      await storage.writeAtomic(call.path, Buffer.from(call.data.buffer, call.data.byteOffset, call.data.byteLength),
        { overwrite: call.overwrite });
      return undefined;
    case 'list': return storage.list(call.path);
    case 'delete': await storage.delete(call.path); return undefined;
  }
}

/** The worker's side: each call goes to the main thread through `send` and resolves with its answer. */
export class RemoteStorage implements CheckpointStorage {
  constructor(readonly description: string, private readonly send: (call: StorageCall) => Promise<StorageResult>) {}

  locate(path: string): string {
    return path === '' ? this.description : `${this.description}/${path}`;
  }

  async read(path: string): Promise<Buffer | null> {
    const data = await this.send({ op: 'read', path }) as Uint8Array | null;
    return data === null ? null : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  async writeAtomic(path: string, data: Buffer, options: { overwrite: boolean }): Promise<void> {
    await this.send({ op: 'writeAtomic', path, data, overwrite: options.overwrite });
  }

  async list(dir: string): Promise<string[]> {
    return await this.send({ op: 'list', path: dir }) as string[];
  }

  async delete(path: string): Promise<void> {
    await this.send({ op: 'delete', path });
  }

  lock(): Promise<CheckpointLock> {
    throw new WeirError('INTERNAL', 'A worker thread never locks the checkpoint: the main thread holds the lock.');
  }
}

/**
 * One state partition's folder presented as partition 0 of a one-partition store: a worker runs one
 * operator instance per partition it owns, each with a store of its own, and the files land where a
 * store of all partitions would put that partition's (`<partition>/<version>.delta`).
 */
export class SinglePartitionView extends MappedStorage {
  readonly description: string;

  constructor(inner: CheckpointStorage, private readonly partition: number) {
    super(inner);
    this.description = inner.description;
  }

  protected full(path: string): string {
    if (path === '0') return String(this.partition);
    return path.startsWith('0/') ? `${this.partition}/${path.slice(2)}` : path;
  }
}
