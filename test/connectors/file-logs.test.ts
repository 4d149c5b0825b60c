/** Compaction of the file source's seen-files log and of the file sink's manifests, and readers across it. */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { PrefixedStorage } from '../../src/checkpoint/prefixed-storage.js';
import { CheckpointStorage } from '../../src/checkpoint/storage.js';
import { CheckpointError } from '../../src/common/errors.js';
import { Options } from '../../src/common/options.js';
import { toSchema } from '../../src/common/schema.js';
import { CompactedLog } from '../../src/connectors/file/compacted-log.js';
import { CommittedManifests, FileSink, FileSource, METADATA_FOLDER } from '../../src/connectors/file/index.js';
import { MANIFEST_CODEC } from '../../src/connectors/file/manifest.js';
import { Weir } from '../../src/index.js';
import { Offset } from '../../src/sources/source.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const SCHEMA = 'user STRING, amount DOUBLE';

function source(input: string, options: Record<string, number> = {}): FileSource {
  return new FileSource({ format: 'json', path: input, options: new Options({ maxFilesPerTrigger: 1, ...options }), schema: toSchema(SCHEMA) }, 'json');
}

async function open(s: FileSource, checkpoint: string): Promise<FileSource> {
  await s.open({ storage: new PrefixedStorage(new FileSystemStorage(checkpoint), 'sources/0'), queryId: 'q', notifyDataAvailable: () => undefined });
  return s;
}

/** `count` one-line files whose modification order is their name order. */
async function inputFiles(folder: string, count: number): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < count; i++) {
    await writeFile(join(folder, `f${String(i).padStart(3, '0')}.json`), `${JSON.stringify({ user: `u${i}`, amount: i })}\n`);
  }
}

