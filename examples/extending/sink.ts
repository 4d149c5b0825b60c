import { Row, Weir } from 'weir';

// Stands in for an external system that can store a batch and its id together (one transaction).
const committed = new Map<number, readonly Row[]>();

Weir.registerSink('batch-store', (spec) => {
  const label = spec.options.string('label', 'results');
  return {
    description: `BatchStore[${label}]`,
    supportedModes: ['append', 'update'],
    async open() {},
    async addBatch(batchId, rows) {
      if (committed.has(batchId)) return; // a batch re-run after a crash is written once
      committed.set(batchId, rows);
    },
    async stop() {},
  };
}, { options: ['label'] });

const weir = new Weir();
const words = weir.memoryStream<{ word: string }>('word STRING');
const query = await words.toDF().writeStream.format('batch-store').option('label', 'words')
  .option('checkpointLocation', 'checkpoints/words').start();
words.addData([{ word: 'stream' }, { word: 'weir' }]);
await query.processAllAvailable();
console.log(`batches: ${committed.size}, rows: ${[...committed.values()].flat().length}`);
await query.stop();
