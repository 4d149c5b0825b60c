/** Query plumbing shared by the workloads: temp folders, the result sink, and a start on any storage. */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataFrame, StreamingQuery as Query } from '../../src/index.js';
import { StreamingQuery } from '../../src/api/query.js';
import { CheckpointStorage } from '../../src/checkpoint/storage.js';
import { AnalysisError } from '../../src/common/errors.js';
import { Options } from '../../src/common/options.js';
import { Row } from '../../src/common/schema.js';
import { MicroBatchExecution } from '../../src/engine/micro-batch.js';
import { ListenerBus } from '../../src/engine/progress.js';
import { planPhysical } from '../../src/exec/planner.js';
import { checkStreamingPlan, resultKeyColumns } from '../../src/plan/streaming-rules.js';
import { ForeachBatchFunction, foreachBatchSink } from '../../src/connectors/foreach-batch/sink.js';
import { createSink } from '../../src/sinks/registry.js';
import { OutputMode } from '../../src/common/output-mode.js';
import { Sink } from '../../src/sinks/sink.js';
import { inMemoryStateProvider } from '../../src/state/memory-provider.js';
import { StateStoreProvider } from '../../src/state/state-store.js';

export function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `weir-bench-${label}-`));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** True once the json file sink is registered (it is being written concurrently with this suite). */
export function fileSinkRegistered(): boolean {
  try {
    createSink({ format: 'json', options: new Options({}, 'json sink'), path: join(tmpdir(), 'weir-bench-probe') });
    return true;
  } catch (err) {
    if (err instanceof AnalysisError && err.code === 'UNKNOWN_FORMAT') return false;
    return true; // registered, just unhappy with the probe's options
  }
}

export const FILE_SINK_NOTE = 'json file sink not registered yet: results go through foreachBatch writing one ' +
  'JSON-lines file per batch with fsync (a stand-in with the file sink\'s I/O, minus its manifest)';

/** The stand-in for the file sink: each non-empty batch becomes `part-<batchId>.json`, fsynced. */
export function fsyncedFileWriter(dir: string): ForeachBatchFunction {
  return async (rows: Row[], batchId: number) => {
    if (rows.length === 0) return;
    const handle = await open(join(dir, `part-${String(batchId).padStart(6, '0')}.json`), 'w');
    try {
      await handle.writeFile(rows.map((r) => JSON.stringify(r)).join('\n'));
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
}

/** Starts `df` writing JSON-lines files into `out` through the public writer API. */
export function startToFiles(df: DataFrame, checkpoint: string, out: string, mode: OutputMode = 'append'): Promise<Query> {
  const writer = df.writeStream.outputMode(mode).option('checkpointLocation', checkpoint).trigger({ processingTime: 0 });
  return fileSinkRegistered() ? writer.format('json').start(out) : writer.foreachBatch(fsyncedFileWriter(out)).start();
}

/** The same choice as a Sink object, for `startOnStorage`. */
export function fileResultSink(out: string): Sink {
  return fileSinkRegistered()
    ? createSink({ format: 'json', options: new Options({}, 'json sink'), path: out })
    : foreachBatchSink(fsyncedFileWriter(out));
}

export interface DirectStart {
  readonly storage: CheckpointStorage;
  readonly sink: Sink;
  readonly mode: OutputMode;
  readonly listeners: ListenerBus;
  readonly stateStoreProvider?: StateStoreProvider;
}

/**
 * Starts a query on a checkpoint storage and state store provider of the caller's choosing (W5:
 * memory vs disk; W6: a provider that times commits). Users cannot do this: DataStreamWriter always
 * checkpoints to the file system, and a user-facing "checkpoint in memory" option would invite
 * running without durability by mistake. So the suite wires MicroBatchExecution itself from the
 * internal modules, exactly as DataStreamWriter.start does minus option parsing; no engine code
 * changes, and both sides of W5 go through this same function so that only the storage differs.
 */
export async function startOnStorage(df: DataFrame, opts: DirectStart): Promise<Query> {
  checkStreamingPlan(df.plan, opts.mode);
  const physical = planPhysical(df.plan);
  const execution = new MicroBatchExecution({
    name: null, storage: opts.storage, plan: physical, statefulFingerprint: ['bench'],
    outputMode: opts.mode, sink: opts.sink, keyColumns: resultKeyColumns(df.plan),
    trigger: { kind: 'processingTime', intervalMs: 0 }, minBatchesToRetain: 100, numStatePartitions: 4,
    stateSnapshotInterval: 10, stateStoreProvider: opts.stateStoreProvider ?? inMemoryStateProvider,
    multipleWatermarkPolicy: 'min', idlePollMs: 10, listeners: opts.listeners, recentProgressSize: 100,
  });
  await execution.start();
  return new StreamingQuery(execution, df.plan, physical.root, null);
}
