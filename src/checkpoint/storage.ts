import { CheckpointError } from '../common/errors.js';

/**
 * All checkpoint I/O goes through this interface so the local file system is only the embedded
 * default: an object store can implement the same five operations. Paths are relative to the
 * checkpoint root and use '/' separators.
 */
export interface CheckpointStorage {
  /** Human-readable location, used in error messages. */
  readonly description: string;
  /** The absolute path of the checkpoint folder when it is on the local disk (for a WAL appended in place, or maintenance in a worker thread). */
  readonly localRoot?: string;
  /**
   * The full location of a relative path, for messages only: it need not be a file path. Code that needs
   * a real local file uses `localRoot` (see `localPath` in layout.ts), which refuses a storage without one.
   */
  locate(path: string): string;
  /** The file's bytes, or null when it does not exist. */
  read(path: string): Promise<Buffer | null>;
  /**
   * Writes the file so that a reader sees either nothing (or the old file) or all of it, and it
   * survives a crash once this resolves. With `overwrite: false` the write fails with
   * {@link FileExistsError} when the name is taken: two writers on one log are detected, not merged.
   */
  writeAtomic(path: string, data: Buffer, options: { overwrite: boolean }): Promise<void>;
  /**
   * The SHA-256 (hex) of a file's bytes, or null when it does not exist. Optional: a storage that keeps
   * the digest with each file answers without reading the bytes (a standby checks its warm state so).
   */
  sha256?(path: string): Promise<string | null>;
  /** Names (not paths) directly inside a folder; empty when the folder does not exist. */
  list(dir: string): Promise<string[]>;
  /** Removes a file or a folder tree; absent paths are fine. */
  delete(path: string): Promise<void>;
  /**
   * Takes the single-writer lock of the checkpoint, or fails saying who holds it. With `standby` it waits
   * until the holder's lease expires instead; a storage that has no leases refuses `standby`.
   */
  lock(owner: LockOwner, options?: LockOptions): Promise<CheckpointLock>;
  /** Lets go of connections (storages that hold some); a later call opens them again. */
  close?(): Promise<void>;
  /** Storages with leases: the FENCED error once another process took this one's lease over (it may write nothing more). */
  fenceError?(): CheckpointError | null;
}

export interface LockOwner { readonly queryId: string; readonly runId: string }
export interface LockOptions {
  /** Wait for the holder to go away (its lease to expire) instead of failing. */
  readonly standby?: boolean;
  /** How long a holder that stopped renewing its lease keeps it (storages with leases). */
  readonly leaseTimeoutMs?: number;
}
export interface CheckpointLock {
  /** Throws when another process has taken the lock over (this one was judged gone): its holder must stop writing. */
  assertHeld(): void;
  release(): Promise<void>;
  /** When this lock was taken over from a holder that went away: how long the wait for it took, in ms. */
  readonly takeoverMs?: number;
}

export class FileExistsError extends Error {
  constructor(readonly path: string) {
    super(`${path} already exists`);
  }
}

/** For storages without leases: a standby could only wait on a lock file that the holder's machine may take down with it. */
export function refuseStandby(description: string, options: LockOptions | undefined): void {
  if (options?.standby) {
    throw new CheckpointError('STANDBY_UNSUPPORTED', description, `option 'standby' needs a checkpoint with leases; ` +
      `${description} has none. Put the checkpoint on JetStream (checkpointLocation 'nats://host:port/<name>').`);
  }
}
