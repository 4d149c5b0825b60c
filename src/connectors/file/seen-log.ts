import { BatchLog, LogCodec } from '../../checkpoint/batch-log.js';
import { CheckpointStorage } from '../../checkpoint/storage.js';
import { CheckpointError } from '../../common/errors.js';
import { mapInBatches } from '../../common/parallel.js';
import { InputFile } from './paths.js';
import { SourcePaths } from '../../checkpoint/layout.js';

const FOLDER = SourcePaths.seenFiles;

const CODEC: LogCodec<InputFile[]> = {
  kind: 'file-source-log',
  version: 1,
  encode: (files) => files.map((f) => JSON.stringify({ path: f.path, size: f.size, mtimeMs: f.mtimeMs })).join('\n'),
  decode: (body) => body.split('\n').map((line) => {
    const f = JSON.parse(line) as Partial<InputFile>;
    if (typeof f.path !== 'string' || !Number.isSafeInteger(f.size) || typeof f.mtimeMs !== 'number') {
      throw new Error(`${JSON.stringify(line).slice(0, 80)} is not a file entry`);
    }
    return f as InputFile;
  }),
};

/**
 * The durable list of files a file source has admitted: entry `files/<n>` (n = 1, 2, …) lists the
 * files that offset n added, written once (atomically, never overwritten) before offset n is handed
 * to the engine. So the files of any offset range are known after a restart, and a file already in the
 * log is never admitted again. Entries are small and kept for the life of the checkpoint; a source
 * with very many files pays one small read per entry when it opens.
 */
export class SeenFilesLog {
  private readonly log: BatchLog<InputFile[]>;
  private readonly entries: InputFile[][] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly storage: CheckpointStorage) {
    this.log = new BatchLog(storage, FOLDER, CODEC);
  }

  /** The newest offset in the log; 0 when it is empty. */
  get latest(): number {
    return this.entries.length;
  }

  async load(): Promise<void> {
    const ids = await this.log.batchIds();
    ids.forEach((id, i) => {
      if (id !== i + 1) {
        const where = this.storage.locate(`${FOLDER}/${i + 1}`);
        throw new CheckpointError('CHECKPOINT_INCOMPLETE', where, `The seen-files log of this file source lacks ${where} ` +
          `(entries ${ids.join(', ')} exist). Restore the checkpoint from a backup, or start the query with a new ` +
          'checkpointLocation (its input will then be read again).');
      }
    });
    const loaded = await mapInBatches(ids, 64, (id) => this.log.get(id));
    this.entries.length = 0;
    this.seen.clear();
    for (const files of loaded) this.remember(files!);
  }

  has(path: string): boolean {
    return this.seen.has(path);
  }

  /** Durably records `files` as offset `latest + 1`, and returns that offset. */
  async append(files: readonly InputFile[]): Promise<number> {
    await this.log.add(this.latest + 1, [...files]);
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
      const where = this.storage.locate(`${FOLDER}/${id}`);
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
