import { col, count, Weir } from 'weir';

const weir = new Weir();
const clicks = weir.memoryStream<{ user: string }>('user STRING');
const query = await clicks.toDF().groupBy(col('user')).agg(count('*').as('clicks'))
  .writeStream.format('memory').queryName('clicks').outputMode('update')
  .option('checkpointLocation', 'checkpoint')
  .option('stateStoreProvider', 'lmdb') // keys on disk, in checkpoint/state/0/.lmdb
  .start();
clicks.addData([{ user: 'ann' }, { user: 'bob' }, { user: 'ann' }]);
await query.processAllAvailable();
const state = query.lastProgress?.stateOperators[0];
console.log(`state rows: ${state?.numRowsTotal}, output rows: ${weir.memorySink('clicks').rows.length}`);
await query.stop();
