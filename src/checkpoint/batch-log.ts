import { CheckpointError } from '../common/errors.js';
import { decodeFile, encodeFile } from './file-format.js';
import { CheckpointStorage, FileExistsError } from './storage.js';

export interface LogCodec<T> {
  readonly kind: string;
  readonly version: number;
  encode(entry: T): string;
  /** Parses a body whose checksum is already verified; throws on a shape it does not know. */
  decode(body: string): T;
}

/**
 * A log with one file per batch id (`<folder>/<N>`), written once and never changed. Offsets and
 * commits are both such logs; the checkpoint's integrity rests on their entries being immutable.
 */
export class BatchLog<T> {
  constructor(
    private readonly storage: CheckpointStorage,
    private readonly folder: string,
    private readonly codec: LogCodec<T>,
  ) {}

  async add(batchId: number, entry: T): Promise<void> {
    const path = this.pathOf(batchId);
    try {
      await this.storage.writeAtomic(path, encodeFile(this.codec.kind, this.codec.version, this.codec.encode(entry)),
        { overwrite: false });
    } catch (err) {
      if (err instanceof FileExistsError) {
        throw new CheckpointError('CONCURRENT_WRITER', this.storage.locate(path),
          `${this.storage.locate(path)} already exists: another query is writing to this checkpoint at the same ` +
            `time. Run only one query per checkpointLocation.`);
      }
      throw err;
    }
  }

  async get(batchId: number): Promise<T | null> {
    const path = this.pathOf(batchId);
    const data = await this.storage.read(path);
    if (data === null) return null;
    const where = this.storage.locate(path);
    const { body } = decodeFile(data, this.codec.kind, this.codec.version, where);
    try {
      return this.codec.decode(body.toString('utf8'));
    } catch (err) {
      throw new CheckpointError('CHECKPOINT_CORRUPT', where,
        `${where} has a valid checksum but content weir cannot read (${(err as Error).message}). ` +
          `It was probably written by hand or by another tool; restore it from a backup.`);
    }
  }

  /** Batch ids present, ascending. Names that are not batch ids are reported, never skipped. */
  async batchIds(): Promise<number[]> {
    const ids: number[] = [];
    for (const name of await this.storage.list(this.folder)) {
      if (!/^\d+$/.test(name)) {
        const where = this.storage.locate(`${this.folder}/${name}`);
        throw new CheckpointError('CHECKPOINT_FOREIGN', where,
          `${where} does not belong in a weir ${this.codec.kind} log (entries are named by batch id). ` +
            `Remove it; weir does not guess what it is.`);
      }
      ids.push(Number(name));
    }
    return ids.sort((a, b) => a - b);
  }

  async latestId(): Promise<number | null> {
    const ids = await this.batchIds();
    return ids.length === 0 ? null : ids[ids.length - 1]!;
  }

  /** Deletes entries with ids below `batchId`. */
  async purgeBefore(batchId: number): Promise<void> {
    for (const id of await this.batchIds()) {
      if (id < batchId) await this.storage.delete(this.pathOf(id));
    }
  }

  locate(batchId: number): string {
    return this.storage.locate(this.pathOf(batchId));
  }

  private pathOf(batchId: number): string {
    return `${this.folder}/${batchId}`;
  }
}
