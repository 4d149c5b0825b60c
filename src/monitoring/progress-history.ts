import { BatchLog, LogCodec } from '../checkpoint/batch-log.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { QueryRecoveredEvent, StreamingQueryProgress } from '../engine/progress.js';

/** A codec of JSON records of one kind; `check` refuses a body that is not one (a foreign or corrupt file). */
function jsonCodec<T>(kind: string, check: (record: Partial<T>) => boolean, what: string): LogCodec<T> {
  return {
    kind,
    version: 1,
    encode: (record) => JSON.stringify(record),
    decode(body) {
      const record = JSON.parse(body) as Partial<T>;
      if (!check(record)) throw new Error(`not a ${what}`);
      return record as T;
    },
  };
}

const progressCodec = jsonCodec<StreamingQueryProgress>('progress',
  (p) => typeof p.batchId === 'number' && typeof p.durationMs === 'object', 'progress record');

const recoveryCodec = jsonCodec<QueryRecoveredEvent>('recovery',
  (e) => typeof e.nextBatchId === 'number' && typeof e.recoveryMs === 'number', 'recovery event');

/**
 * The last `keep` progress records and recovery events of a query, kept in its checkpoint under
 * `progress/batches/<batchId>` and `progress/recoveries/<n>` so the web UI's history survives a restart.
 * Monitoring data only: recovery never reads it, and writes happen off the batch path, one at a time.
 */
export class ProgressHistory {
  private readonly batches: BatchLog<StreamingQueryProgress>;
  private readonly recoveries: BatchLog<QueryRecoveredEvent>;
  private writes: Promise<void> = Promise.resolve();

  constructor(storage: CheckpointStorage, private readonly keep: number, private readonly onError: (err: unknown) => void) {
    this.batches = new BatchLog(storage, 'progress/batches', progressCodec);
    this.recoveries = new BatchLog(storage, 'progress/recoveries', recoveryCodec);
  }

  /** What earlier runs kept; queued behind the writes, since a listing must not see a write's temp file. */
  load(): Promise<{ progress: StreamingQueryProgress[]; recoveries: QueryRecoveredEvent[] }> {
    const loaded = this.writes.then(async () => ({
      progress: await this.newest(this.batches), recoveries: await this.newest(this.recoveries),
    }));
    this.writes = loaded.then(() => undefined, () => undefined);
    return loaded;
  }

  /** Queues the write; a batch re-run after a crash overwrites nothing (its record was never written). */
  recordProgress(progress: StreamingQueryProgress): void {
    this.enqueue(async () => {
      await this.batches.add(progress.batchId, progress).catch((err: unknown) => {
        if (!(err instanceof Error && 'code' in err && err.code === 'CONCURRENT_WRITER')) throw err;
      });
      if (progress.batchId % 10 === 0) await this.batches.purgeBefore(progress.batchId - this.keep + 1);
    });
  }

  recordRecovery(event: QueryRecoveredEvent): void {
    this.enqueue(async () => {
      const next = ((await this.recoveries.latestId()) ?? -1) + 1;
      await this.recoveries.add(next, event);
      await this.recoveries.purgeBefore(next - this.keep + 1);
    });
  }

  /** Resolves once every queued write is done. */
  flush(): Promise<void> {
    return this.writes;
  }

  private enqueue(write: () => Promise<void>): void {
    this.writes = this.writes.then(write).catch(this.onError);
  }

  private async newest<T>(log: BatchLog<T>): Promise<T[]> {
    const ids = (await log.batchIds()).slice(-this.keep);
    const entries = await Promise.all(ids.map((id) => log.get(id)));
    return entries.filter((e): e is Awaited<T> => e !== null) as T[];
  }
}
