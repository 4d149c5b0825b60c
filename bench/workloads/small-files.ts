/**
 * SMALLFILES: many tiny JSON-lines files through the json file source (a backlog read in ten
 * batches), in ms per file, against a plain `fs.readFile` + JSON.parse loop over the same files.
 * BACKLOG: the time to plan each batch (the source's latestOffset) while a large backlog of files is
 * drained in twenty batches, against one `readdir` of the folder.
 * IDLE: the CPU a running file-source query burns while its folder (many files, all read) gets
 * nothing new, as a share of one core over a fixed interval, against the same process with no query.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Weir } from '../../src/index.js';
import { removeDir, tempDir } from '../lib/harness.js';
import { alternate, median } from '../lib/measure.js';
import { figure, ResultRow } from '../lib/report.js';
import { Workload } from '../lib/suite.js';

const SCHEMA = 'id LONG, key STRING, value DOUBLE';
const fileName = (i: number): string => `f-${String(i).padStart(7, '0')}.json`;

async function writeTinyFiles(dir: string, files: number, linesPerFile: number): Promise<string[]> {
  const paths: string[] = [];
  for (let f = 0; f < files; f++) {
    const lines = Array.from({ length: linesPerFile }, (_, k) =>
      JSON.stringify({ id: f * linesPerFile + k, key: `k${k % 5}`, value: k / 2 }));
    const path = join(dir, fileName(f));
    await writeFile(path, `${lines.join('\n')}\n`);
    paths.push(path);
  }
  return paths;
}

/** ms per file for a weir query that reads the backlog in ten batches and counts rows. */
async function weirSmallFiles(dir: string, files: number): Promise<{ msPerFile: number; rows: number }> {
  const checkpoint = await tempDir('smallfiles-checkpoint');
  try {
    const weir = new Weir();
    let rows = 0;
    const started = performance.now();
    const query = await weir.readStream.format('json').schema(SCHEMA)
      .option('maxFilesPerTrigger', Math.ceil(files / 10)).load(dir)
      .writeStream.option('checkpointLocation', checkpoint)
      .foreachBatch((batch) => { rows += batch.length; })
      .start();
    await query.processAllAvailable();
    const ms = performance.now() - started;
    await query.stop();
    return { msPerFile: ms / files, rows };
  } finally {
    await removeDir(checkpoint);
  }
}

/** The baseline: read each file whole, split lines, JSON.parse each; no durability, no listing. */
async function plainSmallFiles(paths: readonly string[]): Promise<{ msPerFile: number; rows: number }> {
  let rows = 0;
  const started = performance.now();
  for (const path of paths) {
    const text = await readFile(path, 'utf8');
    for (const line of text.split('\n')) {
      if (line.length > 0) {
        JSON.parse(line);
        rows++;
      }
    }
  }
  return { msPerFile: (performance.now() - started) / paths.length, rows };
}

/** Median ms of the source's latestOffset per batch while `files` files drain in twenty batches. */
async function weirBacklogPlanning(dir: string, files: number): Promise<number> {
  const checkpoint = await tempDir('backlog-checkpoint');
  try {
    const query = await new Weir().readStream.format('json').schema(SCHEMA)
      .option('maxFilesPerTrigger', Math.ceil(files / 20)).load(dir)
      .writeStream.option('checkpointLocation', checkpoint).foreachBatch(() => undefined).start();
    await query.processAllAvailable();
    const planning = query.recentProgress.filter((p) => p.numInputRows > 0).map((p) => p.durationMs['latestOffset'] ?? NaN);
    await query.stop();
    return median(planning);
  } finally {
    await removeDir(checkpoint);
  }
}

async function readdirMs(dir: string): Promise<number> {
  const started = performance.now();
  await readdir(dir, { withFileTypes: true });
  return performance.now() - started;
}

/** Process CPU time (user + system) over `ms` of wall time, as a share of one core in percent. */
async function cpuPercentOver(ms: number): Promise<number> {
  const before = process.cpuUsage();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(before);
  return ((used.user + used.system) / 1000 / (performance.now() - started)) * 100;
}

/**
 * The source trusts an unchanged folder time once it has stayed the same for longer than a tick of the
 * file system's clock (up to 3 s); until then it lists on every poll. The figure is the steady state after that.
 */
const IDLE_WARMUP_MS = 4_000;

