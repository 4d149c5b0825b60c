import { randomUUID } from 'node:crypto';
import { CheckpointError } from '../common/errors.js';
import { BatchLog } from './batch-log.js';
import { CommitEntry, commitCodec } from './commit-log.js';
import { decodeFile, encodeFile } from './file-format.js';
import { CheckpointPaths } from './layout.js';
import { OffsetEntry, offsetCodec } from './offset-log.js';
import { CheckpointStorage, FileExistsError } from './storage.js';

/** `<checkpoint>/metadata`: who owns this checkpoint and what plan its state belongs to. */
export interface CheckpointMetadata {
  readonly id: string;
  /** One line per input: format, path and schema. A different input list means a different query. */
  readonly sources: readonly string[];
  /** One line per stateful operator: kind, keys, aggregates. State of another plan cannot be reused. */
  readonly statefulOperators: readonly string[];
  readonly createdAt: string;
}

const METADATA_KIND = 'metadata';
const METADATA_VERSION = 1;

/** Where the next batch starts after a (re)start, by the recovery rule of docs/ARCHITECTURE.md §4. */
export type Recovery =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'committed'; readonly batchId: number; readonly offsets: OffsetEntry; readonly commit: CommitEntry }
  | { readonly kind: 'rerun'; readonly batchId: number; readonly offsets: OffsetEntry;
      readonly previousOffsets: OffsetEntry | null; readonly previousCommit: CommitEntry | null };

/** The checkpoint folder: metadata, the offset log (WAL) and the commit log. */
export class Checkpoint {
  readonly offsets: BatchLog<OffsetEntry>;
  readonly commits: BatchLog<CommitEntry>;

  constructor(readonly storage: CheckpointStorage) {
    this.offsets = new BatchLog(storage, CheckpointPaths.offsets, offsetCodec);
    this.commits = new BatchLog(storage, CheckpointPaths.commits, commitCodec);
  }

  async readMetadata(): Promise<CheckpointMetadata | null> {
    const data = await this.storage.read(CheckpointPaths.metadata);
    if (data === null) return null;
    const where = this.storage.locate(CheckpointPaths.metadata);
    const { body } = decodeFile(data, METADATA_KIND, METADATA_VERSION, where);
    const meta = JSON.parse(body.toString('utf8')) as Partial<CheckpointMetadata>;
    if (typeof meta.id !== 'string' || !Array.isArray(meta.sources) || !Array.isArray(meta.statefulOperators)) {
      throw new CheckpointError('CHECKPOINT_CORRUPT', where, `${where} has a valid checksum but lacks the query id, ` +
        'sources or stateful operators. Restore it from a backup or use a new checkpointLocation.');
    }
    return meta as CheckpointMetadata;
  }

  /**
   * Returns this checkpoint's metadata, creating it for a new query, and refuses a checkpoint that
   * another query (other inputs, other stateful plan) wrote.
   */
  async openMetadata(sources: readonly string[], statefulOperators: readonly string[]): Promise<CheckpointMetadata> {
    const existing = await this.readMetadata();
    const where = this.storage.locate(CheckpointPaths.metadata);
    if (existing) {
      const mismatch = describeMismatch('inputs', existing.sources, sources)
        ?? describeMismatch('stateful operators', existing.statefulOperators, statefulOperators);
      if (mismatch) {
        throw new CheckpointError('CHECKPOINT_MISMATCH', where,
          `The checkpoint ${this.storage.description} belongs to a different query (id ${existing.id}): ${mismatch}. ` +
            'Its offsets and state cannot be reused by this query. Give this query a new checkpointLocation, or ' +
            'restore the original query.');
      }
      return existing;
    }
    if ((await this.offsets.latestId()) !== null) {
      throw new CheckpointError('CHECKPOINT_CORRUPT', where, `${where} is missing but the checkpoint has offsets: ` +
        'the checkpoint is incomplete. Restore the metadata file or use a new checkpointLocation.');
    }
    const meta: CheckpointMetadata = { id: randomUUID(), sources, statefulOperators, createdAt: new Date().toISOString() };
    try {
      await this.storage.writeAtomic(CheckpointPaths.metadata, encodeFile(METADATA_KIND, METADATA_VERSION, JSON.stringify(meta)),
        { overwrite: false });
    } catch (err) {
      // Two instances of one query (an active and its standby) started together: the first one's metadata wins.
      if (err instanceof FileExistsError) return this.openMetadata(sources, statefulOperators);
      throw err;
    }
    return meta;
  }

  /** Applies the recovery rule of docs/ARCHITECTURE.md §4 to the newest offsets and commits entries. */
  async recover(): Promise<Recovery> {
    const n = await this.offsets.latestId();
    const c = await this.commits.latestId();
    if (n === null && c === null) return { kind: 'fresh' };
    if (n !== null && c === n) {
      return { kind: 'committed', batchId: n, offsets: await this.mustGetOffsets(n), commit: await this.mustGetCommit(n) };
    }
    if (n !== null && (c === n - 1 || (c === null && n === 0))) {
      const previousOffsets = n > 0 ? await this.offsets.get(n - 1) : null;
      if (n > 0 && previousOffsets === null && c !== null) {
        throw this.gap(`${this.offsets.locate(n - 1)} is missing although ${this.commits.locate(c)} exists`);
      }
      return {
        kind: 'rerun', batchId: n, offsets: await this.mustGetOffsets(n), previousOffsets,
        previousCommit: c === null ? null : await this.mustGetCommit(c),
      };
    }
    if (n === null || (c !== null && c > n)) {
      throw this.gap(`${this.commits.locate(c!)} exists without its offsets entry (newest offsets: ${n ?? 'none'})`);
    }
    throw this.gap(`the newest offsets entry is ${n} but the newest commit is ${c ?? 'none'}: batches in between are missing`);
  }

  private gap(what: string): CheckpointError {
    return new CheckpointError('CHECKPOINT_INCONSISTENT', this.storage.description,
      `The checkpoint ${this.storage.description} is inconsistent: ${what}. weir will not guess which batches ran. ` +
        'Restore the missing files from a backup, or start the query on a new checkpointLocation.');
  }

  private async mustGetOffsets(batchId: number): Promise<OffsetEntry> {
    const entry = await this.offsets.get(batchId);
    if (!entry) throw this.gap(`${this.offsets.locate(batchId)} disappeared while reading`);
    return entry;
  }

  private async mustGetCommit(batchId: number): Promise<CommitEntry> {
    const entry = await this.commits.get(batchId);
    if (!entry) throw this.gap(`${this.commits.locate(batchId)} disappeared while reading`);
    return entry;
  }
}

function describeMismatch(what: string, stored: readonly string[], current: readonly string[]): string | null {
  if (stored.length === current.length && stored.every((s, i) => s === current[i])) return null;
  return `its ${what} were [${stored.join('; ')}], this query's are [${current.join('; ')}]`;
}
