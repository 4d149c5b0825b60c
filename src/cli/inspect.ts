/**
 * `weir inspect <checkpoint>`: what a checkpoint says, read-only (it takes no lock, so it works on
 * the checkpoint of a running query): the query id, its inputs and stateful operators, and for
 * each batch still in the logs its offsets, watermark, whether it committed and which sink took it;
 * with --state, an operator's keys and values.
 */
import { stat } from 'node:fs/promises';
import { Checkpoint, CheckpointMetadata } from '../checkpoint/checkpoint.js';
import { CheckpointPaths, localPath, operatorStoreFolders, StateStorePaths, storePartitions } from '../checkpoint/layout.js';
import { BatchConf, Offset } from '../checkpoint/offset-log.js';
import { PrefixedStorage } from '../checkpoint/prefixed-storage.js';
import { openCheckpointStorage } from '../checkpoint/registry.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
// Registers the checkpoint storages of the connectors (nats://…), so any checkpointLocation can be inspected.
import '../connectors/builtin.js';
import { CheckpointError } from '../common/errors.js';
import { LMDB_PROVIDER_NAME } from '../state/lmdb-provider.js';
import { loadPartition } from '../state/state-files.js';
import { compareStateKeys, StateKey } from '../state/state-store.js';

export interface BatchReport {
  readonly batchId: number;
  /** The watermark the batch ran with, ISO-8601 (null before any event time was seen). */
  readonly watermark: string | null;
  readonly timestamp: string;
  readonly offsets: readonly Offset[];
  readonly committed: boolean;
  /** The sink that took the batch; null while it is uncommitted (or for checkpoints older than the field). */
  readonly sink: string | null;
}

export interface StateReport {
  readonly operator: string;
  readonly description: string;
  readonly partitions: number;
  readonly files: number;
  readonly bytes: number;
  readonly newestVersion: number | null;
  /** Bytes of the lmdb provider's local working copies (null: none, the memory provider's checkpoint). */
  readonly workingCopyBytes: number | null;
}

export interface CheckpointReport {
  readonly checkpoint: string;
  readonly queryId: string;
  readonly createdAt: string;
  readonly inputs: readonly string[];
  /** The settings the newest batch in the logs ran with (null before the first batch). */
  readonly conf: BatchConf | null;
  readonly batches: readonly BatchReport[];
  readonly state: readonly StateReport[];
}

const isoOrNull = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

interface OpenedCheckpoint { readonly storage: CheckpointStorage; readonly checkpoint: Checkpoint; readonly meta: CheckpointMetadata }

/** Runs `use` on the checkpoint at `location` (a folder or a URL such as nats://…), then closes its storage. */
async function withCheckpoint<T>(location: string, use: (opened: OpenedCheckpoint) => Promise<T>): Promise<T> {
  const storage = openCheckpointStorage(location);
  try {
    return await use(await openCheckpoint(storage));
  } finally {
    await storage.close?.();
  }
}

async function openCheckpoint(storage: CheckpointStorage): Promise<OpenedCheckpoint> {
  const checkpoint = new Checkpoint(storage);
  const meta = await checkpoint.readMetadata();
  if (meta === null) {
    throw new CheckpointError('NOT_A_CHECKPOINT', storage.locate(CheckpointPaths.metadata), `${storage.description} is not a weir ` +
      `checkpoint: it has no metadata file. Pass the folder given as the query's checkpointLocation.`);
  }
  return { storage, checkpoint, meta };
}

export function inspectCheckpoint(location: string): Promise<CheckpointReport> {
  return withCheckpoint(location, reportOf);
}

async function reportOf({ storage, checkpoint, meta }: OpenedCheckpoint): Promise<CheckpointReport> {
  const ids = [...new Set([...await checkpoint.offsets.batchIds(), ...await checkpoint.commits.batchIds()])].sort((a, b) => a - b);
  const batches: BatchReport[] = [];
  let conf: BatchConf | null = null;
  for (const batchId of ids) {
    const [offsets, commit] = await Promise.all([checkpoint.offsets.get(batchId), checkpoint.commits.get(batchId)]);
    if (offsets === null) continue; // retention removed it; the commit alone says nothing about the batch
    conf = offsets.conf;
    batches.push({
      batchId, watermark: isoOrNull(offsets.batchWatermarkMs), timestamp: new Date(offsets.batchTimestampMs).toISOString(),
      offsets: offsets.sources, committed: commit !== null, sink: commit?.sink ?? null,
    });
  }
  const state = await Promise.all(meta.statefulOperators.map((description, i) => stateReport(storage, i, description)));
  return { checkpoint: storage.description, queryId: meta.id, createdAt: meta.createdAt, inputs: meta.sources, conf, batches, state };
}

