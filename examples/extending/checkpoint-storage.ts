import { join } from 'node:path';
import { FileSystemStorage, Weir } from 'weir';

// checkpointLocation 'tenant://<name>/<query>' keeps a query's checkpoint in that tenant's folder.
Weir.registerCheckpointStorage('tenant', (url) => new FileSystemStorage(join('tenants', url.hostname, url.pathname)));

async function run(rows: number): Promise<number | undefined> {
  const weir = new Weir();
  const query = await weir.readStream.format('rate').option('rowsPerSecond', 1000)
    .option('startTimestamp', 0).option('maxRecordsPerTrigger', rows).load()
    .writeStream.format('memory').queryName('ticks').option('checkpointLocation', 'tenant://acme/ticks')
    .trigger({ once: true }).start();
  await query.awaitTermination();
  return query.lastProgress?.batchId;
}

// The second run resumes from the checkpoint the first one left in tenants/acme/ticks.
console.log(`first run: batch ${await run(5)}, second run: batch ${await run(5)}`);
// Any CheckpointStorage object works too: writeStream.checkpointStorage(new FileSystemStorage('ckpt/ticks')).
