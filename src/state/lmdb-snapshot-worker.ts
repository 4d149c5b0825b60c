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
import { openWorkingCopyReader, WorkingCopyReader } from './lmdb-working-copy.js';
import type { LmdbSnapshotJob, LmdbSnapshotReply } from './lmdb-snapshots.js';
import { SnapshotEncoder, StateRecord } from './state-files.js';
import { partitionOf } from './state-store.js';

const SNAPSHOT_CHUNK = 65_536;

/** Above this many keys, the snapshot reads the copy once per partition (see below). */
const ONE_READ_MAX_KEYS = 2_000_000;

/** One partition's snapshot, encoded in chunks: a partition of a large state as one array of records would take gigabytes of heap. */
class PartitionSnapshot {
  private readonly encoder = new SnapshotEncoder();
  private chunk: StateRecord[] = [];

  add(record: StateRecord): void {
    this.chunk.push(record);
    if (this.chunk.length === SNAPSHOT_CHUNK) {
      this.encoder.add(this.chunk);
      this.chunk = [];
    }
  }

  finish(): Buffer {
    this.encoder.add(this.chunk);
    return this.encoder.finish();
  }
}

parentPort?.on('message', (job: LmdbSnapshotJob) => {
  void (async (): Promise<void> => {
    let reader: WorkingCopyReader | null = null;
    let outcome: LmdbSnapshotReply | null = null;
    try {
      reader = openWorkingCopyReader(job.copyPath);
      if (reader.version !== job.version) {
        await closeQuietly(reader);
        reader = null;
        parentPort!.postMessage({ kind: 'pinned', written: false } satisfies LmdbSnapshotReply);
        return;
      }
      parentPort!.postMessage({ kind: 'pinned', written: true } satisfies LmdbSnapshotReply);
      const storage = new FileSystemStorage(job.storeRoot);
      // All partitions in one read of the copy while their encoded records fit in memory together (a
      // read costs more than the encoding); a larger state is read once per partition, one in memory at a time.
      const perRead = reader.count <= ONE_READ_MAX_KEYS ? job.numPartitions : 1;
      for (let first = 0; first < job.numPartitions; first += perRead) {
        const partitions = Array.from({ length: perRead }, () => new PartitionSnapshot());
        for (const { key: bytes, value } of reader.entries()) {
          const key = decodeStateKey(bytes);
          partitions[partitionOf(key, job.numPartitions) - first]?.add([key, unpackData(value)]);
        }
        for (const [i, partition] of partitions.entries()) {
          await storage.writeAtomic(StateStorePaths.snapshot(first + i, job.version), partition.finish(), { overwrite: true });
        }
      }
      outcome = { kind: 'done', error: null };
    } catch (err) {
      outcome = { kind: 'done', error: errorMessage(err) };
    } finally {
      // Closed before the store hears anything that lets it close the environment: LMDB's environment is
      // shared by the process's threads, and a close racing this thread's crashes the process.
      if (reader !== null) await closeQuietly(reader);
      if (outcome !== null) parentPort!.postMessage(outcome);
    }
  })();
});

/** A failed close of a read view loses nothing (it wrote nothing); the snapshot's own outcome is what counts. */
async function closeQuietly(reader: WorkingCopyReader): Promise<void> {
  await reader.close().catch(() => undefined);
}
