import { crc32 } from 'node:zlib';
import { CheckpointError } from '../common/errors.js';

/**
 * Every checkpoint file is framed as
 *   `weir:<kind> v<version>\n` <body> `\ncrc32:<8 hex digits>\n`
 * so a reader can tell a truncated, corrupt or foreign file from a valid one. The checksum covers
 * the header and the body. The fixed-size trailer works for text and binary bodies alike.
 */
const TRAILER_PREFIX = Buffer.from('\ncrc32:');
const TRAILER_LENGTH = TRAILER_PREFIX.length + 8 + 1;

export function encodeFile(kind: string, version: number, body: Buffer | string): Buffer {
  const head = Buffer.from(`weir:${kind} v${version}\n`);
  const content = Buffer.concat([head, typeof body === 'string' ? Buffer.from(body) : body]);
  const sum = crc32(content).toString(16).padStart(8, '0');
  return Buffer.concat([content, TRAILER_PREFIX, Buffer.from(`${sum}\n`)]);
}

/** Checks the frame and returns the body; `where` is the file's full path for the error message. */
export function decodeFile(data: Buffer, kind: string, maxVersion: number, where: string): { version: number; body: Buffer } {
  const headEnd = data.indexOf(0x0a);
  const head = headEnd < 0 ? '' : data.subarray(0, headEnd).toString('utf8');
  const m = /^weir:([\w-]+) v(\d+)$/.exec(head);
  if (!m) {
    throw new CheckpointError('CHECKPOINT_FOREIGN', where,
      `${where} is not a weir ${kind} file (its first line is ${JSON.stringify(head.slice(0, 60))}). ` +
        `It was not written by weir: remove it, or point checkpointLocation at a folder of weir's own.`);
  }
  if (m[1] !== kind) {
    throw new CheckpointError('CHECKPOINT_FOREIGN', where,
      `${where} is a weir '${m[1]}' file where a '${kind}' file belongs. The checkpoint folder was mixed up; ` +
        `restore it from a backup or start the query with a new checkpointLocation.`);
  }
  const version = Number(m[2]);
  if (version > maxVersion) {
    throw new CheckpointError('CHECKPOINT_VERSION', where,
      `${where} has format version ${version}, newer than this weir understands (${maxVersion}). Upgrade weir.`);
  }
  const trailerAt = data.length - TRAILER_LENGTH;
  if (trailerAt < headEnd || !data.subarray(trailerAt, trailerAt + TRAILER_PREFIX.length).equals(TRAILER_PREFIX)) {
    throw corrupt(where, 'it has no checksum trailer (the file is truncated)');
  }
  const stored = data.subarray(trailerAt + TRAILER_PREFIX.length, data.length - 1).toString('latin1');
  const actual = crc32(data.subarray(0, trailerAt)).toString(16).padStart(8, '0');
  if (stored !== actual) throw corrupt(where, `its checksum is ${actual}, the file says ${stored}`);
  return { version, body: data.subarray(headEnd + 1, trailerAt) };
}

function corrupt(where: string, why: string): CheckpointError {
  return new CheckpointError('CHECKPOINT_CORRUPT', where,
    `${where} is corrupt: ${why}. weir will not guess its content. Restore the file from a backup, ` +
      `or remove the checkpoint folder to start the query over (its output will then be recomputed).`);
}
