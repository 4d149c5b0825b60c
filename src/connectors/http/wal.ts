import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { localPath, SourcePaths } from '../../checkpoint/layout.js';
import { CheckpointStorage } from '../../checkpoint/storage.js';
import { openFile, syncDir } from '../../common/durable-files.js';
import { CheckpointError, ConnectorError, errorMessage } from '../../common/errors.js';
import { Row } from '../../common/schema.js';
import { AppendResult, IngestLog, IngestLogStats, RequestKey } from '../../sources/ingest-log.js';
import { legacyDigest } from './digest.js';
import { encodeFrame, FRAME_HEADER_BYTES, FrameKind, FrameProblem, RequestEnd, scanFrames, zeroFrom } from './frames.js';
import { KeyEntry, KeyWindow, KeyWindowLimits } from './keys.js';

/**
 * The ingest write-ahead log of a push source: records are positions 0, 1, 2, … in arrival order, kept
 * in segment files `wal/<first record's position, 20 digits>.seg` of framed records (see frames.ts).
 *
 * Segments are written with node:fs in the local folder `wal` of the source's checkpoint folder, not through the checkpoint
 * storage interface: a WAL needs append and fsync, which atomic whole-file writes cannot give at
 * ingest speed. The WAL therefore needs a checkpoint on the local file system.
 *
 * Appends use group commit: requests that arrive while a write is in progress wait in a shared queue;
 * one writer loop writes the whole queue with one write and one fdatasync, then acknowledges every
 * request in it. Nothing is visible (to {@link end}, reads or acknowledgements) before its fdatasync.
 *
 * Recovery on open: every frame of every segment is checked. Anything after the last complete request
 * of the newest segment (a frame cut short, a half-written request, zeros) was never acknowledged and
 * is truncated. A bad frame anywhere else is corruption: a CheckpointError names the segment and byte.
 *
 * Idempotency keys are stored in each request's end frame; before segments are deleted, the key window
 * is saved to the checkpoint file `keys` so keys outlive the segments that held them.
 */
export interface WalOptions {
  /** A segment is closed, and a new one started, once it holds this many bytes (checked between groups). */
  readonly segmentBytes: number;
  readonly keys: KeyWindowLimits;
  /** Called after each group commit: new records are durable. */
  readonly onDurable: () => void;
}

export type { AppendResult, RequestKey } from '../../sources/ingest-log.js';
export type WalStats = IngestLogStats;

interface Segment {
  readonly start: number;
  readonly path: string;
  records: number;
  /** Durable bytes. */
  size: number;
  /** Sparse index: record position -> byte position of its frame, every INDEX_STRIDE records. */
  readonly indexOffsets: number[];
  readonly indexPositions: number[];
  hasKeys: boolean;
}

interface Pending {
  readonly rows: readonly Row[];
  readonly requestKey: RequestKey | null;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (err: Error) => void;
}

const SEGMENT_SUFFIX = '.seg';
const INDEX_STRIDE = 1024;
/** Rows of the newest records kept in memory, so batches that keep up never read the disk. */
const TAIL_CACHE_ROWS = 100_000;
const KEYS_FILE = SourcePaths.ingestKeys;

export class IngestWal implements IngestLog {
  private readonly segments: Segment[] = [];
  private handle: FileHandle | null = null;
  private durableEnd = 0;
  private queue: Pending[] = [];
  private queuedRecords = 0;
  private writing: Promise<void> | null = null;
  private readonly inFlight = new Map<string, Promise<AppendResult>>();
  private failure: Error | null = null;
  private closed = false;
  private cache: Row[] = [];
  private cacheStart = 0;
  private counters = { groupCommits: 0, requests: 0, records: 0, bytes: 0, maxGroupRequests: 0, maxGroupRecords: 0, truncatedBytes: 0 };
  private readonly keys: KeyWindow;

  private constructor(private readonly dir: string, private readonly storage: CheckpointStorage, private readonly options: WalOptions) {
    this.keys = new KeyWindow(options.keys);
  }

