/**
 * The durable form of keyed state under `state/<operator>/<partition>/`: `<version>.delta` holds the
 * keys one batch set or removed, `<version>.snapshot` every key as of that version. Loading version V
 * reads the newest snapshot at or below V and applies the deltas after it.
 */
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import './decimal-extension.js';
import { decodeFile, encodeFile } from '../checkpoint/file-format.js';
import { StateStorePaths } from '../checkpoint/layout.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { CheckpointError, errorMessage } from '../common/errors.js';
import { partitionOf, StateKey } from './state-store.js';

export const DELTA_KIND = 'state-delta';
const SNAPSHOT_KIND = 'state-snapshot';
/**
 * 3: keys in the injective encoding (exec/state-keys.ts); 2: MessagePack body with keys that could
 * collide (several key values joined with U+0001, null written as U+0000); 1: the same as JSON text.
 * Files of 1 and 2 are still read (weir inspect shows them); a store refuses to run on their keys.
 */
export const FORMAT_VERSION = 3;
/** The first format whose keys are injective. */
export const INJECTIVE_KEYS_FORMAT = 3;

/**
 * Refuses state of a format whose keys could collide. Keys of the old encoding are ambiguous (two groups
 * could share one), so they cannot be mapped to the new one; an empty state has none, so a query whose
 * state was empty upgrades in place.
 */
export function refuseOldKeyFormat(formats: readonly (number | null)[], keys: number, storage: CheckpointStorage,
  version: number): void {
  const oldFormat = formats.find((f) => f !== null && f < INJECTIVE_KEYS_FORMAT);
  if (oldFormat === undefined || keys === 0) return;
  throw new CheckpointError('STATE_KEY_FORMAT', storage.description, `The state in ${storage.description} (version ` +
    `${version}, ${keys} keys) was written by an earlier weir in state format ${oldFormat}, whose keys could ` +
    'collide (several key values joined with U+0001, null written as U+0000), so distinct groups may share an entry. ' +
    'This weir cannot tell them apart and will not run on that state. Finish the query with the weir that wrote it, ' +
    'or start it on a new checkpointLocation (its state is rebuilt from the input the sources still hold).');
}

/** A delta or snapshot body: `[key, value]` for a key set in that version, `[key]` for a key removed. */
export type StateRecord = [StateKey, unknown] | [StateKey];

// Plain MessagePack (no msgpackr record extension), so any MessagePack reader can read a state file.
// Chosen over JSON for bulk state: encoding a batch's changed keys took half the time and reading them
// back on restart a third (doubles are copied as 8 bytes instead of formatted and parsed as decimal
// text), and it keeps NaN and ±Infinity, which JSON turns into null.
const packer = new Packr({ useRecords: false });

function encodeRecords(kind: string, records: readonly StateRecord[]): Buffer {
  return encodeFile(kind, FORMAT_VERSION, packer.pack(records));
}

export function encodeDelta(records: readonly StateRecord[]): Buffer {
  return encodeRecords(DELTA_KIND, records);
}

export function encodeSnapshot(records: readonly StateRecord[]): Buffer {
  return encodeRecords(SNAPSHOT_KIND, records);
}

/**
 * A snapshot's bytes built from records given in chunks, so a large state is never one array of
 * records in memory: each chunk is packed on its own and the packed elements joined under one array header.
 */
export class SnapshotEncoder {
  private readonly parts: Buffer[] = [];
  private count = 0;

  add(records: readonly StateRecord[]): void {
    if (records.length === 0) return;
    const packed = packer.pack(records);
    this.parts.push(packed.subarray(arrayHeaderLength(records.length)));
    this.count += records.length;
  }

  finish(): Buffer {
    return encodeFile(SNAPSHOT_KIND, FORMAT_VERSION, Buffer.concat([arrayHeader(this.count), ...this.parts]));
  }
}

