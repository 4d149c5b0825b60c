import { Checkpoint } from '../checkpoint/checkpoint.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { StreamingQueryProgress } from '../engine/progress.js';

/** One batch as the checkpoint has it, with its durations when a progress record is kept. */
export interface CheckpointBatch {
  readonly batchId: number;
  readonly committed: boolean;
  readonly timestamp: string;
  readonly watermark: string;
  readonly offsets: readonly unknown[];
  readonly sink: string | null;
  readonly durationMs: Readonly<Record<string, number>> | null;
}

/** A stateful operator's files: per partition, the newest snapshot version and the deltas after it. */
export interface StateFilesView {
  readonly operator: number;
  readonly partitions: readonly { readonly partition: number; readonly newestSnapshot: number | null;
    readonly deltasAfterSnapshot: number; readonly newestVersion: number | null }[];
}

export interface CheckpointView {
  readonly location: string;
  readonly batches: readonly CheckpointBatch[];
  readonly state: readonly StateFilesView[];
}

/**
 * The newest `limit` batches of a live checkpoint and its state files, for the fault-tolerance view.
 * The query keeps writing meanwhile: names that are not entries yet (a write's temp file) are passed
 * over, and an entry purged between listing and reading is left out.
 */
export async function readCheckpointView(storage: CheckpointStorage, history: readonly StreamingQueryProgress[],
  limit: number): Promise<CheckpointView> {
  const checkpoint = new Checkpoint(storage);
  const ids = (await numbered(storage, 'offsets')).slice(-limit);
  const committed = new Set(await numbered(storage, 'commits'));
  const progressOf = new Map(history.map((p) => [p.batchId, p]));
  const batches = await Promise.all(ids.map(async (batchId): Promise<CheckpointBatch | null> => {
    const offsets = await checkpoint.offsets.get(batchId);
    if (!offsets) return null;
    const commit = committed.has(batchId) ? await checkpoint.commits.get(batchId) : null;
    return {
      batchId, committed: commit !== null, timestamp: new Date(offsets.batchTimestampMs).toISOString(),
      watermark: new Date(offsets.batchWatermarkMs).toISOString(), offsets: offsets.sources, sink: commit?.sink ?? null,
      durationMs: progressOf.get(batchId)?.durationMs ?? null,
    };
  }));
  const operators = await numbered(storage, 'state');
  const state = await Promise.all(operators.map(async (operator): Promise<StateFilesView> => {
    const partitions = await numbered(storage, `state/${operator}`);
    return {
      operator,
      partitions: await Promise.all(partitions.map(async (partition) => {
        const files = (await storage.list(`state/${operator}/${partition}`))
          .map((name) => /^(\d+)\.(delta|snapshot)$/.exec(name)).filter((m): m is RegExpExecArray => m !== null)
          .map((m) => ({ version: Number(m[1]), snapshot: m[2] === 'snapshot' }));
        const snapshots = files.filter((f) => f.snapshot).map((f) => f.version);
        const newestSnapshot = snapshots.length > 0 ? Math.max(...snapshots) : null;
        const versions = files.map((f) => f.version);
        return {
          partition, newestSnapshot, newestVersion: versions.length > 0 ? Math.max(...versions) : null,
          deltasAfterSnapshot: files.filter((f) => !f.snapshot && f.version > (newestSnapshot ?? -1)).length,
        };
      })),
    };
  }));
  return { location: storage.description, batches: batches.filter((b): b is CheckpointBatch => b !== null), state };
}

/** The numeric names in a folder, ascending. */
async function numbered(storage: CheckpointStorage, folder: string): Promise<number[]> {
  return (await storage.list(folder)).filter((name) => /^\d+$/.test(name)).map(Number).sort((a, b) => a - b);
}
