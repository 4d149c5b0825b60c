import { LogCodec } from './batch-log.js';

/** A source's position, as the source defines it; it must survive a JSON round trip. */
export type Offset = unknown;

/**
 * Settings that must not change under a running query, fixed by the first batch and carried by every
 * offsets entry (Spark's `OffsetSeqMetadata.conf`). A restart takes them from the log, not from its options.
 */
export interface BatchConf {
  /** How many partitions each stateful operator's state is split into. */
  readonly numStatePartitions: number;
  /** How the global watermark combines several `withWatermark` inputs. */
  readonly multipleWatermarkPolicy: 'min' | 'max';
  /** How stateful keys map to partitions; absent: `key` (see StatePartitioning). */
  readonly statePartitioning?: StatePartitioning;
}

/**
 * `key`: a key's partition is a hash of its state key, and one store holds every partition (one thread).
 * `group`: a hash of the operator's grouping values that are not a time window, one store per
 * partition (worker threads, numWorkers > 1). The two put keys in different folders, so a checkpoint
 * keeps the one it started with.
 */
export type StatePartitioning = 'key' | 'group';

/**
 * What an offsets entry written before a setting was logged means for it: the value weir used then
 * (Spark's `relevantSQLConfDefaultValues`), never the current run's option, which may differ.
 */
export const BATCH_CONF_OF_OLDER_CHECKPOINTS: BatchConf = { numStatePartitions: 4, multipleWatermarkPolicy: 'min' };

/** `offsets/<N>`: written before batch N runs; fixes everything a re-run must reproduce. */
export interface OffsetEntry {
  readonly batchWatermarkMs: number;
  readonly batchTimestampMs: number;
  readonly conf: BatchConf;
  /** End offset of each source (by source index); null: the source has had no data yet. */
  readonly sources: readonly Offset[];
}

export const offsetCodec: LogCodec<OffsetEntry> = {
  kind: 'offsets',
  version: 1,
  // One JSON object per line, as Spark does: the metadata first, then one line per source.
  encode(entry) {
    const meta = { batchWatermarkMs: entry.batchWatermarkMs, batchTimestampMs: entry.batchTimestampMs, conf: entry.conf };
    return [JSON.stringify(meta), ...entry.sources.map((o) => (o === null ? '-' : JSON.stringify(o)))].join('\n');
  },
  decode(body) {
    const [metaLine, ...sourceLines] = body.split('\n');
    const meta = JSON.parse(metaLine!) as { batchWatermarkMs?: unknown; batchTimestampMs?: unknown; conf?: unknown };
    if (typeof meta.batchWatermarkMs !== 'number' || typeof meta.batchTimestampMs !== 'number') {
      throw new Error('missing batchWatermarkMs or batchTimestampMs');
    }
    return {
      batchWatermarkMs: meta.batchWatermarkMs,
      batchTimestampMs: meta.batchTimestampMs,
      conf: decodeBatchConf(meta.conf),
      sources: sourceLines.map((line) => (line === '-' ? null : (JSON.parse(line) as Offset))),
    };
  },
};

/** Reads a logged conf: absent settings take their older-checkpoint value; a present one of the wrong shape is an error. */
function decodeBatchConf(raw: unknown): BatchConf {
  const logged = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const partitions = logged['numStatePartitions'] ?? BATCH_CONF_OF_OLDER_CHECKPOINTS.numStatePartitions;
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`conf.numStatePartitions is ${JSON.stringify(partitions)}, not a whole number ≥ 1`);
  }
  const policy = logged['multipleWatermarkPolicy'] ?? BATCH_CONF_OF_OLDER_CHECKPOINTS.multipleWatermarkPolicy;
  if (policy !== 'min' && policy !== 'max') {
    throw new Error(`conf.multipleWatermarkPolicy is ${JSON.stringify(policy)}, not 'min' or 'max'`);
  }
  const partitioning = logged['statePartitioning'];
  if (partitioning !== undefined && partitioning !== 'key' && partitioning !== 'group') {
    throw new Error(`conf.statePartitioning is ${JSON.stringify(partitioning)}, not 'key' or 'group'`);
  }
  return { numStatePartitions: partitions, multipleWatermarkPolicy: policy, ...(partitioning === 'group' ? { statePartitioning: 'group' } : {}) };
}
