import { Checkpoint } from '../checkpoint/checkpoint.js';
import { CheckpointPaths } from '../checkpoint/layout.js';
import { PrefixedStorage } from '../checkpoint/prefixed-storage.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { errorMessage } from '../common/errors.js';
import { StatefulOperator } from '../exec/physical.js';
import { StateStoreProvider } from '../state/state-store.js';

/** How often a standby looks for a new commit: a takeover then has at most this much of deltas to apply. */
const POLL_MS = 200;

export interface FollowerSettings {
  readonly storage: CheckpointStorage;
  readonly provider: StateStoreProvider;
  readonly snapshotInterval: number;
  /** Called each time the warm copies reach a newer committed batch. */
  readonly onFollowed: (batchId: number, stateRows: number) => void;
}

/**
 * What a standby does while it waits for the lease: keeps a warm copy of every stateful operator's state
 * at the checkpoint's last committed batch, by watching the commit log and applying each new commit's
 * state deltas (read only; it writes nothing). A copy is started at the first commit seen, with the
 * partition count that batch's offsets entry logged. Failures to read are retried at the next look: the
 * takeover checks the copies anyway, and loads cold when they are not exactly right.
 */
export class StandbyFollower {
  private followed: { batchId: number; numPartitions: number } | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly loop: Promise<void>;
  /** The last failure to follow (kept for the takeover's report), or null. */
  lastProblem: string | null = null;

  constructor(private readonly checkpoint: Checkpoint, private readonly operators: readonly StatefulOperator[],
    private readonly settings: FollowerSettings) {
    this.loop = operators.length === 0 ? Promise.resolve() : this.run();
  }

  /** Stops following (waiting for an advance in progress); returns the partition count of the copies, or null without any. */
  async stop(): Promise<number | null> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    return this.followed?.numPartitions ?? null;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.followLatest();
        this.lastProblem = null;
      } catch (err) {
        this.lastProblem = errorMessage(err);
      }
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, POLL_MS).unref();
      });
    }
  }

  private async followLatest(): Promise<void> {
    const latest = await this.checkpoint.commits.latestId();
    if (latest === null || latest === this.followed?.batchId) return;
    if (this.followed === null) {
      const logged = await this.checkpoint.offsets.get(latest);
      if (logged === null) return; // purged meanwhile: the next look finds a newer commit
      const numPartitions = logged.conf.numStatePartitions;
      const { storage, provider, snapshotInterval } = this.settings;
      const following = await Promise.all(this.operators.map((op, i) => op.follow({
        storage: new PrefixedStorage(storage, CheckpointPaths.operatorState(i)), provider, numPartitions,
        version: latest, snapshotInterval,
      })));
      if (following.some((f) => !f)) {
        this.stopped = true; // the provider cannot follow: the takeover loads cold
        return;
      }
      this.followed = { batchId: latest, numPartitions };
    } else {
      await Promise.all(this.operators.map((op) => op.advanceFollowers(latest)));
      this.followed = { ...this.followed, batchId: latest };
    }
    this.settings.onFollowed(latest, this.operators.reduce((n, op) => n + op.followedRows(), 0));
  }
}
