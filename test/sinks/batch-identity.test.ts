/**
 * A checkpoint restored from a backup re-plans batch ids a sink has already committed. When the
 * re-planned batch has other input (a file arrived since), skipping it would lose that input: the file
 * and memory sinks refuse it, naming the batch and the fix. When the input is the same, the batch is
 * skipped and the output stays exact. Manifests written without a digest are accepted, as before.
 */
import assert from 'node:assert/strict';
import { cp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointError, StreamingQueryException, Weir } from '../../src/index.js';
import { decodeFile, encodeFile } from '../../src/checkpoint/file-format.js';
import { MANIFEST_CODEC } from '../../src/connectors/file/manifest.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';
import { freePort } from '../connectors/harness.js';

after(removeTempDirs);

const SCHEMA = 'id LONG';

async function addFile(input: string, name: string, ids: readonly number[]): Promise<void> {
  await writeFile(join(input, `.${name}.tmp`), ids.map((id) => JSON.stringify({ id })).join('\n') + '\n');
  await rename(join(input, `.${name}.tmp`), join(input, name));
}

/** Processes what the input folder holds now into `format` (json: into `out`; memory: the table named `out`). */
async function process(weir: Weir, input: string, checkpoint: string, format: 'json' | 'memory', out: string): Promise<void> {
  const writer = weir.readStream.format('json').schema(SCHEMA).load(input).writeStream.format(format)
    .option('checkpointLocation', checkpoint).trigger({ availableNow: true });
  const query = format === 'json' ? await writer.start(out) : await writer.queryName(out).start();
  await query.awaitTermination();
}

async function outputIds(out: string): Promise<number[]> {
  return (await new Weir().read.format('json').schema(SCHEMA).load(out).collect()).map((r) => r['id'] as number).sort((a, b) => a - b);
}

/** Batch 0 (file a), a backup of the checkpoint, batch 1 (file b), the backup restored. Returns the folders. */
async function restoredAfterTwoBatches(weir: Weir, format: 'json' | 'memory', out: string): Promise<{ input: string; checkpoint: string }> {
  const [input, checkpoint, backup] = [await tempDir(), await tempDir(), await tempDir()];
  await addFile(input, 'a.json', [1, 2]);
  await process(weir, input, checkpoint, format, out);
  await cp(checkpoint, backup, { recursive: true });
  await addFile(input, 'b.json', [3]);
  await process(weir, input, checkpoint, format, out);
  await rm(checkpoint, { recursive: true });
  await cp(backup, checkpoint, { recursive: true });
  return { input, checkpoint };
}

function assertBatchChanged(err: unknown): boolean {
  assert.ok(err instanceof StreamingQueryException, String(err));
  assert.equal(err.batchId, 1);
  const cause = err.cause;
  assert.ok(cause instanceof CheckpointError && cause.code === 'SINK_BATCH_CHANGED', String(cause));
  assert.match(cause.message, /already committed batch 1 .*from other input than the checkpoint now plans for it/);
  assert.match(cause.message, /Restart from the newest checkpoint rather than a backup/);
  return true;
}

test('file sink: a restored checkpoint re-planning a committed batch over new input is refused; deleting the manifests from it on recovers exactly', async () => {
  const weir = new Weir();
  const out = await tempDir();
  const { input, checkpoint } = await restoredAfterTwoBatches(weir, 'json', out);
  await addFile(input, 'c.json', [4]);
  await assert.rejects(process(weir, input, checkpoint, 'json', out), assertBatchChanged);
  assert.deepEqual(await outputIds(out), [1, 2, 3]);
  // The same refusal on every restart, never a silent skip.
  await assert.rejects(process(weir, input, checkpoint, 'json', out), assertBatchChanged);
  // The documented fix: the output matches the backup again once the later manifests are gone.
  await rm(join(out, '_weir_metadata', '1'));
  await process(weir, input, checkpoint, 'json', out);
  assert.deepEqual(await outputIds(out), [1, 2, 3, 4]);
});

