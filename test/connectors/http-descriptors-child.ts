/**
 * The process of the descriptor-shortage test, started under a low `ulimit -n`: runs HTTP → JSON files
 * with a checkpoint, and reports on stdout, one JSON object a line: `{"ready": true}` once listening,
 * `{"warning": code}` for each process warning, `{"batchId", "numInputRows", "durationMs"}` per batch.
 *
 *   node http-descriptors-child.js <dir> <port>
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Weir } from '../../src/index.js';

export const DESCRIPTORS_SCHEMA = 'ts TIMESTAMP, user STRING, amount DOUBLE, n INT';

async function main(dir: string, port: string): Promise<void> {
  const say = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
  process.on('warning', (w) => say({ warning: (w as Error & { code?: string }).code ?? w.name }));
  const weir = new Weir();
  weir.streams.addListener({
    onQueryProgress: ({ progress }) => say({ batchId: progress.batchId, numInputRows: progress.numInputRows, durationMs: progress.durationMs }),
  });
  const query = await weir.readStream.format('http').schema(DESCRIPTORS_SCHEMA)
    // No connection limit or timeout to speak of: the test wants idle connections to exhaust the descriptors.
    .option('port', Number(port)).option('maxConnections', 100_000)
    .option('headersTimeout', '10 minutes').option('requestTimeout', '10 minutes').load()
    .writeStream.format('json').option('checkpointLocation', join(dir, 'checkpoint'))
    .start(join(dir, 'out'));
  say({ ready: true });
  await query.awaitTermination();
}

// Only as the test starts it (with arguments); a test runner that loads every file under test/ gets nothing.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.length === 4) {
  await main(process.argv[2]!, process.argv[3]!);
}