describe('seen-files log compaction', () => {
  test('every compactInterval-th entry is a compact file; a restarted source re-admits nothing and replays any range', async () => {
    const dir = await tempDir();
    const [input, checkpoint] = [join(dir, 'in'), join(dir, 'cp')];
    await inputFiles(input, 7);
    const first = await open(source(input, { compactInterval: 3 }), checkpoint);
    const offsets: Offset[] = [];
    let at: Offset | null = null;
    for (let i = 0; i < 7; i++) offsets.push(at = await first.latestOffset(at));
    assert.deepEqual(offsets.at(-1), { logOffset: 7 });
    assert.deepEqual((await readdir(join(checkpoint, 'sources', '0', 'files'))).sort(), ['6.compact', '7']);
    const restarted = await open(source(input, { compactInterval: 3 }), checkpoint);
    assert.deepEqual(await restarted.latestOffset(offsets[6]!), offsets[6], 'nothing is admitted twice');
    const users = async (from: Offset | null, to: Offset): Promise<unknown[]> => (await restarted.getBatch(from, to)).map((r) => r['user']);
    assert.deepEqual(await users(offsets[1]!, offsets[3]!), ['u2', 'u3']);
    assert.deepEqual(await users(null, offsets[6]!), ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
  });

  test('files a crash mid-compaction left behind are ignored, then deleted when the source opens', async () => {
    const dir = await tempDir();
    const [input, checkpoint] = [join(dir, 'in'), join(dir, 'cp')];
    const folder = join(checkpoint, 'sources', '0', 'files');
    await inputFiles(input, 4);
    const first = await open(source(input, { compactInterval: 2 }), checkpoint);
    let at: Offset | null = null;
    for (let i = 0; i < 3; i++) at = await first.latestOffset(at);
    const covered = new Map<string, Buffer>();
    for (const name of await readdir(folder)) covered.set(name, await readFile(join(folder, name)));
    at = await first.latestOffset(at);
    assert.deepEqual(await readdir(folder), ['4.compact']);
    // As if the compaction at 4 had died before deleting the files it covers.
    for (const [name, data] of covered) await writeFile(join(folder, name), data);
    assert.deepEqual((await readdir(folder)).sort(), ['2.compact', '3', '4.compact']);
    const restarted = await open(source(input, { compactInterval: 2 }), checkpoint);
    assert.deepEqual((await restarted.getBatch(null, at)).map((r) => r['user']), ['u0', 'u1', 'u2', 'u3']);
    assert.deepEqual(await restarted.latestOffset(at), at);
    assert.deepEqual(await readdir(folder), ['4.compact']);
  });
});

describe('file sink manifest compaction', () => {
  async function writeBatches(out: string, batches: number, compactInterval: number): Promise<void> {
    const sink = new FileSink({ format: 'json', path: out, options: new Options({ compactInterval }) }, 'json');
    await sink.open({ queryId: 'q', queryName: null, schema: toSchema(SCHEMA), outputMode: 'append', keyColumns: [] });
    for (let b = 0; b < batches; b++) await sink.addBatch(b, [{ user: `u${b}`, amount: b }], `digest-${b}`);
  }

  test('every compactInterval-th manifest is a compact file; readers and a re-opened sink see every batch once', async () => {
    const out = await tempDir();
    await writeBatches(out, 7, 3);
    assert.deepEqual((await readdir(join(out, METADATA_FOLDER))).sort(), ['5.compact', '6']);
    const read = async (): Promise<unknown[]> => (await new Weir().read.format('json').schema(SCHEMA).load(out).collect()).map((r) => r['user']);
    assert.deepEqual(await read(), ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
    // A re-opened sink knows batches 0..6 are committed, also those only in the compact file: a re-run writes nothing.
    await writeBatches(out, 7, 3);
    assert.deepEqual(await read(), ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
  });

  test('a reader that read some manifests before a compaction reads the rest, each once, after it', async () => {
    const out = await tempDir();
    const reader = new CommittedManifests(out);
    const sink = new FileSink({ format: 'json', path: out, options: new Options({ compactInterval: 4 }) }, 'json');
    await sink.open({ queryId: 'q', queryName: null, schema: toSchema(SCHEMA), outputMode: 'append', keyColumns: [] });
    for (let b = 0; b < 2; b++) await sink.addBatch(b, [{ user: `u${b}`, amount: b }], `digest-${b}`);
    assert.deepEqual((await reader.read()).map((m) => m.batchId), [0, 1]);
    for (let b = 2; b < 6; b++) await sink.addBatch(b, [{ user: `u${b}`, amount: b }], `digest-${b}`);
    assert.deepEqual((await readdir(join(out, METADATA_FOLDER))).sort(), ['3.compact', '4', '5']);
    assert.deepEqual((await reader.read()).map((m) => m.batchId), [0, 1, 2, 3, 4, 5]);
  });

  test('a reader whose listing went stale during a compaction (files gone when read) lists again', async () => {
    const out = await tempDir();
    await writeBatches(out, 3, 3);
    // The reader's storage shows the listing from before the compaction: entries 0 and 1, which are deleted now.
    const real = new FileSystemStorage(out);
    let stale = true;
    const lagging: CheckpointStorage = {
      description: real.description, locate: (p) => real.locate(p), read: (p) => real.read(p),
      writeAtomic: (p, d, o) => real.writeAtomic(p, d, o), delete: (p) => real.delete(p), lock: (o) => real.lock(o),
      list: async (d) => {
        if (!stale) return real.list(d);
        stale = false;
        return ['0', '1'];
      },
    };
    const log = new CompactedLog(lagging, METADATA_FOLDER, MANIFEST_CODEC, { interval: 0, firstId: 0, faultStep: 'midSinkLogCompaction' });
    assert.deepEqual((await log.readAfter(-1)).map(([id]) => id), [0, 1, 2]);
    assert.equal(stale, false);
  });

  test('a listed file that never exists when read ends in an error naming the folder, not an endless loop', async () => {
    const out = await tempDir();
    const real = new FileSystemStorage(out);
    const phantom: CheckpointStorage = {
      description: real.description, locate: (p) => real.locate(p), read: (p) => real.read(p),
      writeAtomic: (p, d, o) => real.writeAtomic(p, d, o), delete: (p) => real.delete(p), lock: (o) => real.lock(o),
      list: async () => ['0'],
    };
    const log = new CompactedLog(phantom, METADATA_FOLDER, MANIFEST_CODEC, { interval: 0, firstId: 0, faultStep: 'midSinkLogCompaction' });
    await assert.rejects(() => log.readAfter(-1), (err: unknown) =>
      err instanceof CheckpointError && err.code === 'CHECKPOINT_IO' && err.path === join(out, METADATA_FOLDER));
  });
});