/** CPU share of an idle query over a folder whose files it has all read (default trigger, default poll). */
async function weirIdleCpu(dir: string, intervalMs: number): Promise<number> {
  const checkpoint = await tempDir('idle-checkpoint');
  try {
    const query = await new Weir().readStream.format('json').schema(SCHEMA).load(dir)
      .writeStream.option('checkpointLocation', checkpoint).foreachBatch(() => undefined).start();
    await query.processAllAvailable();
    await new Promise((resolve) => setTimeout(resolve, IDLE_WARMUP_MS));
    const percent = await cpuPercentOver(intervalMs);
    await query.stop();
    return percent;
  } finally {
    await removeDir(checkpoint);
  }
}

export const smallFileWorkloads: Workload = {
  ids: ['SMALLFILES', 'BACKLOG', 'IDLE'],
  async run(suite, only) {
    const { reps, smallFiles, idleFiles, idleSeconds } = suite.sizes;
    const rows: ResultRow[] = [];
    if (only('SMALLFILES')) {
      const dir = await tempDir('smallfiles');
      try {
        const paths = await writeTinyFiles(dir, smallFiles, 3);
        const counts = { weir: 0, plain: 0 };
        const samples = await alternate(reps, async () => {
          const run = await weirSmallFiles(dir, smallFiles);
          counts.weir = run.rows;
          return run.msPerFile;
        }, async () => {
          const run = await plainSmallFiles(paths);
          counts.plain = run.rows;
          return run.msPerFile;
        });
        const weir = median(samples.a);
        const plain = median(samples.b);
        const notes = [`${smallFiles} files of 3 JSON lines, read as a backlog with maxFilesPerTrigger ${Math.ceil(smallFiles / 10)} ` +
          '(ten batches), foreachBatch counting rows; checkpoint on local disk (fsync)'];
        if (counts.weir !== counts.plain) notes.push(`CHECK: weir read ${counts.weir} rows, the baseline ${counts.plain}`);
        rows.push({
          id: 'SMALLFILES', workload: 'many tiny files, backlog in 10 batches', weir: figure(weir, 'ms/file', 3),
          baseline: figure(plain, 'ms/file', 3), baselineName: 'fs.readFile + JSON.parse loop', ratio: weir / plain,
          goal: 'lower is better', met: null, notes, details: { weirMsPerFile: samples.a, plainMsPerFile: samples.b, counts },
        });
      } finally {
        await removeDir(dir);
      }
    }
    if (only('BACKLOG')) {
      const dir = await tempDir('backlog');
      try {
        await writeTinyFiles(dir, idleFiles, 1);
        const samples = await alternate(reps, () => weirBacklogPlanning(dir, idleFiles), () => readdirMs(dir));
        const weir = median(samples.a);
        const listing = median(samples.b);
        rows.push({
          id: 'BACKLOG', workload: `planning a batch, backlog of ${idleFiles} files`, weir: figure(weir, 'ms/batch', 1),
          baseline: figure(listing, 'ms', 1), baselineName: 'one readdir of the folder', ratio: weir / listing,
          goal: 'lower is better', met: null,
          notes: [`median of the source's latestOffset over the twenty batches (maxFilesPerTrigger ${Math.ceil(idleFiles / 20)}) ` +
            'that drain the backlog'],
          details: { weirMs: samples.a, readdirMs: samples.b },
        });
      } finally {
        await removeDir(dir);
      }
    }
    if (only('IDLE')) {
      const dir = await tempDir('idle');
      try {
        await writeTinyFiles(dir, idleFiles, 1);
        const samples = await alternate(reps, () => weirIdleCpu(dir, idleSeconds * 1000), () => cpuPercentOver(idleSeconds * 1000));
        const weir = median(samples.a);
        const none = median(samples.b);
        rows.push({
          id: 'IDLE', workload: `idle file-source query over ${idleFiles} read files`, weir: figure(weir, '% of a core', 1),
          baseline: figure(none, '% of a core', 1), baselineName: 'same process, no query', ratio: null,
          goal: '≤ 5 % of a core', met: weir <= 5,
          notes: [`process CPU time (user + system) over ${idleSeconds} s, starting ${IDLE_WARMUP_MS / 1000} s after the query read every file; ` +
            'default trigger and poll interval (10 ms)'],
          details: { weirPercent: samples.a, noQueryPercent: samples.b },
        });
      } finally {
        await removeDir(dir);
      }
    }
    return rows;
  },
};
