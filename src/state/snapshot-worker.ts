/** The worker thread of snapshot-writer.ts: rebuilds snapshots of a local state folder. */
import { parentPort } from 'node:worker_threads';
import { FileSystemStorage } from '../checkpoint/fs-storage.js';
import { errorMessage } from '../common/errors.js';
import type { SnapshotJob, SnapshotReply } from './snapshot-writer.js';
import { writeSnapshot } from './state-files.js';

parentPort?.on('message', (job: SnapshotJob) => {
  void (async (): Promise<SnapshotReply> => {
    try {
      const storage = new FileSystemStorage(job.root);
      for (let p = 0; p < job.numPartitions; p++) await writeSnapshot(storage, p, job.version);
      return { id: job.id, error: null };
    } catch (err) {
      return { id: job.id, error: errorMessage(err) };
    }
  })().then((reply) => parentPort!.postMessage(reply));
});
