import { Checkpoint } from '../checkpoint/checkpoint.js';
import { StatefulOperator } from '../exec/physical.js';

/** Purging every batch costs a listing per log; every tenth keeps them bounded just as well. */
const PURGE_EVERY_BATCHES = 10;

/**
 * Keeps the newest `minBatchesToRetain` batches of the offset log, the commit log and the state files
 * (Spark's `minBatchesToRetain`). Purges run off the batch path (one waits for a state snapshot in
 * progress, which made every tenth batch slow): they only delete what no re-run needs, and a failure
 * stops the query at its next batch through {@link throwIfFailed}.
 */
export class LogRetention {
  private purging: Promise<void> = Promise.resolve();
  private failure: { readonly error: unknown } | null = null;

  constructor(private readonly checkpoint: Checkpoint, private readonly stateful: readonly StatefulOperator[],
    private readonly minBatchesToRetain: number) {}

  /** Batch `batchId` committed: starts a purge of what falls out of the retained window, when one is due. */
  afterCommit(batchId: number): void {
    const oldest = batchId - this.minBatchesToRetain + 1;
    if (oldest <= 0 || batchId % PURGE_EVERY_BATCHES !== 0) return;
    this.purging = this.purging.then(async () => {
      await this.checkpoint.offsets.purgeBefore(oldest);
      await this.checkpoint.commits.purgeBefore(oldest);
      await Promise.all(this.stateful.map((op) => op.purgeBefore(oldest)));
    }).catch((error: unknown) => { this.failure ??= { error }; });
  }

  throwIfFailed(): void {
    if (this.failure !== null) throw this.failure.error;
  }

  /** Waits for the purge in progress, if any (its failure is kept for {@link throwIfFailed}). */
  settled(): Promise<void> {
    return this.purging;
  }
}
