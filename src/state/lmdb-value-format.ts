/** How the lmdb provider stores a value: MessagePack of `[data]`, or `[data, eventTimeMs]` when it expires by event time. */
import { Packr } from 'msgpackr';
import './decimal-extension.js';

// Plain MessagePack, as in the checkpoint's state files.
export const valuePacker = new Packr({ useRecords: false });

export function packValue(data: unknown, eventTimeMs: number | undefined): Buffer {
  return valuePacker.pack(eventTimeMs === undefined || !Number.isFinite(eventTimeMs) ? [data] : [data, eventTimeMs]);
}

export function unpackValue(bytes: Uint8Array): { data: unknown; eventTimeMs: number | undefined } {
  const record = valuePacker.unpack(bytes) as [unknown, number?];
  return { data: record[0], eventTimeMs: record[1] };
}
