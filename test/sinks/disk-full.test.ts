/**
 * A full disk while a batch is written: the query stops with an error that names the file and says
 * what to do, nothing of the batch becomes visible, and a restart after space is freed writes the
 * batch exactly once. ENOSPC is simulated by failing the opens of one folder's files.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, mock, test } from 'node:test';
import { CheckpointError, ConnectorError, StreamingQueryException, Weir } from '../../src/index.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const SCHEMA = 'id LONG';

/** Makes every open of a file under `folder` fail as on a full disk, until the returned function is called. */
function fillDisk(folder: string): () => void {
  const open = fs.promises.open;
  const fake = mock.method(fs.promises, 'open', (path: fs.PathLike, ...rest: [string?]) => {
    if (String(path).startsWith(folder) && rest[0] !== 'r') {
      return Promise.reject(Object.assign(new Error(`ENOSPC: no space left on device, open '${String(path)}'`),
        { code: 'ENOSPC', errno: -28, syscall: 'open', path: String(path) }));
    }
    return open.call(fs.promises, path, ...rest);
  });
  return () => fake.mock.restore();
}

async function run(out: string, checkpoint: string, rows: { id: number }[]): Promise<StreamingQueryException | null> {
  const weir = new Weir();
  const input = weir.memoryStream(SCHEMA);
  // Added before start: a restart re-runs the failed batch at once, and a memory stream replays only what it holds.
  input.addData(rows);
  const query = await input.toDF().writeStream.format('json').option('checkpointLocation', checkpoint).start(out);
  try {
    await query.processAllAvailable();
    await query.stop();
    return null;
  } catch (err) {
    return err as StreamingQueryException;
  }
}

test('the file sink on a full disk: DISK_FULL naming the file; a restart writes the batch once', async () => {
  const [out, checkpoint] = [await tempDir(), await tempDir()];
  const restore = fillDisk(out);
  let error: StreamingQueryException | null;
  try {
    error = await run(out, checkpoint, [{ id: 1 }, { id: 2 }]);
  } finally {
    restore();
  }
  assert.ok(error instanceof StreamingQueryException, String(error));
  assert.equal(error.batchId, 0);
  const cause = error.cause;
  assert.ok(cause instanceof ConnectorError && cause.code === 'DISK_FULL', String(cause));
  assert.match(cause.message, /part-00000-0\.json/);
  assert.match(cause.message, /free space and restart the query/);
  assert.deepEqual(await new Weir().read.format('json').schema(SCHEMA).load(out).collect(), []);
  assert.equal(await run(out, checkpoint, [{ id: 1 }, { id: 2 }]), null);
  const rows = await new Weir().read.format('json').schema(SCHEMA).load(out).collect();
  assert.deepEqual(rows.map((r) => r['id']).sort(), [1, 2]);
});

test('the checkpoint on a full disk: the error names the offsets file and the fix', async () => {
  const [out, checkpoint] = [await tempDir(), await tempDir()];
  const restore = fillDisk(`${checkpoint}/offsets`);
  let error: StreamingQueryException | null;
  try {
    error = await run(out, checkpoint, [{ id: 7 }]);
  } finally {
    restore();
  }
  assert.ok(error instanceof StreamingQueryException, String(error));
  const cause = error.cause;
  assert.ok(cause instanceof CheckpointError, String(cause));
  assert.match(cause.message, /offsets[\\/]0/);
  assert.match(cause.message, /disk is full/);
  assert.equal(await run(out, checkpoint, [{ id: 7 }]), null);
  assert.deepEqual((await new Weir().read.format('json').schema(SCHEMA).load(out).collect()).map((r) => r['id']), [7]);
});