async function stateReport(storage: CheckpointStorage, operatorId: number, description: string): Promise<StateReport> {
  let partitions = 0;
  let files = 0;
  let bytes = 0;
  let newestVersion: number | null = null;
  let workingCopyBytes: number | null = null;
  for (const store of await operatorStoreFolders(storage, operatorId)) {
    // An lmdb working copy sits in the checkpoint's folder only when the checkpoint is local.
    if (storage.localRoot !== undefined) {
      const copy = localPath(storage, `${store}/${StateStorePaths.workingCopy(LMDB_PROVIDER_NAME)}/data.mdb`, 'weir inspect');
      const copySize = await stat(copy).then((s) => s.size, () => null);
      if (copySize !== null) workingCopyBytes = (workingCopyBytes ?? 0) + copySize;
    }
    for (const p of await storePartitions(storage, store)) {
      partitions += 1;
      for (const name of await storage.list(`${store}/${p}`)) {
        files += 1;
        const file = `${store}/${StateStorePaths.partition(p)}/${name}`;
        bytes += storage.localRoot !== undefined ? (await stat(localPath(storage, file, 'weir inspect'))).size
          : (await storage.read(file))?.length ?? 0;
        const version = Number.parseInt(name, 10);
        if (Number.isInteger(version)) newestVersion = Math.max(newestVersion ?? version, version);
      }
    }
  }
  return { operator: CheckpointPaths.operatorState(operatorId), description, partitions, files, bytes, newestVersion, workingCopyBytes };
}

/**
 * The keys and values of stateful operator `operator` as of the newest committed batch, one JSON
 * line each (`store` is the operator's folder, or a join side's), sorted by key. State files are
 * binary; this is how a person reads them.
 */
export function dumpState(location: string, operator: number): Promise<string[]> {
  return withCheckpoint(location, (opened) => stateLines(opened, operator));
}

async function stateLines({ storage, checkpoint, meta }: OpenedCheckpoint, operator: number): Promise<string[]> {
  if (!Number.isInteger(operator) || operator < 0 || operator >= meta.statefulOperators.length) {
    throw new CheckpointError('NO_SUCH_OPERATOR', storage.locate(CheckpointPaths.stateRoot), meta.statefulOperators.length === 0
      ? `The query of ${storage.description} keeps no state (it has no stateful operator).`
      : `The query of ${storage.description} has no stateful operator ${operator}: pass ` +
        `${meta.statefulOperators.length === 1 ? '0' : `0 to ${meta.statefulOperators.length - 1}`} (weir inspect lists them).`);
  }
  const version = (await checkpoint.commits.batchIds()).at(-1) ?? -1;
  const lines: string[] = [];
  for (const folder of await operatorStoreFolders(storage, operator)) {
    const store = new PrefixedStorage(storage, folder);
    const state = new Map<StateKey, unknown>();
    for (const p of await storePartitions(storage, folder)) await loadPartition(store, p, version, state, (data) => data);
    for (const key of [...state.keys()].sort(compareStateKeys)) {
      lines.push(JSON.stringify({ store: folder, key, value: state.get(key) }));
    }
  }
  return lines;
}

const clip = (text: string, width: number): string => (text.length <= width ? text : `${text.slice(0, width - 1)}…`);

export function formatCheckpointReport(report: CheckpointReport): string {
  const lines = [
    `checkpoint  ${report.checkpoint}`,
    `query id    ${report.queryId}`,
    `created     ${report.createdAt}`,
    ...report.inputs.map((input, i) => `input ${i}     ${input}`),
    ...Object.entries(report.conf ?? {}).map(([k, v]) => `conf        ${k} = ${v}`),
    ...report.state.map((s) => `${s.operator.padEnd(11)} ${s.description}\n            ${s.partitions} partitions, ` +
      `${s.files} files, ${(s.bytes / 1024).toFixed(1)} KiB, newest version ${s.newestVersion ?? '-'}` +
      (s.workingCopyBytes === null ? '' : `, lmdb working copy ${(s.workingCopyBytes / 1024).toFixed(1)} KiB`)),
    '',
  ];
  if (report.batches.length === 0) {
    lines.push('no batches yet');
    return lines.join('\n');
  }
  lines.push(`${'batch'.padEnd(7)}${'committed'.padEnd(11)}${'watermark'.padEnd(26)}${'sink'.padEnd(36)}offsets`);
  for (const b of report.batches) {
    lines.push(`${String(b.batchId).padEnd(7)}${(b.committed ? 'yes' : 'NO').padEnd(11)}${(b.watermark ?? '-').padEnd(26)}` +
      `${clip(b.sink ?? '-', 34).padEnd(36)}${b.offsets.map((o, i) => `${i}: ${clip(JSON.stringify(o), 60)}`).join('  ')}`);
  }
  const pending = report.batches.filter((b) => !b.committed);
  lines.push('', pending.length === 0
    ? `All ${report.batches.length} batches in the logs committed; the next run starts at batch ${report.batches.at(-1)!.batchId + 1}.`
    : `Batch ${pending[0]!.batchId} was planned but not committed: the next run re-runs it with the offsets above.`);
  return lines.join('\n');
}
