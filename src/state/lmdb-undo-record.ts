/**
 * The lmdb working copy's undo record of one applied step: the version the copy held before it, and for
 * every key the step wrote, its bytes before (absent when the step added the key). A flat binary layout,
 * written with one allocation and plain copies: packed as MessagePack arrays it took a fifth of the
 * step's time (measured on W2, a step of ~100 k keys).
 *
 *   previous version: float64 LE | per key: key length u16 LE, key, previous length + 1 u32 LE (0: absent), previous
 */

/** A key's bytes before the step, or just the key when the step added it. */
export type UndoEntry = readonly [Buffer, Buffer] | readonly [Buffer];

const VERSION_BYTES = 8;
const KEY_LENGTH_BYTES = 2;
const VALUE_LENGTH_BYTES = 4;

export function encodeUndoRecord(previousVersion: number, entries: readonly UndoEntry[]): Buffer {
  let size = VERSION_BYTES;
  for (const [key, previous] of entries) size += KEY_LENGTH_BYTES + key.length + VALUE_LENGTH_BYTES + (previous?.length ?? 0);
  const out = Buffer.allocUnsafe(size);
  out.writeDoubleLE(previousVersion, 0);
  let at = VERSION_BYTES;
  for (const [key, previous] of entries) {
    out.writeUInt16LE(key.length, at);
    at += KEY_LENGTH_BYTES + key.copy(out, at + KEY_LENGTH_BYTES);
    out.writeUInt32LE(previous === undefined ? 0 : previous.length + 1, at);
    at += VALUE_LENGTH_BYTES + (previous === undefined ? 0 : previous.copy(out, at + VALUE_LENGTH_BYTES));
  }
  return out;
}

export function undoRecordPreviousVersion(record: Buffer): number {
  return record.readDoubleLE(0);
}

/** The record's entries, in the order they were written. */
export function* undoRecordEntries(record: Buffer): Generator<UndoEntry> {
  let at = VERSION_BYTES;
  while (at < record.length) {
    const keyLength = record.readUInt16LE(at);
    const key = record.subarray(at + KEY_LENGTH_BYTES, at + KEY_LENGTH_BYTES + keyLength);
    at += KEY_LENGTH_BYTES + keyLength;
    const previousLength = record.readUInt32LE(at);
    at += VALUE_LENGTH_BYTES;
    if (previousLength === 0) {
      yield [key];
    } else {
      yield [key, record.subarray(at, at + previousLength - 1)];
      at += previousLength - 1;
    }
  }
}
