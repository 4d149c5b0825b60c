/**
 * The pipeline the dead-letter crash tests kill: JSON files of `{id, secs, name}` read one file per
 * batch, `secs` cast to a timestamp (so a huge `secs` computes a timestamp outside 0001-9999), written
 * to a json folder or a PostgreSQL table with a dead-letter place, with the `availableNow` trigger.
 */
import { spawn } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Row, Weir } from '../../src/index.js';

export interface PoisonConfig {
  readonly input: string;
  readonly checkpoint: string;
  readonly sink: { readonly format: 'json'; readonly output: string; readonly deadLetterPath: string }
    | { readonly format: 'postgres'; readonly url: string; readonly table: string; readonly deadLetterTable: string };
}

export interface PoisonRecord { id: number; secs: number; name: string }

/** Seconds of 10000-01-01T00:00:00Z: the first instant after the TIMESTAMP range. */
export const YEAR_10000_SECS = 253_402_300_800;

/** Three files of four records; in files 1 and 2 some timestamps fall outside the range. Returns them by file. */
export async function writePoisonInput(folder: string): Promise<PoisonRecord[][]> {
  const files: PoisonRecord[][] = [
    [1, 2, 3, 4].map((id) => ({ id, secs: id * 60, name: `n${id}` })),
    [{ id: 5, secs: 300, name: 'n5' }, { id: 6, secs: 1e14, name: 'n6' }, { id: 7, secs: 420, name: 'n7' },
      { id: 8, secs: YEAR_10000_SECS, name: 'n8' }],
    [{ id: 9, secs: -62_135_596_801, name: 'n9' }, { id: 10, secs: 600, name: 'n10' }, { id: 11, secs: 660, name: 'n11' },
      { id: 12, secs: 720, name: 'n12' }],
  ];
  await mkdir(folder, { recursive: true });
  for (const [i, rows] of files.entries()) {
    const name = `part-${i}.json`;
    await writeFile(join(folder, `.${name}.tmp`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await rename(join(folder, `.${name}.tmp`), join(folder, name));
  }
  return files;
}

/** Whether a record's timestamp is outside 0001-01-01..9999-12-31 (the rows the sink must reject). */
/** The rows the query writes: `ts` computed by a user function, which (unlike a cast) is not held to TIMESTAMP's range. */
export const POISON_OUTPUT_SCHEMA = 'id LONG, ts TIMESTAMP, name STRING';
export const toTimestampRow = (r: Row): Row => ({ id: r['id'] ?? null, ts: Number(r['secs']) * 1000, name: r['name'] ?? null });

export const isPoison = (r: PoisonRecord): boolean => r.secs >= YEAR_10000_SECS || r.secs < -62_135_596_800;

/** Runs the child once, killed at `fault` (a WEIR_FAULT step); resolves with the signal that ended it, rejects on a non-zero exit. */
export function runPoisonChild(config: PoisonConfig, fault: string | null): Promise<NodeJS.Signals | null> {
  const env = { ...process.env };
  if (fault) env['WEIR_FAULT'] = fault;
  else delete env['WEIR_FAULT'];
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(config)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== null && code !== 0) reject(new Error(`poison child exited with ${code}: ${stderr}`));
      else resolve(signal);
    });
  });
}

async function main(config: PoisonConfig): Promise<void> {
  const weir = new Weir();
  const writer = weir.readStream.format('json').schema('id LONG, secs LONG, name STRING').option('maxFilesPerTrigger', 1)
    .load(config.input).map(toTimestampRow, POISON_OUTPUT_SCHEMA)
    .writeStream.option('checkpointLocation', config.checkpoint).trigger({ availableNow: true });
  const sink = config.sink;
  const query = sink.format === 'json'
    ? await writer.format('json').option('deadLetterPath', sink.deadLetterPath).start(sink.output)
    : await writer.format('postgres').option('url', sink.url).option('table', sink.table).option('createTable', true)
      .option('deadLetterTable', sink.deadLetterTable).start();
  await query.awaitTermination();
}

// Only as the tests start it (with a config); a test runner that loads every file under test/ gets nothing.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== undefined) {
  await main(JSON.parse(process.argv[2]!) as PoisonConfig);
}