  /** Opens (or creates) the WAL in `storage`'s folder `wal`, recovering it as described above. */
  static async open(storage: CheckpointStorage, options: WalOptions): Promise<IngestWal> {
    const dir = localPath(storage, SourcePaths.ingestWal, 'The http source\'s ingest WAL (appended and fsynced in place)');
    const wal = new IngestWal(dir, storage, options);
    await wal.recover();
    return wal;
  }

  get description(): string {
    return this.dir;
  }

  /** Every record of this WAL is appended by this process: it knows them all already. */
  async refresh(): Promise<void> {}

  /** Records durable in the WAL (the position after the last one). */
  get end(): number {
    return this.durableEnd;
  }

  /** The first record still on disk (older ones were deleted after their batches committed). */
  get first(): number {
    return this.segments[0]?.start ?? 0;
  }

  /** Durable bytes in the segments still on disk. */
  get bytes(): number {
    return this.segments.reduce((n, segment) => n + segment.size, 0);
  }

  /** Records queued for the next group commit. */
  get pendingRecords(): number {
    return this.queuedRecords;
  }

  get stats(): WalStats {
    return { ...this.counters };
  }

  /** The failure that stopped the writer, if any: after it, appends are refused until the WAL is reopened. */
  get failed(): Error | null {
    return this.failure;
  }

  /**
   * What a request with this key was given, if it was ingested (or is being ingested now: then this
   * waits for it). Undefined when the key is new or its first request failed.
   */
  async lookup(key: string): Promise<AppendResult | undefined> {
    const known = this.keys.get(key);
    if (known) return duplicateOf(known);
    const running = this.inFlight.get(key);
    if (!running) return undefined;
    return running.then((r) => ({ ...r, duplicate: true }), () => undefined);
  }

