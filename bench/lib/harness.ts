/** Query plumbing shared by the workloads: temp folders and the start of a query writing result files. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointStorage, DataFrame, OutputMode, StreamingQuery } from '../../src/index.js';

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
