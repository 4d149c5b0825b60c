import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { join } from 'node:path';
import { col, Weir } from '../../src/index.js';
import { removeTempDirs, tempDir } from './helpers.js';

after(removeTempDirs);

const BYTES = [Buffer.from([0, 1, 2, 250, 255]), Buffer.from('héllo', 'utf8'), Buffer.alloc(0)];

describe('BINARY values', () => {
  test('cast between string and binary uses UTF-8, as Spark does', async () => {
    const weir = new Weir();
    const rows = await weir.createDataFrame([{ s: 'héllo' }], { s: 'string' })
      .select(col('s').cast('binary').as('b')).select(col('b'), col('b').cast('string').as('back')).collect();
    assert.deepEqual(Buffer.from(rows[0]!['b'] as Uint8Array), Buffer.from('héllo', 'utf8'));
    assert.equal(rows[0]!['back'], 'héllo');
  });

  for (const format of ['json', 'csv'] as const) {
    test(`the ${format} file sink writes base64 and the ${format} source reads it back as the same bytes`, async () => {
      const weir = new Weir();
      const input = weir.memoryStream({ id: 'long', payload: 'binary' });
      const out = join(await tempDir(), 'out');
      const q = await input.toDF().writeStream.format(format).option('checkpointLocation', await tempDir()).start(out);
      // In CSV an empty field of a non-string column is null (as in Spark), so empty bytes are left to JSON.
      const bytes = format === 'csv' ? BYTES.filter((b) => b.length > 0) : BYTES;
      input.addData(bytes.map((payload, id) => ({ id, payload })));
      await q.processAllAvailable();
      await q.stop();
      const back = await weir.read.format(format).schema('id LONG, payload BINARY').load(out).collect();
      assert.deepEqual(back.map((r) => [r['id'], Buffer.from(r['payload'] as Uint8Array).toString('hex')]).sort(),
        bytes.map((b, id) => [id, b.toString('hex')]));
    });
  }

  test('text that is not base64 is a malformed BINARY value', async () => {
    const weir = new Weir();
    const dir = await tempDir();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'a.json'), '{"payload":"not base64!"}\n{"payload":"AAEC"}\n');
    const rows = await weir.read.format('json').schema('payload BINARY').option('mode', 'DROPMALFORMED').load(dir).collect();
    assert.deepEqual(rows.map((r) => Buffer.from(r['payload'] as Uint8Array).toString('hex')), ['000102']);
  });
});
