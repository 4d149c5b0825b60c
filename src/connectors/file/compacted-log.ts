import { LogCodec } from '../../checkpoint/batch-log.js';
import { decodeFile, encodeFile } from '../../checkpoint/file-format.js';
import { CheckpointStorage } from '../../checkpoint/storage.js';
import { CheckpointError } from '../../common/errors.js';
import { FaultStep, injectFault } from '../../common/faults.js';
import { mapInBatches } from '../../common/parallel.js';

export interface CompactionSettings {
  /** Every `interval`-th entry is written as a compact file holding all entries so far. */
  readonly interval: number;
  /** The first id of the log (0 or 1): compaction happens at ids where `(id - firstId + 1) % interval === 0`. */
  readonly firstId: number;
  /** Where the crash tests kill the process: the compact file written, older files not yet all deleted. */
  readonly faultStep: FaultStep;
}

/** `<id>.compact`: all entries up to and including `id`. */
const COMPACT = /^(\d+)\.compact$/;
/** A reader lists again when a compaction removed what it listed; more than this many times means something else is wrong. */
const MAX_LISTINGS = 20;

/**
 * A log of one immutable entry per id in a folder: `<id>` for each entry, except that every
 * `interval`-th entry is written as `<id>.compact`, which holds every entry up to it (Spark's
 * compactible metadata log). After a compact file is written, the files it covers are deleted, so a
 * reader opens one compact file plus fewer than `interval` entry files however long the log is.
 *
 * Crash safety: a compact file is written atomically before anything it covers is deleted, so at
 * every moment the newest compact file plus the entry files after it hold the whole log; files a
 * compact file covers are ignored when read and deleted by the next writer. A reader that lists while
 * a writer compacts may find a listed file gone: it lists again.
 */
export class CompactedLog<T> {
  private readonly compactKind: string;

  constructor(
    private readonly storage: CheckpointStorage,
    private readonly folder: string,
    private readonly codec: LogCodec<T>,
    private readonly compaction: CompactionSettings,
  ) {
    this.compactKind = `${codec.kind}-compact`;
  }

  /**
   * Every entry after `after` (ids ascending). Entries from a compact file that covers ids at or below
   * `after` are skipped too, so a reader that keeps what it has read passes its newest id.
   */
  async readAfter(after: number): Promise<[number, T][]> {
    for (let attempt = 1; ; attempt++) {
      const { entries, compact } = await this.listing();
      const read: [number, T][] = [];
      let vanished = false;
      if (compact !== null && compact > after) {
        const all = await this.readCompact(compact);
        if (all === null) vanished = true;
        else read.push(...all.filter(([id]) => id > after));
      }
      const ids = entries.filter((id) => id > Math.max(after, compact ?? -Infinity));
      const loaded = await mapInBatches(ids, 64, async (id) => [id, await this.readEntry(id)] as const);
      for (const [id, entry] of loaded) {
        if (entry === null) vanished = true;
        else read.push([id, entry]);
      }
      // A compaction deleted files between the listing and the reads: the newer compact file has them.
      if (!vanished) return read;
      if (attempt === MAX_LISTINGS) {
        const where = this.storage.locate(this.folder);
        throw new CheckpointError('CHECKPOINT_IO', where, `Files listed in ${where} kept disappearing before they could ` +
          `be read (${MAX_LISTINGS} listings). Is something other than weir deleting them? Check the folder and retry.`);
      }
    }
  }

  /**
   * Writes entry `id`; when compaction is due at `id`, writes `<id>.compact` with `earlier` (all entries
   * before `id`, ascending) plus this one instead, then deletes what it covers. Fails with
   * `FileExistsError` when the name is taken (another writer).
   */
  async add(id: number, entry: T, earlier: () => Iterable<[number, T]>): Promise<void> {
    const { interval, firstId } = this.compaction;
    if (interval <= 0 || (id - firstId + 1) % interval !== 0) {
      await this.write(String(id), this.codec.kind, this.codec.encode(entry));
      return;
    }
    const parts: string[] = [];
    const add = (entryId: number, value: T): void => {
      const body = this.codec.encode(value);
      parts.push(JSON.stringify({ id: entryId, lines: body.split('\n').length }), body);
    };
    for (const [entryId, value] of earlier()) add(entryId, value);
    add(id, entry);
    await this.write(`${id}.compact`, this.compactKind, parts.join('\n'));
    await this.removeCompacted(id);
  }

