/**
 * The process the web UI's browser test watches: a windowed count over JSON files with the UI on a
 * given port. It prints JSON lines: `{ ui }` once listening, `{ recovered }` when it resumed from the
 * checkpoint, and `{ lastProgress }` (the query's own `lastProgress`) after every batch. It runs until killed.
 */
import { col, count, Weir, window } from '../../src/index.js';

interface ChildConfig { readonly port: number; readonly token: string; readonly input: string; readonly checkpoint: string }

async function main(config: ChildConfig): Promise<void> {
  const weir = new Weir({ ui: { port: config.port, token: config.token }, logLevel: 'silent' });
  const print = (line: object): void => { process.stdout.write(`${JSON.stringify(line)}\n`); };
  weir.streams.addListener({
    onQueryRecovered: (recovered) => print({ recovered }),
    onQueryProgress: ({ progress }) => {
      // The query object is registered once start() returns; its lastProgress is the record just posted.
      setImmediate(() => print({ lastProgress: weir.streams.get(progress.id)?.lastProgress ?? progress }));
    },
  });
  const views = weir.readStream.format('json').schema('ts TIMESTAMP, page STRING').option('maxFilesPerTrigger', 1)
    .load(config.input);
  await views.withWatermark('ts', '1 second')
    .groupBy(window(col('ts'), '2 seconds'), col('page')).agg(count('*').as('views'))
    .writeStream.format('memory').queryName('page-views').outputMode('append')
    .option('checkpointLocation', config.checkpoint).trigger({ processingTime: '50 milliseconds' }).start();
  print({ ui: await weir.uiUrl() });
  setInterval(() => undefined, 60_000); // runs until the test kills it
}

main(JSON.parse(process.argv[2]!) as ChildConfig).catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
