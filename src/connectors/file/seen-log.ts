import { LogCodec } from '../../checkpoint/batch-log.js';
import { CheckpointStorage, FileExistsError } from '../../checkpoint/storage.js';
import { CheckpointError } from '../../common/errors.js';
import { CompactedLog } from './compacted-log.js';
import { InputFile } from './paths.js';
import { SourcePaths } from '../../checkpoint/layout.js';

const FOLDER = SourcePaths.seenFiles;

const CODEC: LogCodec<InputFile[]> = {
  kind: 'file-source-log',
  version: 1,
  encode: (files) => files.map((f) => JSON.stringify({ path: f.path, size: f.size, mtimeMs: f.mtimeMs, ino: f.ino })).join('\n'),
  decode: (body) => body.split('\n').map((line) => {
    const f = JSON.parse(line) as Partial<InputFile>;
    if (typeof f.path !== 'string' || !Number.isSafeInteger(f.size) || typeof f.mtimeMs !== 'number' ||
      (f.ino !== undefined && typeof f.ino !== 'number')) {
      throw new Error(`${JSON.stringify(line).slice(0, 80)} is not a file entry`);
    }
    return f as InputFile;
  }),
};

/**
 * The durable list of files a file source has admitted: entry n (n = 1, 2, …) lists the files that
 * offset n added, with the length admitted, written once (atomically, never overwritten) before offset
 * n is handed to the engine. So the files of any offset range are known after a restart, and a file
 * already in the log is never admitted again. Every `compactInterval`-th entry is written as a compact
 * file holding all entries so far (see {@link CompactedLog}), so opening reads a bounded number of files.
 */
export class SeenFilesLog {
  private readonly log: CompactedLog<InputFile[]>;
  private readonly entries: InputFile[][] = [];
  private readonly seen = new Set<string>();

  constructor(storage: CheckpointStorage, compactInterval: number) {
    this.log = new CompactedLog(storage, FOLDER, CODEC, { interval: compactInterval, firstId: 1, faultStep: 'midSourceLogCompaction' });
  }

  /** The newest offset in the log; 0 when it is empty. */
  get latest(): number {
    return this.entries.length;
  }

  async load(): Promise<void> {
    const loaded = await this.log.readAfter(0);
    loaded.forEach(([id], i) => {
      if (id !== i + 1) {
        const where = this.log.locate(i + 1);
        throw new CheckpointError('CHECKPOINT_INCOMPLETE', where, `The seen-files log of this file source lacks entry ` +
          `${i + 1} (${where}; entries ${loaded.map(([n]) => n).join(', ')} exist). Restore the checkpoint from a backup, ` +
          'or start the query with a new checkpointLocation (its input will then be read again).');
      }
    });
    this.entries.length = 0;
    this.seen.clear();
    for (const [, files] of loaded) this.remember(files);
    await this.log.removeCompacted();
  }

  has(path: string): boolean {
    return this.seen.has(path);
  }

  /** Durably records `files` as offset `latest + 1`, and returns that offset. */
  async append(files: readonly InputFile[]): Promise<number> {
    const id = this.latest + 1;
    try {
      await this.log.add(id, [...files], () => this.entries.map((entry, i) => [i + 1, entry] as [number, InputFile[]]));
    } catch (err) {
      if (!(err instanceof FileExistsError)) throw err;
      throw new CheckpointError('CONCURRENT_WRITER', err.path, `${err.path} already exists: another query is writing to ` +
        'this checkpoint at the same time. Run only one query per checkpointLocation.');
    }
    this.remember([...files]);
    return this.latest;
  }

  /** Files of the offsets in (from, to], in admission order. */
  filesBetween(from: number, to: number): InputFile[] {
    if (to > from) this.filesOf(to);
    return this.entries.slice(from, to).flat();
  }

  /** Files of offset `id` (1-based). */
  filesOf(id: number): readonly InputFile[] {
    const files = this.entries[id - 1];
    if (files === undefined) {
      const where = this.log.locate(id);
      throw new CheckpointError('OFFSET_AHEAD_OF_LOG', where, `The offsets log asks for file source offset ${id}, but ` +
        `the seen-files log ends at ${this.latest} (${where} does not exist). The source's folder of the checkpoint was ` +
        'removed or replaced: restore it, or start the query with a new checkpointLocation.');
    }
    return files;
  }

  private remember(files: InputFile[]): void {
    this.entries.push(files);
    for (const f of files) this.seen.add(f.path);
  }
}
