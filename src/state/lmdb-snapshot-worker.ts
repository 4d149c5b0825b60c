/**
 * The worker thread of lmdb-snapshots.ts: writes version N's snapshot files of a local checkpoint from
 * the lmdb working copy, read inside one LMDB read transaction (a consistent view of version N while
 * the store goes on committing), one partition in memory at a time.
 */
import { parentPort } from 'node:worker_threads';
import { FileSystemStorage } from '../checkpoint/fs-storage.js';
import { StateStorePaths } from '../checkpoint/layout.js';
import { errorMessage } from '../common/errors.js';
import { decodeStateKey } from './binary-keys.js';
import { unpackData } from './lmdb-value-format.js';
import { openWorkingCopyReader } from './lmdb-working-copy.js';
import type { LmdbSnapshotJob, LmdbSnapshotReply } from './lmdb-snapshots.js';
import { SnapshotEncoder, StateRecord } from './state-files.js';
import { partitionOf } from './state-store.js';

const SNAPSHOT_CHUNK = 65_536;

parentPort?.on('message', (job: LmdbSnapshotJob) => {
  void (async (): Promise<void> => {
    let reader: ReturnType<typeof openWorkingCopyReader> | null = null;
    try {
      reader = openWorkingCopyReader(job.copyPath);
      const pinned = reader.version === job.version;
      parentPort!.postMessage({ kind: 'pinned', written: pinned } satisfies LmdbSnapshotReply);
      if (!pinned) return;
      const storage = new FileSystemStorage(job.storeRoot);
      for (let p = 0; p < job.numPartitions; p++) {
        // In chunks: a partition of a large state as one array of records would take gigabytes of heap.
        const snapshot = new SnapshotEncoder();
        let chunk: StateRecord[] = [];
        for (const { key: bytes, value } of reader.entries()) {
          const key = decodeStateKey(bytes);
          if (partitionOf(key, job.numPartitions) !== p) continue;
          chunk.push([key, unpackData(value)]);
          if (chunk.length === SNAPSHOT_CHUNK) {
            snapshot.add(chunk);
            chunk = [];
          }
        }
        snapshot.add(chunk);
        await storage.writeAtomic(StateStorePaths.snapshot(p, job.version), snapshot.finish(), { overwrite: true });
      }
      parentPort!.postMessage({ kind: 'done', error: null } satisfies LmdbSnapshotReply);
    } catch (err) {
      parentPort!.postMessage({ kind: 'done', error: errorMessage(err) } satisfies LmdbSnapshotReply);
    } finally {
      await reader?.close();
    }
  })();
});
