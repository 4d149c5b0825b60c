import { hostname } from 'node:os';
import { CheckpointLock, LockOptions, LockOwner } from '../../checkpoint/storage.js';
import { CheckpointError } from '../../common/errors.js';

/** The lease entry: who may write the checkpoint, under which epoch, and how long it holds without renewing. */
export interface LeaseRecord {
  readonly epoch: number;
  readonly queryId: string;
  readonly runId: string;
  /** `<host> pid <pid>`, for messages. */
  readonly holder: string;
  readonly leaseTimeoutMs: number;
  /** Counts renewals, so that every renewal is a different entry. */
  readonly renewal: number;
  /** Set by a clean stop: the next instance takes over at once. */
  readonly released: boolean;
}

export interface StoredLease { readonly revision: number; readonly record: LeaseRecord }

/** What a lease needs from the bucket that holds it (and whose writes it fences). */
export interface LeaseStore {
  readonly description: string;
  readLease(): Promise<StoredLease | null>;
  /** Writes `record` if the lease entry is still at `expectedRevision` (0: absent); from then on, writes carry its epoch. */
  takeLease(record: LeaseRecord, expectedRevision: number): Promise<boolean>;
  /** A fenced write of the lease entry by its holder. */
  writeLease(record: LeaseRecord): Promise<void>;
  /** The FENCED error once a write was refused because another process took the lease over. */
  fenceError(): CheckpointError | null;
  dropFence(reason: CheckpointError): void;
  /** Closes the connection; a later use opens it again. */
  close(): Promise<void>;
}

export const DEFAULT_LEASE_TIMEOUT_MS = 10_000;

/**
 * Takes the lease. A lease that is absent or released is taken at once. A held lease is taken only once
 * its revision has not changed for the holder's lease timeout, as measured on this machine's clock (no
 * clocks are compared across machines). Without `standby`, a holder seen renewing means the checkpoint is in use.
 */
export async function acquireLease(store: LeaseStore, owner: LockOwner, options: LockOptions): Promise<CheckpointLock> {
  const leaseTimeoutMs = options.leaseTimeoutMs ?? DEFAULT_LEASE_TIMEOUT_MS;
  const waitStarted = Date.now();
  let waited = false;
  let observed: { revision: number; since: number } | null = null;
  for (;;) {
    const current = await store.readLease();
    const expired = current !== null && observed !== null && observed.revision === current.revision &&
      Date.now() - observed.since >= current.record.leaseTimeoutMs;
    if (current === null || current.record.released || expired) {
      const record: LeaseRecord = {
        epoch: (current?.record.epoch ?? 0) + 1, queryId: owner.queryId, runId: owner.runId,
        holder: `${hostname()} pid ${process.pid}`, leaseTimeoutMs, renewal: 0, released: false,
      };
      if (await store.takeLease(record, current?.revision ?? 0)) {
        return new HeldLease(store, record, waited ? Date.now() - waitStarted : undefined);
      }
      observed = null; // another contender was faster: look again
      continue;
    }
    if (observed === null || observed.revision !== current.revision) {
      if (observed !== null && !options.standby) {
        throw new CheckpointError('CHECKPOINT_IN_USE', store.description, `The checkpoint ${store.description} is in ` +
          `use: run ${current.record.runId} on ${current.record.holder} holds its lease (epoch ${current.record.epoch}) ` +
          "and renews it. Stop that query first, or start this one with option('standby', true) to take over when it goes away.");
      }
      observed = { revision: current.revision, since: Date.now() };
    }
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, Math.min(current.record.leaseTimeoutMs / 4, 500)));
  }
}

/** A held lease: renewed every third of its timeout until released or fenced. */
class HeldLease implements CheckpointLock {
  private record: LeaseRecord;
  private readonly timer: NodeJS.Timeout;
  private renewing: Promise<void> = Promise.resolve();

  constructor(private readonly store: LeaseStore, record: LeaseRecord, readonly takeoverMs: number | undefined) {
    this.record = record;
    this.timer = setInterval(() => { this.renewing = this.renew(); }, Math.max(1, Math.floor(record.leaseTimeoutMs / 3)));
    this.timer.unref();
  }

  assertHeld(): void {
    const fenced = this.store.fenceError();
    if (fenced) throw fenced;
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
    try {
      if (this.store.fenceError() === null) {
        await this.store.writeLease({ ...this.record, released: true });
        this.store.dropFence(new CheckpointError('LOCK_RELEASED', this.store.description, `This process released the ` +
          `lease of ${this.store.description} and may no longer write to it; start the query again to write.`));
      }
    } finally {
      // The query is over: its open connection must not keep the process alive.
      await this.store.close();
    }
  }

  private async renew(): Promise<void> {
    if (this.store.fenceError() !== null) {
      clearInterval(this.timer);
      return;
    }
    const next = { ...this.record, renewal: this.record.renewal + 1 };
    try {
      await this.store.writeLease(next);
      this.record = next;
    } catch {
      // A lost quorum is retried at the next tick; a takeover has set the fence error that writes now throw.
    }
  }
}