test('file sink: a restored checkpoint with no new input re-plans the same batch, which is skipped; output exact', async () => {
  const weir = new Weir();
  const out = await tempDir();
  const { input, checkpoint } = await restoredAfterTwoBatches(weir, 'json', out);
  await process(weir, input, checkpoint, 'json', out);
  assert.deepEqual(await outputIds(out), [1, 2, 3]);
  await addFile(input, 'c.json', [4]);
  await process(weir, input, checkpoint, 'json', out);
  assert.deepEqual(await outputIds(out), [1, 2, 3, 4]);
});

test('file sink: a manifest written without a digest (older versions) is taken as committed, as before: no refusal', async () => {
  const weir = new Weir();
  const out = await tempDir();
  const { input, checkpoint } = await restoredAfterTwoBatches(weir, 'json', out);
  const manifest = join(out, '_weir_metadata', '1');
  const [head, ...files] = decodeFile(await readFile(manifest), MANIFEST_CODEC.kind, MANIFEST_CODEC.version, manifest).body
    .toString('utf8').split('\n');
  const { queryId, batchId } = JSON.parse(head!) as { queryId: string; batchId: number };
  const body = [JSON.stringify({ queryId, batchId }), ...files].join('\n');
  assert.ok(MANIFEST_CODEC.decode(body).digest === null);
  await writeFile(manifest, encodeFile(MANIFEST_CODEC.kind, MANIFEST_CODEC.version, body));
  // Other input than batch 1 had: with a digest this is refused (above); without one, there is nothing to compare.
  await addFile(input, 'c.json', [4]);
  await process(weir, input, checkpoint, 'json', out);
  assert.deepEqual(await outputIds(out), [1, 2, 3]);
});

test('memory sink: a restored checkpoint re-planning a committed batch over new input is refused', async () => {
  const weir = new Weir();
  const { input, checkpoint } = await restoredAfterTwoBatches(weir, 'memory', 'restored');
  await addFile(input, 'c.json', [4]);
  await assert.rejects(process(weir, input, checkpoint, 'memory', 'restored'), assertBatchChanged);
  assert.deepEqual(weir.memorySink('restored').rows.map((r) => r['id']).sort(), [1, 2, 3]);
});

test('http source: after a restored checkpoint (its WAL restored too), records ingested since take the lost ones\' positions; the re-planned batch is refused, not skipped', async () => {
  const weir = new Weir();
  const checkpoint = join(await tempDir(), 'checkpoint');
  const backup = join(await tempDir(), 'backup');
  const port = await freePort();
  const post = async (ids: readonly number[]): Promise<void> => {
    const reply = await fetch(`http://127.0.0.1:${port}/ingest`, {
      method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: ids.map((id) => JSON.stringify({ id })).join('\n'),
    });
    assert.equal(reply.status, 200, await reply.text());
  };
  const start = () => weir.readStream.format('http').schema(SCHEMA).option('port', port).load().writeStream.format('memory')
    .queryName('http_restore').option('checkpointLocation', checkpoint).start();
  let query = await start();
  await post([1, 2]);
  await query.processAllAvailable();
  await query.stop();
  await cp(checkpoint, backup, { recursive: true });
  query = await start();
  await post([3, 4]);
  await query.processAllAvailable();
  await query.stop();
  await rm(checkpoint, { recursive: true });
  await cp(backup, checkpoint, { recursive: true });
  query = await start();
  await post([5, 6]); // the same WAL positions as 3 and 4, other records
  await assert.rejects(query.processAllAvailable(), (err: unknown) => err instanceof StreamingQueryException &&
    err.cause instanceof CheckpointError && err.cause.code === 'SINK_BATCH_CHANGED');
  assert.deepEqual(weir.memorySink('http_restore').rows.map((r) => r['id']).sort(), [1, 2, 3, 4], 'nothing skipped silently, nothing doubled');
});