/** MessagePack's array header: fixarray below 16 elements, array 16 below 65536, else array 32. */
function arrayHeaderLength(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5;
}

function arrayHeader(count: number): Buffer {
  if (count < 16) return Buffer.of(0x90 | count);
  if (count < 0x10000) return Buffer.of(0xdc, count >> 8, count & 0xff);
  const header = Buffer.alloc(5);
  header[0] = 0xdd;
  header.writeUInt32BE(count, 1);
  return header;
}

/**
 * Writes version `version`'s delta of every partition: `changed` as [key, encoded value], `removed` as
 * keys. Every partition gets a delta, empty or not, so a missing file is always detectable. Returns
 * the files' bytes by partition (a disk provider fingerprints its working copy with them).
 */
export async function writeDeltas(storage: CheckpointStorage, numPartitions: number, version: number,
  changed: Iterable<[StateKey, unknown]>, removed: Iterable<StateKey>): Promise<Buffer[]> {
  const byPartition: StateRecord[][] = Array.from({ length: numPartitions }, () => []);
  for (const record of changed) byPartition[partitionOf(record[0], numPartitions)]!.push(record);
  for (const key of removed) byPartition[partitionOf(key, numPartitions)]!.push([key]);
  const files = byPartition.map(encodeDelta);
  await Promise.all(files.map((data, p) => storage.writeAtomic(StateStorePaths.delta(p, version), data, { overwrite: true })));
  return files;
}

/** Removes the files no version at or after `version` needs: per partition, all before its newest snapshot at or below it. */
export async function purgeStateFiles(storage: CheckpointStorage, numPartitions: number, version: number): Promise<void> {
  for (let p = 0; p < numPartitions; p++) {
    const files = await listStateFiles(storage, p);
    const base = Math.max(-1, ...files.filter((f) => f.snapshot && f.version <= version).map((f) => f.version));
    if (base < 0) continue;
    for (const f of files) if (f.version < base) await storage.delete(`${StateStorePaths.partition(p)}/${f.name}`);
  }
}

/**
 * Deletes the files of versions after `version`: a store opened at `version` re-runs the batches after
 * it, and a snapshot left from the first run of one of them would otherwise shadow the re-run's delta.
 */
export async function discardVersionsAfter(storage: CheckpointStorage, numPartitions: number, version: number): Promise<void> {
  for (let p = 0; p < numPartitions; p++) {
    for (const f of await listStateFiles(storage, p)) {
      if (f.version > version) await storage.delete(`${StateStorePaths.partition(p)}/${f.name}`);
    }
  }
}

export interface StateFile { readonly name: string; readonly version: number; readonly snapshot: boolean }

export async function listStateFiles(storage: CheckpointStorage, partition: number): Promise<StateFile[]> {
  const files: StateFile[] = [];
  for (const name of await storage.list(StateStorePaths.partition(partition))) {
    const file = StateStorePaths.parseFile(name);
    if (!file) {
      const where = storage.locate(`${StateStorePaths.partition(partition)}/${name}`);
      throw new CheckpointError('CHECKPOINT_FOREIGN', where,
        `${where} does not belong in a weir state folder (files are <version>.delta or <version>.snapshot). Remove it.`);
    }
    files.push({ name, ...file });
  }
  return files;
}

/**
 * Applies one partition's state as of `version` to `into` (values through `decode`): the newest
 * snapshot at or below it, then the deltas after it. Partitions hold disjoint keys, so a store loads
 * them all into one map without copying. Returns the format version of the newest file applied
 * (null: none), which says how its keys are encoded.
 */
