import { crc32 } from 'node:zlib';

/**
 * The ingest WAL's framing. Every frame is
 *   [length u32 LE][crc32 u32 LE][kind u8][payload: `length` bytes]
 * where the checksum (zlib's crc32) covers the kind byte and the payload. A record frame's payload is
 * the JSON of one row already converted to the schema; a request-end frame closes the records of one
 * HTTP request (see {@link RequestEnd}). Records of a request count only once its end frame is on disk,
 * which makes every request all-or-nothing across crashes.
 */
export const FRAME_HEADER_BYTES = 9;

export const FrameKind = { record: 1, requestEnd: 2 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Payload of a request-end frame: the request's record count, and its idempotency key with a digest of its body. */
export interface RequestEnd {
  /** Records in the request (the frames just before this one). */
  readonly n: number;
  /** Idempotency-Key header, when the client sent one. */
  readonly k?: string;
  /** Digest of the request body (`sha256:…`, see digest.ts), to refuse a key reused for a different body. */
  readonly d?: string;
  /** Format 1 (read, no longer written): the body's CRC-32 in place of `d`. */
  readonly h?: number;
  /** When the request was acknowledged (epoch ms), for the key window. */
  readonly t: number;
}

/** One frame ready to write: header and payload in a single buffer. */
export function encodeFrame(kind: FrameKind, payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame.writeUInt32LE(length, 0);
  frame[8] = kind;
  frame.write(payload, FRAME_HEADER_BYTES, 'utf8');
  frame.writeUInt32LE(crc32(frame.subarray(8)), 4);
  return frame;
}

/** Why a scan stopped before the end of the data. */
export interface FrameProblem {
  /** Byte position of the frame that failed. */
  readonly pos: number;
  /** `partial`: the frame runs past the end of the data (a write cut short); otherwise it is complete but wrong. */
  readonly kind: 'partial' | 'checksum' | 'unknown-kind';
  readonly detail: string;
}

/**
 * Walks the frames of `data`, calling `visit` for each valid one (payload is a view, not a copy).
 * Stops at the first frame that fails its check and reports it; `end` is where the valid frames end.
 */
export function scanFrames(data: Buffer, visit: (kind: FrameKind, payload: Buffer, pos: number) => void):
  { end: number; problem: FrameProblem | null } {
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < FRAME_HEADER_BYTES) {
      return { end: pos, problem: { pos, kind: 'partial', detail: `only ${data.length - pos} bytes of a frame header` } };
    }
    const length = data.readUInt32LE(pos);
    const next = pos + FRAME_HEADER_BYTES + length;
    if (next > data.length) {
      return { end: pos, problem: { pos, kind: 'partial', detail: `a frame of ${length} bytes runs past the end` } };
    }
    const stored = data.readUInt32LE(pos + 4);
    const actual = crc32(data.subarray(pos + 8, next));
    if (stored !== actual) {
      return {
        end: pos,
        problem: { pos, kind: 'checksum', detail: `checksum ${hex(actual)} where the frame says ${hex(stored)}` },
      };
    }
    const kind = data[pos + 8];
    if (kind !== FrameKind.record && kind !== FrameKind.requestEnd) {
      return { end: pos, problem: { pos, kind: 'unknown-kind', detail: `unknown frame kind ${kind}` } };
    }
    visit(kind, data.subarray(pos + FRAME_HEADER_BYTES, next), pos);
    pos = next;
  }
  return { end: pos, problem: null };
}

/** True when every byte from `pos` on is zero: space a file system allocated but a crash left unwritten. */
export function zeroFrom(data: Buffer, pos: number): boolean {
  for (let i = pos; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
