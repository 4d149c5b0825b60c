import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The fingerprint of a request body kept with its Idempotency-Key, to tell a true retry (same body)
 * from a key reused for other records. Written as `sha256:<base64>`: a collision cannot be forged.
 * WALs and key files of format 1 held a CRC-32 instead (`crc32:<number>` once read); those keys are
 * still compared by CRC-32 until they leave the key window, since their bodies are gone.
 */
export type BodyDigest = string;

export function digestBody(body: Buffer): BodyDigest {
  return `sha256:${createHash('sha256').update(body).digest('base64')}`;
}

/** The digest of a key recorded by format 1, which stored the CRC-32 of the body. */
export function legacyDigest(crc: number): BodyDigest {
  return `crc32:${crc}`;
}

/** Whether `body` is the body `stored` was computed from, by the algorithm it names. */
export function sameBody(body: Buffer, stored: BodyDigest): boolean {
  if (stored.startsWith('crc32:')) return stored === legacyDigest(crc32(body));
  return stored === digestBody(body);
}
