import { stat } from 'node:fs/promises';
import { byAge, describeFiles, InputFile, InputFiles, Listing } from './paths.js';

/**
 * How long a folder's modification time must have stayed the same, between two listings, before
 * an unchanged time is trusted to mean "no new entry": file systems stamp times with a coarse clock,
 * so an entry added right after a listing, in the same tick, can leave the time as the listing saw it.
 * A time with a fraction of a second comes from a file system with fine times, whose clock ticks in
 * milliseconds (the kernel's tick); a whole-second time may come from one that keeps seconds (up to
 * 2 s per tick), or be a fine time that happens to be round, and gets the longer wait.
 */
const SETTLE_MS = { fine: 200, coarse: 3_000 };

interface FolderState { readonly mtimeMs: number; readonly firstSeenAt: number }

/** What the finder needs from the file system; tests pass counting versions. */
export interface FileLookup {
  listing(): Promise<Listing>;
  describe(paths: readonly string[]): Promise<InputFile[]>;
  /** How long a folder time must stay the same before it is trusted (default: {@link SETTLE_MS} by the time's resolution). */
  readonly settleMs?: number;
}

/**
 * The files a streaming file source has not admitted yet, found without redoing work per trigger:
 * a file is `stat`ed once when first listed (its modification time orders admission), not on every
 * trigger; and the folders are listed again only when one of them changed, so an idle query costs a
 * `stat` per folder per poll instead of a full listing. A folder's modification time changes whenever
 * an entry is added, removed or renamed in it; it is trusted once it has stayed the same across
 * listings for longer than a tick of the file system's clock ({@link SETTLE_MS}), and a full listing
 * still runs every `relistIntervalMs` (0: every trigger) for file systems whose folder times cannot be trusted.
 */
export class UnseenFiles {
  /** The finder over a source's input files. */
  static of(input: InputFiles, relistIntervalMs: number): UnseenFiles {
    return new UnseenFiles({ listing: () => input.listing(), describe: describeFiles }, relistIntervalMs);
  }

  /** Listed, not yet admitted files, oldest first (the modification time when first listed). */
  private pending: InputFile[] = [];
  private readonly pendingPaths = new Set<string>();
  /** The folders the last listing read; null before it, or when its files did not come from folders. */
  private folders: Map<string, FolderState> | null = null;
  /** When the last listing started (performance.now()). */
  private listedAt = 0;
  constructor(private readonly lookup: FileLookup, private readonly relistIntervalMs: number) {}

  /**
   * Up to `limit` of the oldest unadmitted files that `admissible` accepts, each described as it is now
   * (size, modification time, inode); files that vanished are left out.
   */
  async next(admissible: (path: string) => boolean, limit: number | undefined): Promise<InputFile[]> {
    if (!await this.unchanged()) await this.relist(admissible);
    const chosen: string[] = [];
    for (const file of this.pending) {
      if (chosen.length === limit) break;
      if (admissible(file.path)) chosen.push(file.path);
    }
    const described = await this.lookup.describe(chosen);
    if (described.length < chosen.length) {
      const present = new Set(described.map((f) => f.path));
      this.forget(chosen.filter((path) => !present.has(path)));
    }
    return described;
  }

  /** The files were logged as admitted: they are no longer candidates. */
  admitted(files: readonly InputFile[]): void {
    this.forget(files.map((f) => f.path));
  }

  private forget(paths: readonly string[]): void {
    if (paths.length === 0) return;
    const gone = new Set(paths);
    for (const path of paths) this.pendingPaths.delete(path);
    this.pending = this.pending.filter((f) => !gone.has(f.path));
  }

  /** Whether the last listing still holds: every folder it read kept a settled modification time. */
  private async unchanged(): Promise<boolean> {
    const { folders, listedAt } = this;
    if (folders === null) return false;
    if (this.relistIntervalMs === 0 || performance.now() - listedAt >= this.relistIntervalMs) return false;
    for (const [path, state] of folders) {
      if (listedAt - state.firstSeenAt < this.settleMsOf(state.mtimeMs)) return false;
      const now = await stat(path).then((s) => s.mtimeMs, () => null);
      if (now !== state.mtimeMs) return false;
    }
    return true;
  }

  private settleMsOf(mtimeMs: number): number {
    return this.lookup.settleMs ?? (Number.isInteger(mtimeMs / 1000) ? SETTLE_MS.coarse : SETTLE_MS.fine);
  }

  private async relist(admissible: (path: string) => boolean): Promise<void> {
    const startedAt = performance.now();
    const { files, folders } = await this.lookup.listing();
    const listed = new Set(files);
    const vanished = [...this.pendingPaths].filter((path) => !listed.has(path));
    this.forget(vanished);
    const fresh = await this.lookup.describe(files.filter((path) => !this.pendingPaths.has(path) && admissible(path)));
    if (fresh.length > 0) {
      for (const file of fresh) this.pendingPaths.add(file.path);
      this.pending = [...this.pending, ...fresh].sort(byAge);
    }
    const previous = this.folders;
    this.listedAt = startedAt;
    this.folders = folders === null ? null : new Map(folders.map((folder): [string, FolderState] => {
      const known = previous?.get(folder.path);
      return [folder.path, known !== undefined && known.mtimeMs === folder.mtimeMs ? known
        : { mtimeMs: folder.mtimeMs, firstSeenAt: startedAt }];
    }));
  }
}
