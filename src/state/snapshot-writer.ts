/**
 * Snapshots run off the batch loop: rebuilding one means parsing the previous snapshot and every delta
 * since, which on a busy query took a tenth of the main thread. When the state lives in a local folder
 * a worker thread does it on another core; other storages rebuild on the main thread between awaits.
 */
import { Worker } from 'node:worker_threads';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { writeSnapshot } from './state-files.js';

export interface SnapshotJob {
  readonly id: number;
  readonly root: string;
  readonly numPartitions: number;
  readonly version: number;
}

export interface SnapshotReply {
  readonly id: number;
  readonly error: string | null;
}

interface Pending { resolve(): void; reject(err: Error): void }

let worker: Worker | null = null;
const pending = new Map<number, Pending>();
let nextJob = 0;

function snapshotWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./snapshot-worker.js', import.meta.url));
  w.on('message', (reply: SnapshotReply) => {
    const job = pending.get(reply.id);
    pending.delete(reply.id);
    if (pending.size === 0) w.unref(); // an idle worker must not keep the process alive
    if (reply.error === null) job?.resolve();
    else job?.reject(new Error(reply.error));
  });
  w.on('error', (err) => {
    worker = null;
    for (const job of pending.values()) job.reject(err);
    pending.clear();
  });
  worker = w;
  return w;
}

export async function writeSnapshotsInBackground(storage: CheckpointStorage, numPartitions: number, version: number): Promise<void> {
  const root = storage.localRoot;
  if (root === undefined) {
    for (let p = 0; p < numPartitions; p++) await writeSnapshot(storage, p, version);
    return;
  }
  const w = snapshotWorker();
  const id = nextJob++;
  const done = new Promise<void>((resolve, reject) => pending.set(id, { resolve, reject }));
  w.ref();
  w.postMessage({ id, root, numPartitions, version } satisfies SnapshotJob);
  await done;
}

/**
 * Schedules a background snapshot every `interval` committed versions, one at a time, so loading reads
 * few deltas and retention can drop old ones. A failed snapshot only means loading reads more deltas.
 */
export class SnapshotSchedule {
  private maintenance: Promise<void> = Promise.resolve();

  constructor(private readonly storage: CheckpointStorage, private readonly numPartitions: number,
    private readonly interval: number) {}

  committed(version: number): void {
    if (version <= 0 || version % this.interval !== 0) return;
    this.maintenance = this.maintenance.then(() => writeSnapshotsInBackground(this.storage, this.numPartitions, version))
      .catch(() => undefined);
  }

  /** Resolves when no snapshot is being written (before purging files or closing). */
  idle(): Promise<void> {
    return this.maintenance;
  }
}
