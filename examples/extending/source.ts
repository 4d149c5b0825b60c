import { Weir } from 'weir';

// A replayable source: row i is { n: i }, for i below option 'rows'; a batch reads at most 'perBatch'.
// Offsets are row positions, so any range can be read again after a restart.
Weir.registerSource('numbers', (spec) => {
  const rows = spec.options.integer('rows', 100);
  const perBatch = spec.options.integer('perBatch', 10, 1);
  return {
    description: `Numbers[${rows}]`,
    schema: [{ name: 'n', type: 'long', nullable: false }],
    async open() {},
    async latestOffset(start) {
      const end = Math.min(rows, ((start as number | null) ?? 0) + perBatch);
      return end === 0 ? null : end;
    },
    async getBatch(start, end) {
      const from = (start as number | null) ?? 0;
      return Array.from({ length: (end as number) - from }, (_, i) => ({ n: from + i }));
    },
    async commit() {},
    async stop() {},
  };
}, { options: ['rows', 'perBatch'] });

const weir = new Weir();
const query = await weir.readStream.format('numbers').option('rows', 25).load()
  .writeStream.format('memory').queryName('numbers').start();
await query.processAllAvailable();
console.log(`rows: ${weir.memorySink('numbers').rows.length}, batches: ${query.recentProgress.length}`);
await query.stop();
