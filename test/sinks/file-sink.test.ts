/** The file sink on its own: idempotent batches, orphan cleanup, ownership, formats, refusals. */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AnalysisError, CheckpointError, col, Weir, window } from '../../src/index.js';
import { toSchema } from '../../src/common/schema.js';
import { compileCsvEncoder, compileJsonEncoder } from '../../src/connectors/file/encode.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const SCHEMA = 'id LONG, name STRING, ts TIMESTAMP';

async function writeJson(out: string, checkpoint: string, batches: readonly (readonly { id: number; name: string | null; ts: number }[])[]): Promise<void> {
  const weir = new Weir();
  const input = weir.memoryStream(SCHEMA);
  const query = await input.toDF().writeStream.format('json').option('checkpointLocation', checkpoint).start(out);
  for (const rows of batches) {
    input.addData(rows);
    await query.processAllAvailable();
  }
  await query.stop();
}

test('a batch re-run after a crash (its manifest already written) writes nothing again', async () => {
  const [out, checkpoint] = [await tempDir(), await tempDir()];
  await writeJson(out, checkpoint, [[{ id: 1, name: 'a', ts: 0 }], [{ id: 2, name: 'b', ts: 1000 }]]);
  const before = (await readdir(out)).sort();
  await rm(join(checkpoint, 'commits', '1')); // as if killed after the sink, before commits/1
  await writeJson(out, checkpoint, [[{ id: 1, name: 'a', ts: 0 }, { id: 2, name: 'b', ts: 1000 }]]);
  assert.deepEqual((await readdir(out)).sort(), before);
  const rows = await new Weir().read.format('json').schema(SCHEMA).load(out).collect();
  assert.deepEqual(rows.map((r) => r['id']).sort(), [1, 2]);
});

test('part files without a manifest (a crashed batch) are removed at start and never read', async () => {
  const [out, checkpoint] = [await tempDir(), await tempDir()];
  await writeJson(out, checkpoint, [[{ id: 1, name: 'a', ts: 0 }]]);
  await writeFile(join(out, 'part-00001-0.json'), '{"id":99,"name":"ghost"}\n');
  await writeFile(join(out, '.part-00001-1.json.tmp'), '{"id":98');
  const read = async (): Promise<unknown[]> => (await new Weir().read.format('json').schema(SCHEMA).load(out).collect()).map((r) => r['id']);
  assert.deepEqual(await read(), [1], 'the batch reader sees only files in manifests');
  await writeJson(out, checkpoint, [[{ id: 1, name: 'a', ts: 0 }], [{ id: 2, name: 'b', ts: 0 }]]);
  const files = await readdir(out);
  assert.ok(!files.includes('.part-00001-1.json.tmp'), `orphans removed: ${files}`);
  assert.deepEqual((await read()).sort(), [1, 2]);
});

test('an output folder written by another query is refused, naming the manifest', async () => {
  const out = await tempDir();
  await writeJson(out, await tempDir(), [[{ id: 1, name: 'a', ts: 0 }]]);
  await assert.rejects(writeJson(out, await tempDir(), [[{ id: 2, name: 'b', ts: 0 }]]), (err: unknown) =>
    err instanceof CheckpointError && err.code === 'SINK_FOLDER_OF_OTHER_QUERY' &&
    err.message.includes(join(out, '_weir_metadata', '0')) && /Write to a new folder/.test(err.message));
});

test('csv: header, quoting and nulls round-trip through the csv source; timestamps are ISO text', async () => {
  const [out, checkpoint] = [await tempDir(), await tempDir()];
  const weir = new Weir();
  const input = weir.memoryStream(SCHEMA);
  const query = await input.toDF().writeStream.format('csv').option('checkpointLocation', checkpoint).start(out);
  const rows = [{ id: 1, name: 'plain', ts: 0 }, { id: 2, name: 'comma, "quoted"\nnewline', ts: 1500 }, { id: 3, name: null, ts: 86_400_000 }];
  input.addData(rows);
  await query.processAllAvailable();
  await query.stop();
  const part = (await readdir(out)).find((f) => f.startsWith('part-'))!;
  const text = await readFile(join(out, part), 'utf8');
  assert.match(text, /^id,name,ts\n/);
  assert.match(text, /1970-01-01T00:00:01\.500Z/);
  const back = await new Weir().read.format('csv').schema(SCHEMA).load(out).collect();
  assert.deepEqual(back.sort((a, b) => (a['id'] as number) - (b['id'] as number)), rows);
});

test('csv refuses a nested column, naming it; file sinks refuse update and complete', async () => {
  const weir = new Weir();
  const input = weir.memoryStream(SCHEMA);
  const windowed = input.toDF().withWatermark('ts', '1 second').groupBy(window(col('ts'), '1 second')).count();
  await assert.rejects(windowed.writeStream.format('csv').option('checkpointLocation', await tempDir()).start(await tempDir()),
    (err: unknown) => err instanceof AnalysisError && /'window'/.test(err.message) && /format\('json'\)/.test(err.message));
  await assert.rejects(windowed.writeStream.format('json').outputMode('update').option('checkpointLocation', await tempDir())
    .start(await tempDir()), (err: unknown) => err instanceof AnalysisError && /update/.test(err.message));
  await assert.rejects(input.toDF().writeStream.format('json').option('checkpointLocation', await tempDir()).start(),
    (err: unknown) => err instanceof AnalysisError && err.code === 'MISSING_PATH');
});

test('a column named like an Object.prototype member is written as null when the row lacks it', () => {
  const schema = toSchema('constructor STRING, toString INT');
  assert.equal(compileJsonEncoder(schema, true)({}), '{}');
  assert.equal(compileJsonEncoder(schema, false)({ toString: 1 }), '{"constructor":null,"toString":1}');
  assert.equal(compileCsvEncoder(schema, { header: true, delimiter: ',', quote: '"', nullValue: 'NA' }).encode({}), 'NA,NA');
});
