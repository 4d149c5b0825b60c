/**
 * How the lmdb provider stores a value: one tag byte, the event time as an 8-byte double when the
 * value expires by event time, then the value's data as MessagePack. The event time sits at a fixed
 * place so that keeping the event-time index up to date reads it without decoding the data.
 */
import { Packr } from 'msgpackr';
import { asBuffer } from './binary-keys.js';
import './decimal-extension.js';

// Plain MessagePack, as in the checkpoint's state files.
export const valuePacker = new Packr({ useRecords: false });

const NO_EVENT_TIME = 0;
const WITH_EVENT_TIME = 1;
const TIME_BYTES = 8;

export function packValue(data: unknown, eventTimeMs: number | undefined): Buffer {
  const body = valuePacker.pack(data);
  if (eventTimeMs === undefined || !Number.isFinite(eventTimeMs)) {
    const out = Buffer.allocUnsafe(1 + body.length);
    out[0] = NO_EVENT_TIME;
    body.copy(out, 1);
    return out;
  }
  const out = Buffer.allocUnsafe(1 + TIME_BYTES + body.length);
  out[0] = WITH_EVENT_TIME;
  out.writeDoubleLE(eventTimeMs, 1);
  body.copy(out, 1 + TIME_BYTES);
  return out;
}

/** The event time a stored value expires by; undefined when it never expires. */
export function eventTimeOfPacked(bytes: Uint8Array): number | undefined {
  if (bytes[0] !== WITH_EVENT_TIME) return undefined;
  return asBuffer(bytes).readDoubleLE(1);
}

export function unpackData(bytes: Uint8Array): unknown {
  return valuePacker.unpack(bytes.subarray(bytes[0] === WITH_EVENT_TIME ? 1 + TIME_BYTES : 1));
}
