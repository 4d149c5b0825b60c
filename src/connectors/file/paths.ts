import { Dirent, Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import picomatch from 'picomatch';
import { ConnectorError, errorMessage } from '../../common/errors.js';
import { Options } from '../../common/options.js';
import { CommittedManifests, isSinkOutput, Manifest } from './manifest.js';
import { mapInBatches } from '../../common/parallel.js';

/** A file admitted for reading, as the seen-files log records it. */
export interface InputFile {
  readonly path: string;
  /** Bytes admitted: a batch reads exactly this prefix of the file, however it grows later. */
  readonly size: number;
  readonly mtimeMs: number;
  /** The file's inode number when admitted (absent in logs written before it was recorded, or 0 where the system has none). */
  readonly ino?: number;
}

/** A folder a listing read, with its modification time then (it changes when an entry is added, removed or renamed). */
export interface ListedFolder {
  readonly path: string;
  readonly mtimeMs: number;
}

/**
 * What one listing found: the selected files and the folders read; folders is null when the files
 * do not come from reading folders (a sink's manifests, a single file, a path that does not exist yet).
 */
export interface Listing {
  readonly files: string[];
  readonly folders: ListedFolder[] | null;
}

/**
 * Names a reader never picks up: hidden (`.x`), underscore (`_x`, e.g. `_weir_metadata`, `_SUCCESS`)
 * and temp (`x.tmp`) files and folders. Writers must write a file elsewhere (or under such a name)
 * and rename it into the folder when complete: a file is read once, as it is when first listed.
 */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || name.startsWith('_') || name.endsWith('.tmp');
}

/**
 * The files a path option selects. The path is a folder (its files, not sub-folders unless
 * `recursiveFileLookup` is true), a file (batch reads), or a glob such as `data/2024-*\/*.json`;
 * option `pathGlobFilter` further filters file names. A file sink's output folder (one with
 * `_weir_metadata/`) yields only the files its manifests list, so uncommitted files are never read.
 */
export class InputFiles {
  /** The folder (or file) the listing starts from, resolved. */
  readonly base: string;
  private readonly matches: ((relative: string) => boolean) | null;
  private readonly depth: number;
  private readonly nameFilter: ((name: string) => boolean) | null;
  private manifests: CommittedManifests | null = null;

  constructor(readonly given: string, options: Options) {
    const scan = picomatch.scan(given);
    const glob = scan.isGlob ? scan.glob : '';
    this.base = resolve(scan.isGlob ? scan.base || '.' : given);
    this.matches = glob ? picomatch(glob) : null;
    const recursive = options.boolean('recursiveFileLookup', false);
    this.depth = recursive || glob.includes('**') ? Infinity : glob ? glob.split('/').length : 1;
    const filter = options.string('pathGlobFilter');
    this.nameFilter = filter ? picomatch(filter) : null;
  }

  /** What the base path is now. */
  async kind(): Promise<'folder' | 'file' | 'missing'> {
    try {
      return (await stat(this.base)).isDirectory() ? 'folder' : 'file';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw listError(this.base, err);
    }
  }

  /** The committed manifests when the base is a file sink's output folder, else null. */
  async sinkManifests(): Promise<Manifest[] | null> {
    if (await this.kind() !== 'folder' || !await isSinkOutput(this.base)) return null;
    this.manifests ??= new CommittedManifests(this.base);
    return this.manifests.read();
  }

  /** Absolute paths of the selected files, in no particular order; empty when the base does not exist. */
  async list(): Promise<string[]> {
    return (await this.listing()).files;
  }

  /**
   * The selected files and the folders read to find them. Each real folder is read once, however many
   * symbolic links lead to it, so a link back to an ancestor cannot make a recursive listing loop;
   * links that lead nowhere (dangling, or a cycle of links) are skipped.
   */
  async listing(): Promise<Listing> {
    const kind = await this.kind();
    if (kind === 'missing') return { files: [], folders: null };
    if (kind === 'file') return { files: [this.base], folders: null };
    const manifests = await this.sinkManifests();
    if (manifests !== null) {
      const files = manifests
        .flatMap((m) => m.files.map((f) => f.path))
        .filter((name) => this.selects(name, name))
        .map((name) => join(this.base, name));
      return { files, folders: null };
    }
    const files: string[] = [];
    const folders: ListedFolder[] = [];
    const base = await statFolder(this.base, 1);
    if (base !== null) await this.walk(this.base, base, '', 1, { files, folders }, new Set());
    return { files, folders };
  }

  private selects(relative: string, name: string): boolean {
    return (this.matches === null || this.matches(relative)) && (this.nameFilter === null || this.nameFilter(name));
  }

  private async walk(dir: string, dirStat: Stats, relative: string, level: number,
    out: { files: string[]; folders: ListedFolder[] }, visited: Set<string>): Promise<void> {
    const identity = `${dirStat.dev}:${dirStat.ino}`;
    if (visited.has(identity)) return;
    visited.add(identity);
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      // A sub-folder removed while listing is simply no longer there.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && level > 1) return;
      throw listError(dir, err);
    }
    out.folders.push({ path: dir, mtimeMs: dirStat.mtimeMs });
    for (const entry of entries) {
      if (isIgnoredName(entry.name)) continue;
      const path = join(dir, entry.name);
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      let target: Stats | null = null;
      if (entry.isSymbolicLink()) {
        target = await stat(path).catch(() => null);
        if (target === null) continue;
      }
      if (target ? target.isDirectory() : entry.isDirectory()) {
        if (level >= this.depth) continue;
        const sub = target ?? await statFolder(path, level + 1);
        if (sub !== null) await this.walk(path, sub, rel, level + 1, out, visited);
      } else if (this.selects(rel, entry.name)) {
        out.files.push(path);
      }
    }
  }
}

/** The folder's stat; null when a sub-folder vanished. */
async function statFolder(path: string, level: number): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && level > 1) return null;
    throw listError(path, err);
  }
}

/** Size, modification time and inode of each file; files that vanished since the listing are left out. */
export async function describeFiles(paths: readonly string[]): Promise<InputFile[]> {
  const found = await mapInBatches(paths, 64, async (path): Promise<InputFile | null> => {
    try {
      const s = await stat(path);
      return s.isFile() ? { path, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ELOOP') return null;
      throw listError(path, err);
    }
  });
  return found.filter((f): f is InputFile => f !== null);
}

/** Oldest first, ties by path: the order files are admitted and read in. */
export function byAge(a: InputFile, b: InputFile): number {
  return a.mtimeMs - b.mtimeMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

function listError(path: string, err: unknown): ConnectorError {
  return new ConnectorError('FILE_LIST', `Could not list input ${path}: ${errorMessage(err)}. Check that it exists ` +
    'and is readable.', { cause: err });
}
