/**
 * The process the HTTP → windowed count → PostgreSQL crash test kills: runs that query on a fixed
 * port and checkpoint, prints `ready` once the HTTP source listens, and runs until it is killed.
 *
 *   node http-pg-child.js <checkpoint> <port> <postgres url> <table>
 */
import { fileURLToPath } from 'node:url';
import { col, Weir, window } from '../../src/index.js';

export const HTTP_PG_SCHEMA = 'ts TIMESTAMP, word STRING';
export const HTTP_PG_WINDOW_MS = 10_000;
/** Wide enough for the disorder two concurrent clients retrying through restarts can cause. */
const WATERMARK_DELAY = '60 seconds';

async function main(checkpoint: string, port: string, url: string, table: string): Promise<void> {
  const query = await new Weir().readStream.format('http').schema(HTTP_PG_SCHEMA).option('port', Number(port)).load()
    .withWatermark('ts', WATERMARK_DELAY)
    .groupBy(window(col('ts'), `${HTTP_PG_WINDOW_MS / 1000} seconds`), col('word'))
    .count()
    .writeStream.format('postgres').outputMode('append')
    .option('url', url).option('table', table).option('createTable', true)
    .option('checkpointLocation', checkpoint)
    .trigger({ processingTime: '20 milliseconds' })
    .start();
  process.stdout.write('ready\n');
  await query.awaitTermination();
}

// Only as the crash test starts it (with arguments); a test runner that loads every file under test/ gets nothing.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.length === 6) {
  await main(process.argv[2]!, process.argv[3]!, process.argv[4]!, process.argv[5]!);
}
