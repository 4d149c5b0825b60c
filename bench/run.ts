/**
 * The benchmark suite (issue 5): every workload side by side with its baseline, in one process.
 *
 *   npm run bench                       default size (under 10 minutes on 2 cores)
 *   npm run bench -- --quick            small size (under a minute)
 *   npm run bench -- --only W2,W6       some workloads (ids: YSB, W1…W8, DEC, DUCKDB, SMALLFILES, BACKLOG, IDLE, NEXMARK, HTTP,
 *                                       KAFKA, WORKERS, REPL, TAKEOVER, HTTPR3: those three need a NATS cluster)
 *   npm run bench -- --busy 1           with 1 other process spinning on a core the whole time (a busy machine)
 *
 * Prints a table of medians and ratios. A full default run writes bench/results/latest.json and
 * latest.md (the README includes the latter); a full quick run writes quick.json / quick.md (not
 * committed); an --only or --busy run writes nothing. No assertions: figures depend on the machine.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { clearGenerators } from './lib/gen-source.js';
import { flushDisk } from './lib/measure.js';
import { consoleTable, markdownTable, notesText, ResultRow } from './lib/report.js';
import { sizesFor, Suite, Workload } from './lib/suite.js';
import { decimalWorkloads } from './workloads/decimal.js';
import { fileWorkloads } from './workloads/files.js';
import { growthWorkloads } from './workloads/growth.js';
import { httpWorkloads } from './workloads/http.js';
import { kafkaWorkloads } from './workloads/kafka.js';
import { latencyWorkloads } from './workloads/latency.js';
import { memoryWorkloads } from './workloads/memory.js';
import { nexmarkWorkloads } from './workloads/nexmark.js';
import { replicatedIngestWorkloads } from './workloads/replicated-ingest.js';
import { replicationWorkloads } from './workloads/replication.js';
import { smallFileWorkloads } from './workloads/small-files.js';
import { stateWorkloads } from './workloads/state.js';
import { workerWorkloads } from './workloads/workers.js';
import { ysbWorkloads } from './workloads/ysb.js';

const WORKLOADS: readonly Workload[] = [
  ysbWorkloads, memoryWorkloads, decimalWorkloads, fileWorkloads, smallFileWorkloads, latencyWorkloads, stateWorkloads,
  growthWorkloads, nexmarkWorkloads, httpWorkloads, replicatedIngestWorkloads, kafkaWorkloads, workerWorkloads,
  replicationWorkloads,
];
const KNOWN_IDS = WORKLOADS.flatMap((w) => w.ids);
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));

function parseArgs(argv: readonly string[]): { quick: boolean; only: Set<string> | null; busy: number } {
  let quick = false;
  let only: Set<string> | null = null;
  let busy = 0;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') quick = true;
    else if (argv[i] === '--busy') {
      busy = Number(argv[++i]);
      if (!Number.isInteger(busy) || busy < 1) throw new Error(`--busy takes a number of spinning processes (1 or more); got '${argv[i] ?? ''}'`);
    }
    else if (argv[i] === '--only') {
      only = new Set((argv[++i] ?? '').split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== ''));
      const unknown = [...only].filter((id) => !KNOWN_IDS.includes(id));
      if (only.size === 0 || unknown.length > 0) {
        throw new Error(`--only takes a comma-separated list of ${KNOWN_IDS.join(', ')}; got '${argv[i] ?? ''}'`);
      }
    } else {
      throw new Error(`Unknown argument '${argv[i]}': use --quick, --only <ids> and/or --busy <n>`);
    }
  }
  return { quick, only, busy };
}

/** Processes that keep a core busy until killed: the load a user's machine carries besides weir. */
function spinners(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const { quick, only, busy } = parseArgs(process.argv.slice(2));
const spinning = spinners(busy);
// Also when a workload throws: a spinner must not outlive the suite.
process.on('exit', () => { for (const child of spinning) child.kill(); });
const suite = new Suite(quick, sizesFor(quick));
const environment = {
  date: new Date().toISOString(), commit: gitCommit(), size: quick ? 'quick' : 'default', node: process.version,
  platform: `${platform()} ${release()} ${arch()}`, cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  memoryGB: Math.round(totalmem() / 2 ** 30), busyProcesses: busy,
};
const started = performance.now();
const rows: ResultRow[] = [];
for (const workload of WORKLOADS) {
  const selected = (id: string): boolean => only === null || only.has(id);
  if (!workload.ids.some(selected)) continue;
  const t = performance.now();
  process.stderr.write(`running ${workload.ids.filter(selected).join(', ')} … `);
  rows.push(...await workload.run(suite, selected));
  clearGenerators();
  flushDisk();
  process.stderr.write(`${((performance.now() - t) / 1000).toFixed(1)} s\n`);
}
const seconds = (performance.now() - started) / 1000;

console.log(`\nweir benchmark suite — ${environment.size} size, ${seconds.toFixed(0)} s, ${environment.cpus}, Node ${environment.node}` +
  (busy > 0 ? `, ${busy} busy process(es) beside it` : ''));
console.log(consoleTable(rows));
console.log(`\nNotes:\n${notesText(rows, '  ')}`);

if (only === null && busy === 0) {
  const name = quick ? 'quick' : 'latest';
  const command = quick ? 'npm run bench -- --quick' : 'npm run bench';
  const markdown = [
    `Measured with \`${command}\` on ${environment.date.slice(0, 10)} (commit ${environment.commit ?? '?'}): ` +
      `${environment.cpus}, ${environment.memoryGB} GB, ${environment.platform}, Node ${environment.node}; ` +
      `${seconds.toFixed(0)} s in all. Each figure is the median of ${suite.sizes.reps} run(s); weir and its ` +
      'baseline ran side by side in one process over the same input. Ratios are weir ÷ baseline.',
    '',
    markdownTable(rows),
    '',
    notesText(rows, '- '),
    '',
  ].join('\n');
  await mkdir(RESULTS, { recursive: true });
  await writeFile(`${RESULTS}${name}.json`, `${JSON.stringify({ environment, seconds, sizes: suite.sizes, rows }, null, 2)}\n`);
  await writeFile(`${RESULTS}${name}.md`, markdown);
  console.log(`\nWrote bench/results/${name}.json and ${name}.md`);
}
