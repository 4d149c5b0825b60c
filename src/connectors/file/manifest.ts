import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LogCodec } from '../../checkpoint/batch-log.js';
import { FileSystemStorage } from '../../checkpoint/fs-storage.js';
import { CompactedLog } from './compacted-log.js';
import { parseSchemaDDL } from '../../common/ddl.js';
import { Schema } from '../../common/schema.js';
import { errorMessage } from '../../common/errors.js';

/**
 * A file sink's output folder holds its part files plus `_weir_metadata/`: one manifest per committed
 * batch, listing that batch's files, every `compactInterval`-th one written as `<batchId>.compact`
 * holding all manifests so far (see {@link CompactedLog}). A part file not listed in a manifest is not
 * output (it is left over from a crashed attempt), so readers go by the manifests, never by the listing.
 */
export const METADATA_FOLDER = '_weir_metadata';

export interface ManifestFile {
  /** Name of the part file inside the output folder. */
  readonly path: string;
  readonly size: number;
  readonly rows: number;
}

export interface Manifest {
  /** The query that wrote the batch: a new query (new checkpoint) must not take over the folder unnoticed. */
  readonly queryId: string;
  readonly batchId: number;
  /** The batch's digest (batch-identity.ts); null in manifests written before weir recorded it. */
  readonly digest: string | null;
  readonly files: readonly ManifestFile[];
  /**
   * The schema the batch was written with, as DDL; null in manifests written before weir recorded it.
   * A batch read of the folder without `.schema(...)` takes it, so the output reads back with the
   * types it was written with (a window as a struct of timestamps, not text inferred from JSON).
   */
  readonly schema: string | null;
}

/** Body: a JSON line `{queryId, batchId, digest, schema}`, then one JSON line per part file. */
export const MANIFEST_CODEC: LogCodec<Manifest> = {
  kind: 'file-sink-manifest',
  version: 1,
  encode: (m) => [JSON.stringify({ queryId: m.queryId, batchId: m.batchId, digest: m.digest, schema: m.schema }),
    ...m.files.map((f) => JSON.stringify(f))].join('\n'),
  decode(body) {
    const [head, ...lines] = body.split('\n');
    const { queryId, batchId, digest, schema } = JSON.parse(head!) as Partial<Manifest>;
    if (typeof queryId !== 'string' || !Number.isSafeInteger(batchId)) throw new Error('the first line lacks queryId or batchId');
    if (digest !== undefined && digest !== null && typeof digest !== 'string') throw new Error('the first line has a digest that is not text');
    if (schema !== undefined && schema !== null) {
      if (typeof schema !== 'string') throw new Error('the first line has a schema that is not text');
      try {
        parseSchemaDDL(schema);
      } catch (err) {
        throw new Error(`the first line has a schema that does not parse (${errorMessage(err)})`);
      }
    }
    const files = lines.map((line) => {
      const f = JSON.parse(line) as Partial<ManifestFile>;
      if (typeof f.path !== 'string' || !/^[^/\\]+$/.test(f.path) || f.path.startsWith('.') ||
        !Number.isSafeInteger(f.size) || !Number.isSafeInteger(f.rows)) {
        throw new Error(`${JSON.stringify(line).slice(0, 80)} is not a part file entry`);
      }
      return f as ManifestFile;
    });
    return { queryId, batchId: batchId!, digest: digest ?? null, files, schema: schema ?? null };
  },
};

/** Manifests: one per batch, batch ids from 0. */
function manifestLog(folder: string, compactInterval: number): CompactedLog<Manifest> {
  return new CompactedLog(new FileSystemStorage(folder), METADATA_FOLDER, MANIFEST_CODEC,
    { interval: compactInterval, firstId: 0, faultStep: 'midSinkLogCompaction' });
}

/** Whether `folder` is a file sink's output (it has a metadata folder). */
export async function isSinkOutput(folder: string): Promise<boolean> {
  try {
    return (await stat(join(folder, METADATA_FOLDER))).isDirectory();
  } catch {
    return false;
  }
}

/** The manifest log as the output folder's one writer (the sink) keeps it: every manifest in memory. */
export class SinkManifests {
  private readonly log: CompactedLog<Manifest>;
  private readonly manifests: Manifest[] = [];
  private readonly byBatch = new Map<number, Manifest>();

  constructor(folder: string, compactInterval: number) {
    this.log = manifestLog(folder, compactInterval);
  }

  /** Reads every manifest (batch order) and deletes files a compaction left behind when it was interrupted. */
  async load(): Promise<readonly Manifest[]> {
    this.manifests.length = 0;
    this.byBatch.clear();
    for (const [, manifest] of await this.log.readAfter(-1)) this.remember(manifest);
    await this.log.removeCompacted();
    return this.manifests;
  }

  /** The manifest of batch `batchId`, when it is committed. */
  get(batchId: number): Manifest | undefined {
    return this.byBatch.get(batchId);
  }

  /** Commits the batch: writes its manifest (or a compact file). Fails with FileExistsError when another writer did. */
  async add(manifest: Manifest): Promise<void> {
    await this.log.add(manifest.batchId, manifest, () => this.manifests.map((m) => [m.batchId, m] as [number, Manifest]));
    this.remember(manifest);
  }

  locate(batchId: number): string {
    return this.log.locate(batchId);
  }

  private remember(manifest: Manifest): void {
    this.manifests.push(manifest);
    this.byBatch.set(manifest.batchId, manifest);
  }
}

/**
 * The committed manifests of an output folder, in batch order, for readers. Manifests never change
 * once written, so each is read once; later calls read only newer ones (from a compact file when a
 * compaction happened in between). A foreign or corrupt file in the metadata folder is a
 * `CheckpointError` naming it.
 */
export class CommittedManifests {
  private readonly log: CompactedLog<Manifest>;
  private readonly known: Manifest[] = [];

  constructor(folder: string) {
    // Readers never compact; the interval only matters to writers.
    this.log = manifestLog(folder, 0);
  }

  async read(): Promise<Manifest[]> {
    const newest = this.known[this.known.length - 1]?.batchId ?? -1;
    for (const [, manifest] of await this.log.readAfter(newest)) this.known.push(manifest);
    return [...this.known];
  }
}

/**
 * The schema an output folder's batches were written with, when every manifest that records one
 * (and lists files) agrees; null when none does or a restarted query changed it (then the reader infers).
 */
export function writtenSchema(manifests: readonly Manifest[]): Schema | null {
  const schemas = new Set(manifests.filter((m) => m.files.length > 0).map((m) => m.schema));
  if (schemas.size !== 1) return null;
  const [ddl] = schemas;
  return ddl === null || ddl === undefined ? null : parseSchemaDDL(ddl);
}
