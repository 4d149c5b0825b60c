/**
 * The process the http source's crash test kills: opens an http source on a checkpoint folder (port 0),
 * prints `{"port": n, "truncatedBytes": t}` on stdout (t: the torn tail its recovery cut off) and serves until it is killed.
 */
import { fileURLToPath } from 'node:url';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { PrefixedStorage } from '../../src/checkpoint/prefixed-storage.js';
import { Options } from '../../src/common/options.js';
import { toSchema } from '../../src/common/schema.js';
import { HttpSource } from '../../src/connectors/http/source.js';

export const CRASH_SCHEMA = 'req INT, seq INT, ts TIMESTAMP';
/** Small segments, so the test crosses segment boundaries (and crashes around them). */
export const CRASH_SEGMENT_BYTES = 4096;

async function main(folder: string): Promise<void> {
  const source = new HttpSource({
    format: 'http', schema: toSchema(CRASH_SCHEMA), path: null,
    options: new Options({ port: 0, segmentBytes: CRASH_SEGMENT_BYTES }, 'http source'),
  });
  await source.open({
    storage: new PrefixedStorage(new FileSystemStorage(folder), 'sources/0'), queryId: 'crash', notifyDataAvailable: () => {},
  });
  process.stdout.write(`${JSON.stringify({ port: source.port, truncatedBytes: source.stats.truncatedBytes })}\n`);
}

// Only as the crash test starts it (with a folder); a test runner that loads every file under test/ gets nothing.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== undefined) {
  await main(process.argv[2]);
}
