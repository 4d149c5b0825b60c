/**
 * W3: JSON-lines files → file source → W2's aggregation → file sink, in MB/s of input, against a
 * hand-written line reader + JSON.parse + Map; and the same aggregation in DuckDB as the batch
 * engine a user might pick instead. The files are generated once into os.tmpdir() and deleted after.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { AnalysisError } from '../../src/common/errors.js';
import { Weir } from '../../src/index.js';
import type { DataFrame } from '../../src/index.js';
import { EVENT_SCHEMA, JsonFiles, writeEventFiles } from '../lib/data.js';
import { HandWindowAggregator, WindowResult } from '../lib/hand-agg.js';
import { removeDir, tempDir, timedRunToFiles } from '../lib/harness.js';
import { handBatchesOverFiles } from '../lib/lines.js';
import { alternate, flushDisk, median } from '../lib/measure.js';
import { WATERMARK_MS, windowedCounts, WINDOW_MS } from '../lib/queries.js';
import { rate, ResultRow } from '../lib/report.js';
import { Workload } from '../lib/suite.js';

const MB = 1e6;

/** The json file source over `dir`, one file per batch; null while that source is not registered. */
function jsonFileStream(weir: Weir, dir: string): DataFrame | null {
  try {
    return weir.readStream.format('json').schema(EVENT_SCHEMA).option('maxFilesPerTrigger', 1).load(dir);
  } catch (err) {
    if (err instanceof AnalysisError && err.code === 'UNKNOWN_FORMAT') return null;
    throw err;
  }
}

/** Seconds from query start until every file is committed (the file source starts reading at start). */
async function weirOverFiles(files: JsonFiles): Promise<{ seconds: number; cpuSeconds: number; outputRows: number } | null> {
  const weir = new Weir();
  const df = jsonFileStream(weir, files.dir);
  if (!df) return null;
  return timedRunToFiles(weir, 'w3', () => windowedCounts(df));
}

interface EventLine { ts: string; key: string; value: number }

/** The baseline: stream each file in 1 MB chunks, split lines, JSON.parse, aggregate; one batch per file. */
async function handOverFiles(files: JsonFiles): Promise<{ seconds: number; outputRows: number }> {
  const out = await tempDir('w3-hand');
  try {
    const started = performance.now();
    const agg = new HandWindowAggregator(WINDOW_MS, WATERMARK_MS);
    const take = (line: string): void => {
      const e = JSON.parse(line) as EventLine;
      agg.add(Date.parse(e.ts), e.key, e.value);
    };
    const outputRows = await handBatchesOverFiles(files.files, take, (emit: (row: WindowResult) => void) => agg.endBatch(emit),
      join(out, 'results.json'));
    return { seconds: (performance.now() - started) / 1000, outputRows };
  } finally {
    await removeDir(out);
  }
}

const DUCKDB_QUERY = (dir: string, out: string): string => `
  COPY (
    SELECT time_bucket(INTERVAL 1 SECOND, ts) AS window_start, key, count(*) AS count, sum(value) AS sum
    FROM read_json('${join(dir, '*.json')}', format = 'newline_delimited',
                   columns = { ts: 'TIMESTAMP', key: 'VARCHAR', value: 'DOUBLE' })
    GROUP BY ALL
  ) TO '${out}' (FORMAT JSON)`;

/** DuckDB in-process: read_json + GROUP BY over the same files, result written as JSON lines. */
async function duckdbOverFiles(files: JsonFiles): Promise<{ seconds: number; threads: string }> {
  const out = await tempDir('duckdb');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const threads = String((await connection.runAndReadAll("SELECT current_setting('threads') AS t")).getRows()[0]![0]);
    const started = performance.now();
    await connection.run(DUCKDB_QUERY(files.dir, join(out, 'results.json')));
    return { seconds: (performance.now() - started) / 1000, threads };
  } finally {
    connection.closeSync();
    instance.closeSync();
    await removeDir(out);
  }
}

export const fileWorkloads: Workload = {
  ids: ['W3', 'DUCKDB'],
  async run(suite, only) {
    const { reps, jsonBytes, jsonFileBytes } = suite.sizes;
    const dir = await tempDir('w3-input');
    try {
      const files = await writeEventFiles(dir, jsonBytes, jsonFileBytes);
      flushDisk();
      const mbps = (seconds: number): number => files.bytes / MB / seconds;
      const input = `${(files.bytes / MB).toFixed(0)} MB in ${files.files.length} files, ${files.rows} rows`;
      const rows: ResultRow[] = [];
      let weirMBps: number[] = [];
      let weirMissing = false;
      if (only('W3')) {
        const outputs = { weir: 0, hand: 0 };
        const perCore: number[] = [];
        const samples = await alternate(reps, async () => {
          const run = await weirOverFiles(files);
          if (!run) { weirMissing = true; return NaN; }
          outputs.weir = run.outputRows;
          perCore.push(files.bytes / run.cpuSeconds);
          return mbps(run.seconds);
        }, async () => {
          const run = await handOverFiles(files);
          outputs.hand = run.outputRows;
          return mbps(run.seconds);
        });
        weirMBps = samples.a;
        const weir = weirMissing ? null : median(samples.a);
        const hand = median(samples.b);
        const notes = [`${input}; maxFilesPerTrigger 1 (a batch per file); checkpoint on local disk (fsync)`];
        if (weirMissing) notes.push('json file source not registered yet: weir not measured');
        if (!weirMissing && outputs.weir !== outputs.hand) {
          notes.push(`CHECK: weir emitted ${outputs.weir} rows, the baseline ${outputs.hand}`);
        }
        rows.push({
          id: 'W3', workload: 'JSON-lines files → aggregation → files', weir: weir === null ? null : rate(weir * MB, 'B/s'),
          ...(weir === null ? {} : { perCore: rate(median(perCore), 'B/s') }),
          baseline: rate(hand * MB, 'B/s'), baselineName: 'line reader + JSON.parse + Map', ratio: weir === null ? null : weir / hand,
          goal: '≥ 0.7', met: weir === null ? null : weir / hand >= 0.7, notes,
          details: { bytes: files.bytes, files: files.files.length, rows: files.rows, outputRows: outputs,
            weirMBps: samples.a, baselineMBps: samples.b },
        });
      }
      if (only('DUCKDB')) {
        const samples: number[] = [];
        let threads = '?';
        for (let i = 0; i < reps; i++) {
          const run = await duckdbOverFiles(files);
          threads = run.threads;
          samples.push(mbps(run.seconds));
        }
        if (weirMBps.length === 0 && !weirMissing) {
          for (let i = 0; i < reps; i++) {
            const run = await weirOverFiles(files);
            if (!run) { weirMissing = true; break; }
            weirMBps.push(mbps(run.seconds));
          }
        }
        const duck = median(samples);
        const weir = weirMissing ? null : median(weirMBps);
        rows.push({
          id: 'DUCKDB', workload: 'W3\'s aggregation as a batch query (reference)', weir: weir === null ? null : rate(weir * MB, 'B/s'),
          baseline: rate(duck * MB, 'B/s'), baselineName: `DuckDB read_json + GROUP BY, ${threads} threads`,
          ratio: weir === null ? null : weir / duck, goal: 'reference', met: null,
          notes: [`${input}; DuckDB groups all windows at once (no watermark, no incremental state) and writes JSON`],
          details: { duckdbMBps: samples, weirMBps, threads },
        });
      }
      return rows;
    } finally {
      await removeDir(dir);
    }
  },
};
