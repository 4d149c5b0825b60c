/** The `weir` command line: `weir demo`, `weir run <pipeline.sql>`, `weir inspect <checkpoint>`, `weir top [url]`. */
import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { WeirError } from '../common/errors.js';
import { runDemoPipeline } from './demo/pipeline-process.js';
import { runDemo } from './demo/run-demo.js';
import { copyCheckpoint } from './checkpoint-copy.js';
import { dumpState, formatCheckpointReport, inspectCheckpoint } from './inspect.js';
import { runPipelineFile } from './run/run-pipeline.js';
import { runTop } from './top.js';

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535).');
  return n;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0.');
  return n;
}

const program = new Command()
  .name('weir')
  .description('Structured streaming for Node.js with exactly-once fault tolerance.');

program.command('demo')
  .description('Generate page-view events into a folder while a live pipeline aggregates them; the pipeline is ' +
    'killed with SIGKILL and restarted along the way, and the output is checked window by window at the end.')
  .option('--dir <folder>', 'the demo folder (input/, output/, checkpoint/)', 'weir-demo')
  .option('--seconds <n>', 'how long to generate events', positiveNumber, 12)
  .option('--rate <n>', 'events per second', positiveNumber, 2000)
  .option('--kills <n>', 'how many times to SIGKILL the pipeline', count, 3)
  .option('--fresh', 'start over even if the folder holds an interrupted demo', false)
  .option('--seed <n>', 'seed of the random kill moments (to repeat a run)', count)
  .option('--ui <port>', 'serve the web UI (and /metrics, /health) from the pipeline on this port of 127.0.0.1', port)
  .action(async (opts: { dir: string; seconds: number; rate: number; kills: number; fresh: boolean; seed?: number; ui?: number }) => {
    const check = await runDemo({
      dir: resolve(opts.dir), seconds: opts.seconds, eventsPerSecond: opts.rate, kills: opts.kills, fresh: opts.fresh,
      seed: opts.seed ?? Date.now() % 1_000_000, ...(opts.ui === undefined ? {} : { uiPort: opts.ui }),
      cli: [process.execPath, process.argv[1]!],
    }, (line) => process.stdout.write(`${line}\n`));
    const exact = check.lost === 0 && check.duplicated === 0 && check.wrong === 0 && check.eventsCounted === check.events;
    process.exitCode = exact ? 0 : 1;
  });

program.command('demo-pipeline', { hidden: true })
  .requiredOption('--dir <folder>')
  .option('--drain', 'process what is in the input folder, then stop', false)
  .option('--ui-port <port>', 'serve the web UI on this port', port)
  .action(async (opts: { dir: string; drain: boolean; uiPort?: number }) => {
    await runDemoPipeline(resolve(opts.dir), opts.drain, opts.uiPort);
  });

program.command('top')
  .description('A terminal view of the queries of a running weir web UI: status, batch, rates, lag, errors.')
  .argument('[url]', 'the web UI\'s address', 'http://127.0.0.1:4040')
  .option('--token <token>', 'the UI\'s bearer token (or WEIR_UI_TOKEN)')
  .option('--interval <seconds>', 'seconds between refreshes', positiveNumber, 2)
  .option('--once', 'print the view once and exit', false)
  .action(async (url: string, opts: { token?: string; interval: number; once: boolean }) => {
    await runTop({ url, token: opts.token ?? process.env['WEIR_UI_TOKEN'] ?? null, intervalMs: opts.interval * 1000,
      once: opts.once }, (text) => process.stdout.write(text));
  });

program.command('run')
  .description('Run a SQL pipeline file: CREATE TABLE … WITH (…) declares sources and sinks, each INSERT INTO … SELECT ' +
    'runs as a durable streaming query with its own checkpoint; Ctrl-C stops gracefully, running again resumes.')
  .argument('<file>', 'the pipeline, e.g. pipeline.sql')
  .option('--dry-run', 'parse and analyze, print each query\'s plan, start nothing', false)
  .option('--standby', 'start every query as a standby: wait until the running instance\'s lease expires, keeping ' +
    'its state warm, then take over (needs a nats:// checkpointLocation)', false)
  .action(async (file: string, opts: { dryRun: boolean; standby: boolean }) => {
    const ok = await runPipelineFile({
      file, dryRun: opts.dryRun, standby: opts.standby, env: process.env, live: process.stdout.isTTY === true,
      out: (text) => process.stdout.write(`${text}\n`),
    });
    // A failure may leave standbys of the file's other queries waiting for their leases: they hold nothing.
    if (!ok) process.exit(1);
  });

program.command('inspect')
  .description('Show a checkpoint: query id, inputs, state, and each batch\'s offsets, watermark, commit and sink.')
  .argument('<checkpoint>', 'the checkpointLocation: a folder, or nats://host:port[,host:port]/<name>')
  .option('--json', 'print the report as JSON', false)
  .option('--state <operator>', 'print that stateful operator\'s keys and values as of the last committed batch, ' +
    'one JSON line each', count)
  .action(async (checkpoint: string, opts: { json: boolean; state?: number }) => {
    if (opts.state !== undefined) {
      for (const line of await dumpState(checkpoint, opts.state)) process.stdout.write(`${line}\n`);
      return;
    }
    const report = await inspectCheckpoint(checkpoint);
    process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : formatCheckpointReport(report)}\n`);
  });

program.command('checkpoint')
  .description('Work on a stopped query\'s checkpoint.')
  .command('copy')
  .description('Copy a checkpoint to a new location (a folder or nats://host:port[,host:port]/<name>), verified by SHA-256.')
  .argument('<from>', 'the checkpointLocation to copy')
  .argument('<to>', 'a new, empty location')
  .action(async (from: string, to: string) => {
    const report = await copyCheckpoint(from, to);
    process.stdout.write(`copied ${report.files} files (${report.bytes} bytes), each verified\n`);
  });

program.parseAsync().catch((err: unknown) => {
  // weir's own errors already say what went wrong and what to do; anything else keeps its stack.
  process.stderr.write(`weir: ${err instanceof WeirError ? `${err.message} [${err.code}]` : (err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
});
