/** Query plumbing shared by the workloads: temp folders and the start of a query writing result files. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointStorage, DataFrame, OutputMode, StreamingQuery, Weir } from '../../src/index.js';
import { timeWithCpu } from './measure.js';

export function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `weir-bench-${label}-`));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/**
 * Starts `df` writing JSON-lines files into `out` (the exactly-once file sink) through the public
 * writer API, as fast as batches can run. The checkpoint is a folder, or a storage object given to
 * `writeStream.checkpointStorage` (W5 compares disk with memory that way).
 */
export function startToFiles(df: DataFrame, checkpoint: string | CheckpointStorage, out: string,
  mode: OutputMode = 'append', stateStoreProvider = 'memory'): Promise<StreamingQuery> {
  const writer = df.writeStream.format('json').outputMode(mode).trigger({ processingTime: 0 })
    .option('stateStoreProvider', stateStoreProvider);
  return (typeof checkpoint === 'string' ? writer.option('checkpointLocation', checkpoint) : writer.checkpointStorage(checkpoint))
    .start(out);
}

/**
 * One timed run of `build`'s query to files on a fresh checkpoint until everything available is
 * committed: wall and CPU seconds, and the rows the sink wrote. Both folders are removed after.
 */
export async function timedRunToFiles(weir: Weir, label: string, build: () => DataFrame):
  Promise<{ seconds: number; cpuSeconds: number; outputRows: number }> {
  let outputRows = 0;
  weir.streams.addListener({ onQueryProgress: (e) => { outputRows += e.progress.sink.numOutputRows; } });
  const [checkpoint, out] = [await tempDir(`${label}-checkpoint`), await tempDir(`${label}-out`)];
  try {
    const timed = await timeWithCpu(async () => {
      const query = await startToFiles(build(), checkpoint, out);
      await query.processAllAvailable();
      return query;
    });
    await timed.result.stop();
    return { seconds: timed.seconds, cpuSeconds: timed.cpuSeconds, outputRows };
  } finally {
    await Promise.all([removeDir(checkpoint), removeDir(out)]);
  }
}
