/**
 * WORKERS: W2 and W3 with numWorkers 1 and 2 side by side (alternating, same process, same input):
 * what the worker threads gain on this machine. The ratio is numWorkers 2 ÷ numWorkers 1.
 */
import { Weir } from '../../src/index.js';
import type { DataFrame } from '../../src/index.js';
import { EVENT_SCHEMA, writeEventFiles } from '../lib/data.js';
import { removeDir, tempDir } from '../lib/harness.js';
import { alternate, flushDisk, median } from '../lib/measure.js';
import { timeBacklog, windowedCounts } from '../lib/queries.js';
import { rate, ResultRow } from '../lib/report.js';
import { Suite, Workload } from '../lib/suite.js';

const MB = 1e6;

/** W2's query to result files with `numWorkers` threads. */
function startW2(df: DataFrame, checkpoint: string, out: string, numWorkers: number) {
  return windowedCounts(df).writeStream.format('json').outputMode('append').trigger({ processingTime: 0 })
    .option('checkpointLocation', checkpoint).option('numWorkers', numWorkers).start(out);
}

async function w2Run(suite: Suite, numWorkers: number): Promise<{ rowsPerSecond: number; outputRows: number }> {
  const [checkpoint, out] = [await tempDir('workers-w2-checkpoint'), await tempDir('workers-w2-out')];
  try {
    const run = await timeBacklog(suite.eventRows, EVENT_SCHEMA, suite.sizes.chunk, (df) => startW2(df, checkpoint, out, numWorkers));
    return { rowsPerSecond: (suite.eventRows.length / run.ms) * 1000, outputRows: run.outputRows };
  } finally {
    await Promise.all([removeDir(checkpoint), removeDir(out)]);
  }
}

async function w3Run(dir: string, bytes: number, numWorkers: number): Promise<{ mbps: number; outputRows: number }> {
  const weir = new Weir();
  let outputRows = 0;
  weir.streams.addListener({ onQueryProgress: (e) => { outputRows += e.progress.sink.numOutputRows; } });
  const df = weir.readStream.format('json').schema(EVENT_SCHEMA).option('maxFilesPerTrigger', 1).load(dir);
  const [checkpoint, out] = [await tempDir('workers-w3-checkpoint'), await tempDir('workers-w3-out')];
  try {
    const started = performance.now();
    const query = await startW2(df, checkpoint, out, numWorkers);
    await query.processAllAvailable();
    const seconds = (performance.now() - started) / 1000;
    await query.stop();
    return { mbps: bytes / MB / seconds, outputRows };
  } finally {
    await Promise.all([removeDir(checkpoint), removeDir(out)]);
  }
}

function row(id: string, workload: string, one: number[], two: number[], unit: string, notes: string[], details: Readonly<Record<string, unknown>>): ResultRow {
  const [a, b] = [median(two), median(one)];
  return {
    id, workload, weir: rate(a, unit), baseline: rate(b, unit), baselineName: 'same query, numWorkers 1', ratio: a / b,
    goal: '≥ 1.7', met: a / b >= 1.7, notes, details,
  };
}

export const workerWorkloads: Workload = {
  ids: ['WORKERS'],
  async run(suite) {
    const { reps, jsonBytes, jsonFileBytes } = suite.sizes;
    const outputs: Record<string, number> = {};
    const w2 = await alternate(reps, async () => {
      const r = await w2Run(suite, 2);
      outputs['w2 numWorkers 2'] = r.outputRows;
      return r.rowsPerSecond;
    }, async () => {
      const r = await w2Run(suite, 1);
      outputs['w2 numWorkers 1'] = r.outputRows;
      return r.rowsPerSecond;
    });
    const dir = await tempDir('workers-w3-input');
    try {
      const files = await writeEventFiles(dir, jsonBytes / 4, jsonFileBytes);
      flushDisk();
      const w3 = await alternate(reps, async () => {
        const r = await w3Run(dir, files.bytes, 2);
        outputs['w3 numWorkers 2'] = r.outputRows;
        return r.mbps * MB;
      }, async () => {
        const r = await w3Run(dir, files.bytes, 1);
        outputs['w3 numWorkers 1'] = r.outputRows;
        return r.mbps * MB;
      });
      const check = (a: string, b: string): string[] => (outputs[a] === outputs[b] ? [] : [`CHECK: ${a} emitted ${outputs[a]} rows, ${b} ${outputs[b]}`]);
      return [
        row('WORKERS W2', 'W2 on 2 worker threads vs 1 thread', w2.b, w2.a, 'rows/s',
          [`W2's input and query (rows made on the main thread, sent to the workers as columns)`, ...check('w2 numWorkers 2', 'w2 numWorkers 1')],
          { numWorkers1: w2.b, numWorkers2: w2.a }),
        row('WORKERS W3', 'W3 on 2 worker threads vs 1 thread', w3.b, w3.a, 'B/s',
          [`${(files.bytes / MB).toFixed(0)} MB in ${files.files.length} files; each worker reads and parses its share of a batch's files`,
            ...check('w3 numWorkers 2', 'w3 numWorkers 1')],
          { numWorkers1: w3.b, numWorkers2: w3.a }),
      ];
    } finally {
      await removeDir(dir);
    }
  },
};