  /**
   * Appends one request's rows; resolves once they are durable. A known key returns its first result
   * instead.
   */
  append(rows: readonly Row[], requestKey: RequestKey | null): Promise<AppendResult> {
    const key = requestKey?.key ?? null;
    if (this.closed) return Promise.reject(new ConnectorError('WAL_CLOSED', `The ingest WAL ${this.dir} is closed.`));
    if (this.failure) return Promise.reject(this.failure);
    if (key !== null) {
      const known = this.keys.get(key);
      if (known) return Promise.resolve(duplicateOf(known));
      const running = this.inFlight.get(key);
      if (running) return running.then((r) => ({ ...r, duplicate: true }));
    }
    const result = new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ rows, requestKey, resolve, reject });
    });
    this.queuedRecords += rows.length;
    if (key !== null) {
      this.inFlight.set(key, result);
      const forget = (): void => void this.inFlight.delete(key);
      result.then(forget, forget);
    }
    this.writing ??= this.writeLoop();
    return result;
  }

  /** Resolves when every queued request has been written (or failed). */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** The rows at positions [from, to), from the tail cache or the segments. */
  async read(from: number, to: number): Promise<Row[]> {
    if (to > this.durableEnd) {
      throw new CheckpointError('WAL_BEHIND', this.dir, `A batch reads ingest WAL records up to position ${to}, but ` +
        `${this.dir} ends at ${this.durableEnd}: WAL segments were removed or replaced. Restore the checkpoint folder ` +
        'as a whole, or start the query with a new checkpointLocation.');
    }
    if (from >= this.cacheStart) return this.cache.slice(from - this.cacheStart, to - this.cacheStart);
    if (from < this.first) {
      throw new CheckpointError('WAL_DATA_LOSS', this.dir, `A batch reads ingest WAL records from position ${from}, but ` +
        `${this.dir} starts at ${this.first}: those records were deleted. Restore the checkpoint folder as a whole, ` +
        'or start the query with a new checkpointLocation.');
    }
    const rows: Row[] = [];
    const diskTo = Math.min(to, this.cacheStart);
    for (const segment of this.segments) {
      const segEnd = segment.start + segment.records;
      if (segEnd <= from || segment.start >= diskTo) continue;
      await this.readSegment(segment, Math.max(from, segment.start), Math.min(diskTo, segEnd), rows);
    }
    if (to > diskTo) rows.push(...this.cache.slice(0, to - this.cacheStart));
    return rows;
  }

  /**
   * Records before `position` will never be read again: deletes the segments that hold only such
   * records (never the newest one, which is being written), after saving the key window if they hold keys.
   */
  async discardBefore(position: number): Promise<void> {
    if (position > this.cacheStart) {
      this.cache = this.cache.slice(Math.min(position, this.durableEnd) - this.cacheStart);
      this.cacheStart = Math.min(position, this.durableEnd);
    }
    let n = 0;
    while (n < this.segments.length - 1 && this.segments[n + 1]!.start <= position) n++;
    if (n === 0) return;
    const doomed = this.segments.slice(0, n);
    if (doomed.some((s) => s.hasKeys)) await this.storage.writeAtomic(KEYS_FILE, this.keys.encode(), { overwrite: true });
    for (const segment of doomed) {
      await fs.rm(segment.path, { force: true });
      this.segments.shift();
    }
    await syncDir(this.dir);
  }

  /** Waits for queued writes, then closes the segment file. Later appends are refused. */
  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    await this.handle?.close();
    this.handle = null;
  }

  private async recover(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const saved = await this.storage.read(KEYS_FILE);
    if (saved !== null) this.keys.load(saved, this.storage.locate(KEYS_FILE));
    const names = (await fs.readdir(this.dir)).filter((n) => /^\d{20}\.seg$/.test(n)).sort();
    for (const [i, name] of names.entries()) {
      const start = Number(name.slice(0, 20));
      const path = nodePath.join(this.dir, name);
      if (this.segments.length > 0 && start !== this.durableEnd) {
        throw new CheckpointError('WAL_GAP', path, `Ingest WAL segment ${path} starts at record ${start}, but the ` +
          `segment before it ends at record ${this.durableEnd}: a segment is missing or foreign. Restore the ` +
          'checkpoint folder as a whole, or start the query with a new checkpointLocation.');
      }
      this.durableEnd = start;
      await this.recoverSegment(start, path, i === names.length - 1);
    }
    const last = this.segments[this.segments.length - 1];
    if (last) {
      this.handle = await openFile(last.path, 'a');
    } else {
      await this.startSegment();
    }
    this.cacheStart = this.durableEnd;
  }

  private async recoverSegment(start: number, path: string, newest: boolean): Promise<void> {
    const data = await fs.readFile(path);
    const segment = newSegment(start, path);
    let pendingRecords = 0;
    let committedBytes = 0;
    /** Index entries of the request being read: they count only once its end frame is found. */
    const indexAt: [number, number][] = [];
    const { problem } = scanFrames(data, (kind, payload, pos) => {
      if (kind === FrameKind.record) {
        const position = segment.start + segment.records + pendingRecords;
        if ((position - start) % INDEX_STRIDE === 0) indexAt.push([position, pos]);
        pendingRecords++;
        return;
      }
      const end = parseRequestEnd(payload, path, pos);
      if (end.n !== pendingRecords) {
        throw corrupt(path, pos, `a request end frame counts ${end.n} records where ${pendingRecords} precede it`);
      }
      segment.records += pendingRecords;
      pendingRecords = 0;
      committedBytes = pos + FRAME_HEADER_BYTES + payload.length;
      if (end.k !== undefined) {
        const last = segment.start + segment.records;
        this.keys.set(end.k, { start: last - end.n, end: last, digest: end.d ?? legacyDigest(end.h ?? 0), at: end.t });
        segment.hasKeys = true;
      }
      for (const [position, at] of indexAt.splice(0)) pushIndex(segment, position, at);
    });
    if (problem && !(newest && isTornTail(data, problem))) {
      throw corrupt(path, problem.pos, `${problem.detail}${newest ? ' (and data follows it)' : ''}`);
    }
    if (committedBytes < data.length) {
      if (!newest) throw corrupt(path, committedBytes, 'the segment ends inside a request');
      // Never acknowledged: a write cut short by the crash. Cut it off so appends continue on valid frames.
      await truncate(path, committedBytes);
      this.counters.truncatedBytes += data.length - committedBytes;
    }
    segment.size = committedBytes;
    this.segments.push(segment);
    this.durableEnd = start + segment.records;
  }

  private async startSegment(): Promise<void> {
    const path = nodePath.join(this.dir, `${String(this.durableEnd).padStart(20, '0')}${SEGMENT_SUFFIX}`);
    const previous = this.handle;
    this.handle = null;
    await previous?.close();
    this.handle = await openFile(path, 'wx');
    await syncDir(this.dir);
    this.segments.push(newSegment(this.durableEnd, path));
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        await this.writeGroup(group);
      }
    } finally {
      this.writing = null;
    }
  }

  private async writeGroup(group: Pending[]): Promise<void> {
    try {
      let segment = this.segments[this.segments.length - 1]!;
      if (this.failure) throw this.failure;
      if (segment.size >= this.options.segmentBytes && segment.records > 0) {
        await this.startSegment();
        segment = this.segments[this.segments.length - 1]!;
      }
      const frames: Buffer[] = [];
      const index: [number, number][] = [];
      const results: AppendResult[] = [];
      const now = Date.now();
      let position = this.durableEnd;
      let bytes = segment.size;
      for (const request of group) {
        const start = position;
        for (const row of request.rows) {
          if ((position - segment.start) % INDEX_STRIDE === 0) index.push([position, bytes]);
          const frame = encodeFrame(FrameKind.record, JSON.stringify(row));
          frames.push(frame);
          bytes += frame.length;
          position++;
        }
        const keyed = request.requestKey;
        const end: RequestEnd = keyed === null ? { n: request.rows.length, t: now }
          : { n: request.rows.length, k: keyed.key, d: keyed.digest, t: now };
        const frame = encodeFrame(FrameKind.requestEnd, JSON.stringify(end));
        frames.push(frame);
        bytes += frame.length;
        results.push({ start, end: position, duplicate: false, digest: keyed?.digest ?? null });
      }
      const buffer = Buffer.concat(frames);
      for (let written = 0; written < buffer.length;) {
        written += (await this.handle!.write(buffer, written)).bytesWritten;
      }
      await this.handle!.datasync();
      // Durable: publish the records, then acknowledge.
      segment.size = bytes;
      segment.records += position - this.durableEnd;
      for (const [p, at] of index) pushIndex(segment, p, at);
      this.durableEnd = position;
      for (const [i, request] of group.entries()) {
        for (const row of request.rows) this.cache.push(row);
        const r = results[i]!;
        const keyed = request.requestKey;
        if (keyed !== null) {
          this.keys.set(keyed.key, { start: r.start, end: r.end, digest: keyed.digest, at: now });
          segment.hasKeys = true;
        }
      }
      this.trimCache();
      this.count(group, position - results[0]!.start, buffer.length);
      this.queuedRecords -= position - results[0]!.start;
      for (const [i, request] of group.entries()) request.resolve(results[i]!);
      this.options.onDurable();
    } catch (err) {
      // The file's tail is now unknown: refuse further writes; reopening the WAL recovers a valid prefix.
      this.failure ??= err instanceof ConnectorError ? err : new ConnectorError('WAL_WRITE_FAILED',
        `Could not write the ingest WAL in ${this.dir}: ${errorMessage(err)}. Requests are refused (503) and the ` +
          'query stops; restart it once the disk is fixed (space, permissions). Clients retry with their ' +
          'Idempotency-Key: a request that got no answer may still be found complete in the WAL on restart.',
        { cause: err });
      for (const request of [...group, ...this.queue]) request.reject(this.failure);
      this.queue = [];
      this.queuedRecords = 0;
    }
  }

  private trimCache(): void {
    if (this.cache.length > 2 * TAIL_CACHE_ROWS) {
      const drop = this.cache.length - TAIL_CACHE_ROWS;
      this.cache = this.cache.slice(drop);
      this.cacheStart += drop;
    }
  }

  private count(group: Pending[], records: number, bytes: number): void {
    const c = this.counters;
    c.groupCommits++;
    c.requests += group.length;
    c.records += records;
    c.bytes += bytes;
    c.maxGroupRequests = Math.max(c.maxGroupRequests, group.length);
    c.maxGroupRecords = Math.max(c.maxGroupRecords, records);
  }

  /** Reads records [from, to) of one segment, starting at the nearest index entry. */
  private async readSegment(segment: Segment, from: number, to: number, rows: Row[]): Promise<void> {
    const { indexOffsets: offs, indexPositions: poss } = segment;
    let lo = 0;
    while (lo + 1 < offs.length && offs[lo + 1]! <= from) lo++;
    let hi = lo;
    while (hi < offs.length && offs[hi]! < to) hi++;
    const startPos = poss[lo] ?? 0;
    const endPos = hi < offs.length ? poss[hi]! : segment.size;
    const data = Buffer.allocUnsafe(endPos - startPos);
    const handle = await openFile(segment.path, 'r');
    try {
      for (let got = 0; got < data.length;) {
        const { bytesRead } = await handle.read(data, got, data.length - got, startPos + got);
        if (bytesRead === 0) throw corrupt(segment.path, startPos + got, 'the segment is shorter than when it was written');
        got += bytesRead;
      }
    } finally {
      await handle.close();
    }
    let position = offs[lo] ?? segment.start;
    const { problem } = scanFrames(data, (kind, payload) => {
      if (kind !== FrameKind.record) return;
      if (position >= from && position < to) rows.push(JSON.parse(payload.toString('utf8')) as Row);
      position++;
    });
    if (problem) throw corrupt(segment.path, startPos + problem.pos, problem.detail);
  }
}