export async function loadPartition<V>(storage: CheckpointStorage, partition: number, version: number,
  into: Map<StateKey, V>, decode: (data: unknown) => V): Promise<number | null> {
  if (version < 0) return null;
  const files = await listStateFiles(storage, partition);
  const snapshot = Math.max(-1, ...files.filter((f) => f.snapshot && f.version <= version).map((f) => f.version));
  let newestFormat: number | null = null;
  const apply = ({ format, records }: { format: number; records: StateRecord[] }): void => {
    newestFormat = format;
    applyRecords(records, into, decode);
  };
  if (snapshot >= 0) apply(await readRecords(storage, StateStorePaths.snapshot(partition, snapshot), SNAPSHOT_KIND));
  for (let v = snapshot + 1; v <= version; v++) {
    apply(await readRecords(storage, StateStorePaths.delta(partition, v), DELTA_KIND));
  }
  return newestFormat;
}

/** Sets and removes what `records` say in `into`. */
export function applyRecords<V>(records: readonly StateRecord[], into: Map<StateKey, V>, decode: (data: unknown) => V): void {
  for (const record of records) {
    if (record.length === 2) into.set(record[0], decode(record[1]));
    else into.delete(record[0]);
  }
}

/** A partition's delta of `version`: its records, and the SHA-256 of its bytes (which tells one write of it from another). */
export async function readDelta(storage: CheckpointStorage, partition: number, version: number):
  Promise<{ format: number; records: StateRecord[]; sha256: string }> {
  const path = StateStorePaths.delta(partition, version);
  const data = await readStateFile(storage, path);
  return { ...decodeRecords(data, DELTA_KIND, storage.locate(path)), sha256: createHash('sha256').update(data).digest('hex') };
}

/**
 * The SHA-256 of a partition's delta of `version` (null: there is none), from the storage when it keeps
 * one with each file (JetStream: no object is read), else from the bytes.
 */
export async function deltaDigest(storage: CheckpointStorage, partition: number, version: number): Promise<string | null> {
  const path = StateStorePaths.delta(partition, version);
  if (storage.sha256) return storage.sha256(path);
  const data = await storage.read(path);
  return data === null ? null : createHash('sha256').update(data).digest('hex');
}

async function readRecords(storage: CheckpointStorage, path: string, kind: string):
  Promise<{ format: number; records: StateRecord[] }> {
  return decodeRecords(await readStateFile(storage, path), kind, storage.locate(path));
}

async function readStateFile(storage: CheckpointStorage, path: string): Promise<Buffer> {
  const where = storage.locate(path);
  const data = await storage.read(path);
  if (data === null) {
    throw new CheckpointError('STATE_MISSING', where,
      `State file ${where} is missing, so the operator's state cannot be rebuilt. Restore it from a backup, ` +
        `or start the query on a new checkpointLocation (its state starts empty).`);
  }
  return data;
}

/** The records of a state file's bytes (`where` names it in errors); `kind` is DELTA_KIND or a snapshot's. */
export function decodeRecords(data: Buffer, kind: string, where: string): { format: number; records: StateRecord[] } {
  const { version, body } = decodeFile(data, kind, FORMAT_VERSION, where);
  let records: unknown;
  try {
    records = version === 1 ? JSON.parse(body.toString('utf8')) : packer.unpack(body);
  } catch (err) {
    throw new CheckpointError('CHECKPOINT_CORRUPT', where, `${where} has a valid checksum but its records cannot be read ` +
      `(${errorMessage(err)}). It was not written by this weir; restore it from a backup.`);
  }
  if (!Array.isArray(records)) {
    throw new CheckpointError('CHECKPOINT_CORRUPT', where, `${where} has a valid checksum but is not a state record list.`);
  }
  return { format: version, records: records as StateRecord[] };
}

/** Writes `<partition>/<version>.snapshot` from the files (never from live state, which the next batch changes). */
export async function writeSnapshot(storage: CheckpointStorage, partition: number, version: number): Promise<void> {
  const state = new Map<StateKey, unknown>();
  // Only versions a store committed are snapshotted, and a store refuses to run on old-format keys.
  await loadPartition(storage, partition, version, state, (data) => data);
  await storage.writeAtomic(StateStorePaths.snapshot(partition, version), encodeSnapshot([...state]), { overwrite: true });
}
