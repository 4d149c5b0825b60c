import * as nodePath from 'node:path';
import { CheckpointError } from '../common/errors.js';
import { CheckpointStorage } from './storage.js';

/**
 * Every path under a checkpoint folder is named here and nowhere else: these names are the on-disk
 * format, so existing checkpoints stay readable only while they keep their values. Paths are relative
 * to the checkpoint root (or, for a source's or a store's own files, to that folder) with '/' separators.
 *
 *   metadata                                    query id, inputs, stateful operators
 *   .lock/<generation>                          the single-writer lock (fs-lock.ts)
 *   offsets/<batch>, commits/<batch>            the write-ahead offset log and the commit log
 *   sources/<source>/…                          a source's own folder (see {@link SourcePaths})
 *   state/<operator>/<partition>/<version>.delta|.snapshot           an operator's one store
 *   state/<operator>/<store>/<partition>/<version>.delta|.snapshot   each store of an operator with several (a join's sides)
 *   state/<operator>/[<store>/].<provider>/    a disk provider's local working copy (rebuilt from the files above when lost)
 */
export const CheckpointPaths = {
  metadata: 'metadata',
  lock: '.lock',
  offsets: 'offsets',
  commits: 'commits',
  stateRoot: 'state',
  source: (sourceIndex: number): string => `sources/${sourceIndex}`,
  operatorState: (operatorId: number): string => `state/${operatorId}`,
  /** Where a fault injected mid-commit leaves its torn temp file (the crash tests' view of a torn write). */
  tornCommit: (batchId: number): string => `commits/.${batchId}.torn.tmp`,
} as const;

/** Files inside a source's folder (`sources/<i>/`). */
export const SourcePaths = {
  /** The file source's log of files seen, one entry per batch. */
  seenFiles: 'files',
  /** The start position a source fixed on its first run (rate, NATS). */
  startOffset: 'start',
  /** The HTTP source's ingest WAL segments; a folder on the local disk. */
  ingestWal: 'wal',
  /** The HTTP source's saved idempotency-key window. */
  ingestKeys: 'keys',
} as const;

/** The sides of a stream-stream join; each buffers its rows in its own store. */
export type JoinSide = 'left' | 'right';

/**
 * A state store's folder inside its operator's folder (Spark's `StateStoreId` storeName). An operator with
 * one store keeps its partitions directly in the operator folder (''); a join keeps one folder per side.
 * Store names are never numbers, so a listing tells a store folder from a partition folder.
 */
export const StateStorePaths = {
  joinSide: (side: JoinSide): string => side,
  partition: (partition: number): string => String(partition),
  delta: (partition: number, version: number): string => `${partition}/${version}.delta`,
  snapshot: (partition: number, version: number): string => `${partition}/${version}.snapshot`,
  /** A provider's local working copy inside a store folder; dot-named so it is never taken for a store or a partition. */
  workingCopy: (provider: string): string => `.${provider}`,
  /** Parses a file name inside a partition folder; null for a name that does not belong there. */
  parseFile(name: string): { readonly version: number; readonly snapshot: boolean } | null {
    const m = /^(\d+)\.(delta|snapshot)$/.exec(name);
    return m ? { version: Number(m[1]), snapshot: m[2] === 'snapshot' } : null;
  },
} as const;

const isPartitionFolder = (name: string): boolean => /^\d+$/.test(name);

/** The store folders of operator `operatorId`, relative to the checkpoint root: its own folder, or one per named store. */
export async function operatorStoreFolders(storage: CheckpointStorage, operatorId: number): Promise<string[]> {
  const folder = CheckpointPaths.operatorState(operatorId);
  const entries = (await storage.list(folder)).filter((name) => !name.startsWith('.'));
  if (entries.length === 0 || entries.some(isPartitionFolder)) return [folder];
  return entries.sort().map((store) => `${folder}/${store}`);
}

/** The partitions a store folder holds, ascending. */
export async function storePartitions(storage: CheckpointStorage, storeFolder: string): Promise<number[]> {
  return (await storage.list(storeFolder)).filter(isPartitionFolder).map(Number).sort((a, b) => a - b);
}

/**
 * The real local path of `path` (relative to the storage's root), for code that must use node:fs directly
 * (an append-only WAL, file sizes). `locate()` names a path for messages only; this refuses, naming
 * `purpose`, when the checkpoint is not a local folder.
 */
export function localPath(storage: CheckpointStorage, path: string, purpose: string): string {
  if (storage.localRoot === undefined) {
    throw new CheckpointError('CHECKPOINT_NOT_LOCAL', storage.description,
      `${purpose} needs the checkpoint on the local file system; ${storage.description} is not a local folder. ` +
        'Set checkpointLocation to a folder on a local disk.');
  }
  return path === '' ? storage.localRoot : nodePath.join(storage.localRoot, ...path.split('/'));
}