function newSegment(start: number, path: string): Segment {
  return { start, path, records: 0, size: 0, indexOffsets: [start], indexPositions: [0], hasKeys: false };
}

function pushIndex(segment: Segment, position: number, at: number): void {
  if (position === segment.start) return; // the first entry exists from the start
  segment.indexOffsets.push(position);
  segment.indexPositions.push(at);
}

function duplicateOf(entry: KeyEntry): AppendResult {
  return { start: entry.start, end: entry.end, duplicate: true, digest: entry.digest };
}

/**
 * A bad frame is a torn tail (a write the crash cut short) when nothing valid can follow it: it runs
 * past the end of the file, it is the file's last frame, or only zeros follow.
 */
function isTornTail(data: Buffer, problem: FrameProblem): boolean {
  if (problem.kind === 'partial') return true;
  const length = data.readUInt32LE(problem.pos);
  return problem.pos + FRAME_HEADER_BYTES + length === data.length || zeroFrom(data, problem.pos);
}

function parseRequestEnd(payload: Buffer, path: string, pos: number): RequestEnd {
  try {
    const end = JSON.parse(payload.toString('utf8')) as RequestEnd;
    if (Number.isInteger(end.n) && end.n > 0 && typeof end.t === 'number') return end;
  } catch {
    // reported below
  }
  throw corrupt(path, pos, 'a request end frame that does not say its record count');
}

function corrupt(path: string, pos: number, detail: string): CheckpointError {
  return new CheckpointError('WAL_CORRUPT', path, `Ingest WAL segment ${path} is corrupt at byte ${pos}: ${detail}. ` +
    'Acknowledged records may be damaged, so weir will not guess. Restore the checkpoint folder from a backup, or ' +
    'start the query with a new checkpointLocation (records not yet processed are then lost).');
}

async function truncate(path: string, size: number): Promise<void> {
  const handle = await fs.open(path, 'r+');
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