  /** Deletes the files the newest compact file covers (left by a crash mid-compaction). Writers only. */
  async removeCompacted(newestCompact?: number): Promise<void> {
    const { entries, compacts } = await this.listing();
    const newest = newestCompact ?? compacts[compacts.length - 1];
    if (newest === undefined) return;
    let deleted = 0;
    for (const name of [...compacts.filter((id) => id < newest).map((id) => `${id}.compact`),
      ...entries.filter((id) => id <= newest).map(String)]) {
      await this.storage.delete(`${this.folder}/${name}`);
      if (++deleted === 1) injectFault(this.compaction.faultStep, newest);
    }
  }

  locate(id: number): string {
    return this.storage.locate(`${this.folder}/${id}`);
  }

  private async listing(): Promise<{ entries: number[]; compacts: number[]; compact: number | null }> {
    const entries: number[] = [];
    const compacts: number[] = [];
    for (const name of await this.storage.list(this.folder)) {
      const compact = COMPACT.exec(name);
      if (compact) compacts.push(Number(compact[1]));
      else if (/^\d+$/.test(name)) entries.push(Number(name));
      else {
        const where = this.storage.locate(`${this.folder}/${name}`);
        throw new CheckpointError('CHECKPOINT_FOREIGN', where, `${where} does not belong in a weir ${this.codec.kind} log ` +
          '(entries are named <id> or <id>.compact). Remove it; weir does not guess what it is.');
      }
    }
    entries.sort((a, b) => a - b);
    compacts.sort((a, b) => a - b);
    return { entries, compacts, compact: compacts[compacts.length - 1] ?? null };
  }

  private async readEntry(id: number): Promise<T | null> {
    const body = await this.readBody(String(id), this.codec.kind);
    return body === null ? null : this.decode(body, String(id), this.codec.decode);
  }

  private async readCompact(id: number): Promise<[number, T][] | null> {
    const name = `${id}.compact`;
    const body = await this.readBody(name, this.compactKind);
    if (body === null) return null;
    return this.decode(body, name, (text) => {
      const lines = text.split('\n');
      const out: [number, T][] = [];
      for (let at = 0; at < lines.length;) {
        const head = JSON.parse(lines[at]!) as { id?: unknown; lines?: unknown };
        if (!Number.isSafeInteger(head.id) || !Number.isSafeInteger(head.lines) || (head.lines as number) < 1 ||
          at + 1 + (head.lines as number) > lines.length) {
          throw new Error(`line ${at + 1} is not an entry header`);
        }
        out.push([head.id as number, this.codec.decode(lines.slice(at + 1, at + 1 + (head.lines as number)).join('\n'))]);
        at += 1 + (head.lines as number);
      }
      return out;
    });
  }

  private async readBody(name: string, kind: string): Promise<string | null> {
    const path = `${this.folder}/${name}`;
    const data = await this.storage.read(path);
    if (data === null) return null;
    return decodeFile(data, kind, this.codec.version, this.storage.locate(path)).body.toString('utf8');
  }

  private decode<R>(body: string, name: string, decode: (body: string) => R): R {
    try {
      return decode(body);
    } catch (err) {
      const where = this.storage.locate(`${this.folder}/${name}`);
      throw new CheckpointError('CHECKPOINT_CORRUPT', where, `${where} has a valid checksum but content weir cannot read ` +
        `(${(err as Error).message}). It was probably written by hand or by another tool; restore it from a backup.`);
    }
  }

  private async write(name: string, kind: string, body: string): Promise<void> {
    await this.storage.writeAtomic(`${this.folder}/${name}`, encodeFile(kind, this.codec.version, body), { overwrite: false });
  }
}
