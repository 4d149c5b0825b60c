/**
 * The checkpoint layout: what a query writes is what checkpoint/layout.ts names (so checkpoints of
 * earlier versions keep their paths), and a real local path is only ever made from `localRoot`.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { after, describe, test } from 'node:test';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { CheckpointPaths, localPath, operatorStoreFolders } from '../../src/checkpoint/layout.js';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { PrefixedStorage } from '../../src/checkpoint/prefixed-storage.js';
import { CheckpointStorage } from '../../src/checkpoint/storage.js';
import { col, count, Weir } from '../../src/index.js';
import { removeTempDirs, startMemory, tempDir } from '../api/helpers.js';

after(removeTempDirs);

async function filesUnder(root: string, dir = root): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...await filesUnder(root, path));
    else found.push(relative(root, path).split(sep).join('/'));
  }
  return found.sort();
}

describe('checkpoint layout', () => {
  test('a join and an aggregation write exactly the paths of the layout, as earlier versions did', async () => {
    const dir = await tempDir();
    const weir = new Weir();
    const imps = weir.memoryStream({ adId: 'string', impTime: 'timestamp' });
    const clicks = weir.memoryStream({ clickAdId: 'string', clickTime: 'timestamp' });
    const joined = imps.toDF().withWatermark('impTime', '10 seconds').join(
      clicks.toDF().withWatermark('clickTime', '20 seconds'),
      col('adId').equalTo(col('clickAdId')).and(col('clickTime').geq(col('impTime'))).and(col('clickTime').leq(col('impTime').plus(60_000))));
    const query = await startMemory(joined, 'ads', { checkpoint: dir, options: { numStatePartitions: 2 } });
    imps.addData([{ adId: 'a', impTime: 1000 }]);
    clicks.addData([{ clickAdId: 'a', clickTime: 2000 }]);
    await query.processAllAvailable();
    const whileRunning = await filesUnder(dir);
    await query.stop();
    const lock = whileRunning.filter((f) => f.startsWith(`${CheckpointPaths.lock}/`));
    assert.equal(lock.length, 1, `one lock generation while the query runs: ${lock.join(', ')}`);
    assert.deepEqual(whileRunning.filter((f) => !lock.includes(f)), [
      'commits/0', 'metadata', 'offsets/0',
      'state/0/left/0/0.delta', 'state/0/left/1/0.delta', 'state/0/right/0/0.delta', 'state/0/right/1/0.delta',
    ]);
    assert.deepEqual(await operatorStoreFolders(new FileSystemStorage(dir), 0), ['state/0/left', 'state/0/right']);

    const counts = await tempDir();
    const words = weir.memoryStream({ word: 'string' });
    const counting = await startMemory(words.toDF().groupBy(col('word')).agg(count('*').as('n')), 'words',
      { mode: 'complete', checkpoint: counts, options: { numStatePartitions: 2 } });
    words.addData([{ word: 'a' }]);
    await counting.processAllAvailable();
    await counting.stop();
    assert.deepEqual(await filesUnder(counts), ['commits/0', 'metadata', 'offsets/0', 'state/0/0/0.delta', 'state/0/1/0.delta']);
    assert.deepEqual(await operatorStoreFolders(new FileSystemStorage(counts), 0), ['state/0']);
  });

  test('a real path comes from localRoot, never from locate() (which names paths for messages)', async () => {
    const root = await tempDir();
    const files = new FileSystemStorage(root);
    // A storage on a local folder whose messages name it another way (as a URL, say).
    const described: CheckpointStorage = Object.assign(Object.create(files) as FileSystemStorage,
      { locate: (path: string) => `file+weir://checkpoint/${path}` });
    const source = new PrefixedStorage(described, CheckpointPaths.source(0));
    assert.equal(source.localRoot, join(root, 'sources', '0'));
    assert.equal(localPath(source, 'wal', 'The WAL'), join(root, 'sources', '0', 'wal'));
    assert.throws(() => localPath(new PrefixedStorage(new MemoryStorage(), 'sources/0'), 'wal', 'The http source\'s ingest WAL'),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'CHECKPOINT_NOT_LOCAL');
        assert.match(err.message, /The http source's ingest WAL needs the checkpoint on the local file system; memory:sources\/0 is not a local folder/);
        return true;
      });
  });
});
