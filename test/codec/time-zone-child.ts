/**
 * Reads a fixed set of timestamp texts through every path that turns text into an instant — the file
 * source (json and csv), the HTTP source, the NATS message decoder, cast and to_timestamp — and prints
 * the results as JSON. time-zone.test.ts runs it under several TZ settings and compares.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { Options } from '../../src/common/options.js';
import { Row, toSchema } from '../../src/common/schema.js';
import { MessageDecoder } from '../../src/connectors/nats/decode.js';
import { HttpSource } from '../../src/connectors/http/source.js';
import { col, to_timestamp, Weir } from '../../src/index.js';

/** Zone-less texts (the ones a host's zone could change), one in a New York DST gap, and one with an offset. */
export const TIME_TEXTS = [
  '2024-01-02T03:04:05', '2024-07-01 12:30:00.250', '2024-03-10T02:30', '2024-11-03T01:30:00', '2024-01-02',
  '2024-01-02T03:04:05+05:30',
];

const SCHEMA = toSchema('ts TIMESTAMP, day DATE');
const records = TIME_TEXTS.map((t) => ({ ts: t, day: t }));
const pick = (rows: readonly Row[]): Row[] => rows.map((r) => ({ ts: r['ts'] ?? null, day: r['day'] ?? null }));

async function viaFiles(weir: Weir, folder: string): Promise<{ json: Row[]; csv: Row[] }> {
  await mkdir(join(folder, 'json'));
  await mkdir(join(folder, 'csv'));
  await writeFile(join(folder, 'json', 'a.json'), records.map((r) => JSON.stringify(r)).join('\n'));
  await writeFile(join(folder, 'csv', 'a.csv'), `ts,day\n${TIME_TEXTS.map((t) => `${t},${t}`).join('\n')}\n`);
  const read = (format: 'json' | 'csv'): Promise<Row[]> =>
    weir.read.format(format).schema(SCHEMA).option('mode', 'FAILFAST').load(join(folder, format)).collect();
  return { json: pick(await read('json')), csv: pick(await read('csv')) };
}

async function viaHttp(folder: string): Promise<Row[]> {
  const source = new HttpSource({ format: 'http', schema: SCHEMA, path: null, options: new Options({ port: 0 }, 'http source') });
  await source.open({ storage: new FileSystemStorage(join(folder, 'http')), queryId: 'q', notifyDataAvailable: () => {} });
  try {
    const res = await fetch(`http://127.0.0.1:${source.port}/ingest`, {
      method: 'POST', body: records.map((r) => JSON.stringify(r)).join('\n'), headers: { 'content-type': 'application/x-ndjson' },
    });
    if (res.status !== 200) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
    return pick(await source.getBatch(null, { end: records.length }));
  } finally {
    await source.stop();
  }
}

function viaNats(): Row[] {
  const decoder = new MessageDecoder(SCHEMA);
  return records.map((r) => {
    const { row, problem } = decoder.decode(JSON.stringify(r));
    if (problem !== null) throw new Error(problem);
    return pick([row])[0]!;
  });
}

async function viaExpressions(weir: Weir): Promise<Row[]> {
  return weir.createDataFrame(TIME_TEXTS.map((s) => ({ s })), 's STRING')
    .select(col('s').cast('timestamp').as('cast'), to_timestamp('s').as('toTimestamp'), col('s').cast('date').as('castDate'))
    .collect();
}

const folder = await mkdtemp(join(tmpdir(), 'weir-tz-'));
try {
  const weir = new Weir();
  const files = await viaFiles(weir, folder);
  const results = { ...files, http: await viaHttp(folder), nats: viaNats(), expressions: await viaExpressions(weir) };
  process.stdout.write(JSON.stringify(results));
} finally {
  await rm(folder, { recursive: true, force: true });
}
