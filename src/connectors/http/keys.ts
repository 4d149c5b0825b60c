import { decodeFile, encodeFile } from '../../checkpoint/file-format.js';
import { BodyDigest, legacyDigest } from './digest.js';

/** What a request with an Idempotency-Key was given: its record range [start, end) and a digest of its body. */
export interface KeyEntry {
  readonly start: number;
  readonly end: number;
  readonly digest: BodyDigest;
  /** Acknowledgement time, epoch ms. */
  readonly at: number;
}

export interface KeyWindowLimits {
  /** Keys remembered at most; the oldest go first. */
  readonly maxKeys: number;
  /** A key is forgotten this long after its request was acknowledged. */
  readonly windowMs: number;
}

const SNAPSHOT_KIND = 'http-ingest-keys';
/** Version 2 stores body digests (`sha256:…`); version 1 stored CRC-32 numbers and is still read. */
const SNAPSHOT_VERSION = 2;

/**
 * The idempotency keys of recent requests, oldest first. Bounded by count and by age, so a client
 * retrying within the window (by default 100,000 keys and 24 hours) gets its original offsets back;
 * a retry after the window is a new request.
 */
export class KeyWindow {
  private readonly entries = new Map<string, KeyEntry>();

  constructor(private readonly limits: KeyWindowLimits, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): KeyEntry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.at <= this.now() - this.limits.windowMs) {
      this.evict();
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: KeyEntry): void {
    if (!this.entries.has(key)) this.entries.set(key, entry);
    this.evict();
  }

  /** The window as a checkpoint file, for keys whose WAL segments are about to be deleted. */
  encode(): Buffer {
    const lines = [...this.entries].map(([k, e]) => JSON.stringify([k, e.start, e.end, e.digest, e.at]));
    return encodeFile(SNAPSHOT_KIND, SNAPSHOT_VERSION, lines.join('\n'));
  }

  /** Adds the keys of a file written by {@link encode}; `where` names it in errors. */
  load(data: Buffer, where: string): void {
    const { version, body } = decodeFile(data, SNAPSHOT_KIND, SNAPSHOT_VERSION, where);
    for (const line of body.toString('utf8').split('\n')) {
      if (line === '') continue;
      const [k, start, end, digest, at] = JSON.parse(line) as [string, number, number, string | number, number];
      this.set(k, { start, end, digest: version === 1 ? legacyDigest(Number(digest)) : String(digest), at });
    }
  }

  private evict(): void {
    const oldest = this.now() - this.limits.windowMs;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.limits.maxKeys && entry.at > oldest) break;
      this.entries.delete(key);
    }
  }
}
