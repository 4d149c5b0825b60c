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
import { encodeSnapshot, StateRecord } from './state-files.js';
import { partitionOf } from './state-store.js';

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
        const records: StateRecord[] = [];
        for (const { key: bytes, value } of reader.entries()) {
          const key = decodeStateKey(bytes);
          if (partitionOf(key, job.numPartitions) === p) records.push([key, unpackData(value)]);
        }
        await storage.writeAtomic(StateStorePaths.snapshot(p, job.version), encodeSnapshot(records), { overwrite: true });
      }
      parentPort!.postMessage({ kind: 'done', error: null } satisfies LmdbSnapshotReply);
    } catch (err) {
      parentPort!.postMessage({ kind: 'done', error: errorMessage(err) } satisfies LmdbSnapshotReply);
    } finally {
      await reader?.close();
    }
  })();
});
