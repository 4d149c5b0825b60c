/**
 * `weir checkpoint copy <from> <to>`: a backup or a move of a stopped query's checkpoint between any two
 * locations (a local folder, nats://…). Both checkpoints are locked meanwhile, so neither can be written
 * by a query during the copy; every file is read back from the target and compared by SHA-256.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Checkpoint } from '../checkpoint/checkpoint.js';
import { CheckpointPaths } from '../checkpoint/layout.js';
import { openCheckpointStorage } from '../checkpoint/registry.js';
import { CheckpointLock, CheckpointStorage } from '../checkpoint/storage.js';
import { CheckpointError } from '../common/errors.js';
// Registers the checkpoint storages of the connectors (nats://…).
import '../connectors/builtin.js';

export interface CopyReport { readonly files: number; readonly bytes: number }

export async function copyCheckpoint(fromLocation: string, toLocation: string): Promise<CopyReport> {
  const from = openCheckpointStorage(fromLocation);
  const to = openCheckpointStorage(toLocation);
  const locks: CheckpointLock[] = [];
  try {
    const meta = await new Checkpoint(from).readMetadata();
    if (meta === null) {
      throw new CheckpointError('NOT_A_CHECKPOINT', from.locate(CheckpointPaths.metadata), `${from.description} is not a ` +
        'weir checkpoint: it has no metadata file. Pass the checkpointLocation of a query.');
    }
    if ((await to.list('')).length > 0) {
      throw new CheckpointError('CHECKPOINT_NOT_EMPTY', to.description, `${to.description} is not empty: a copy goes to a ` +
        'new location only, so that it never mixes two checkpoints. Give a new folder or name.');
    }
    const owner = { queryId: meta.id, runId: `copy-${randomUUID()}` };
    locks.push(await from.lock(owner));
    locks.push(await to.lock(owner));
    const paths = await filesUnder(from, '');
    let bytes = 0;
    // The metadata goes last: a copy cut short is a folder without metadata, which no query mistakes for a checkpoint.
    for (const path of [...paths.filter((p) => p !== CheckpointPaths.metadata), CheckpointPaths.metadata]) {
      const data = await from.read(path);
      if (data === null) continue;
      await to.writeAtomic(path, data, { overwrite: false });
      const copied = await to.read(path);
      if (copied === null || sha256(copied) !== sha256(data)) {
        throw new CheckpointError('COPY_MISMATCH', to.locate(path), `${to.locate(path)} does not read back as written ` +
          `(SHA-256 ${copied === null ? 'of nothing' : sha256(copied)}, expected ${sha256(data)}). Delete ${to.description} ` +
          'and copy again.');
      }
      bytes += data.length;
    }
    return { files: paths.length, bytes };
  } finally {
    for (const lock of locks.reverse()) await lock.release().catch(() => undefined);
    await from.close?.();
    await to.close?.();
  }
}

/** Every file below `dir` (the lock's own files excepted), as paths relative to the root. */
async function filesUnder(storage: CheckpointStorage, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await storage.list(dir)) {
    const path = dir === '' ? name : `${dir}/${name}`;
    if (path === CheckpointPaths.lock) continue;
    const children = await storage.list(path);
    if (children.length === 0) out.push(path);
    else out.push(...await filesUnder(storage, path));
  }
  return out;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
