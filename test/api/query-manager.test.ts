import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { StreamingQueryException, Weir } from '../../src/index.js';
import { removeTempDirs, tempDir } from './helpers.js';

after(removeTempDirs);

test('awaitTermination(timeout) resolves false while running and true once stopped', async () => {
  const weir = new Weir();
  const input = weir.memoryStream({ n: 'long' });
  const q = await input.toDF().writeStream.format('memory').queryName('await_t')
    .option('checkpointLocation', await tempDir()).start();
  assert.equal(await q.awaitTermination(10), false);
  assert.equal(q.isActive, true);
  const stopping = q.stop();
  assert.equal(await q.awaitTermination(), true);
  await stopping;
  assert.equal(await q.awaitTermination(10), true);
});

test('streams.get finds a query by its id; awaitAnyTermination rejects with the failed query\'s exception', async () => {
  const weir = new Weir();
  const input = weir.memoryStream({ n: 'long' });
  const ok = await input.toDF().writeStream.format('memory').queryName('ok_q').option('checkpointLocation', await tempDir()).start();
  const failing = await input.toDF().map((row) => {
    if (row['n'] === 2) throw new Error('two is not allowed');
    return row;
  }).writeStream.foreachBatch(() => {}).option('checkpointLocation', await tempDir()).start();
  assert.equal(weir.streams.get(ok.id), ok);
  assert.equal(weir.streams.get(failing.id), failing);
  assert.equal(weir.streams.get('no-such-id'), null);
  const any = weir.streams.awaitAnyTermination();
  input.addData([{ n: 1 }, { n: 2 }]);
  await assert.rejects(any, (err: unknown) => err instanceof StreamingQueryException && err.batchId === 0 &&
    /two is not allowed/.test(err.message));
  assert.equal(ok.isActive, true);
  await ok.stop();
});
