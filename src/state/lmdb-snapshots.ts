/**
 * Snapshots of the lmdb store: every `interval` versions, version N's snapshot files are written from
 * the working copy rather than rebuilt from the files (which would hold the whole state in one Map, the
 * memory this store exists to save). A worker thread reads the copy inside one LMDB read transaction;
 * the store's next commit waits only until that transaction has started, so the worker sees exactly N.
 * A checkpoint that is not a local folder gets the file-based snapshots (snapshot-writer.ts).
 */
import { Worker } from 'node:worker_threads';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { SnapshotSchedule } from './snapshot-writer.js';

export interface LmdbSnapshotJob {
  readonly copyPath: string;
  /** The store's folder on local disk. */
  readonly storeRoot: string;
  readonly numPartitions: number;
  readonly version: number;
}

export type LmdbSnapshotReply =
  | { readonly kind: 'pinned'; readonly written: boolean }
  | { readonly kind: 'done'; readonly error: string | null };

export class LmdbSnapshotSchedule {
  private maintenance: Promise<void> = Promise.resolve();
  private pinned: Promise<void> = Promise.resolve();
  private running = false;
  private readonly fromFiles: SnapshotSchedule;

  constructor(private readonly storage: CheckpointStorage, private readonly copyPath: string,
    private readonly numPartitions: number, private readonly interval: number) {
    this.fromFiles = new SnapshotSchedule(storage, numPartitions, interval);
  }

  committed(version: number): void {
    const storeRoot = this.storage.localRoot;
    if (storeRoot === undefined) {
      this.fromFiles.committed(version);
      return;
    }
    // One at a time, and a commit never waits for one to finish: while one is written, later ones are skipped.
    if (version <= 0 || version % this.interval !== 0 || this.running) return;
    this.running = true;
    let pinned!: () => void;
    this.pinned = new Promise((resolve) => { pinned = resolve; });
    const job: LmdbSnapshotJob = { copyPath: this.copyPath, storeRoot, numPartitions: this.numPartitions, version };
    // A failed snapshot only means loading and retention use older files.
    this.maintenance = runJob(job, pinned).catch(() => undefined).finally(() => {
      pinned();
      this.running = false;
    });
  }

  /** Resolves when a snapshot being started has fixed its view of the copy: the next commit may change it then. */
  beforeCommit(): Promise<void> {
    return this.pinned;
  }

  /** Resolves when no snapshot is being written (before purging files or closing). */
  async idle(): Promise<void> {
    await this.maintenance;
    await this.fromFiles.idle();
  }
}

function runJob(job: LmdbSnapshotJob, pinned: () => void): Promise<void> {
  const worker = new Worker(new URL('./lmdb-snapshot-worker.js', import.meta.url));
  return new Promise<void>((resolve, reject) => {
    worker.on('message', (reply: LmdbSnapshotReply) => {
      if (reply.kind === 'pinned') {
        pinned();
        if (!reply.written) resolve();
      } else if (reply.error === null) resolve();
      else reject(new Error(reply.error));
    });
    worker.on('error', reject);
    worker.on('exit', () => reject(new Error('the lmdb snapshot worker exited before it finished')));
    worker.postMessage(job);
  }).finally(() => worker.terminate());
}
