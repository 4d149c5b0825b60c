/**
 * `weir demo`: generates page-view events into `<dir>/input` while a live pipeline (its own
 * process) aggregates them into `<dir>/output`, kills that process with SIGKILL at random moments
 * and starts it again, then drains the input and checks the output window by window.
 * Killing `weir demo` itself and running it again with the same `--dir` resumes where it stopped.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { access, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from '../../common/random.js';
import { demoEvent, EVENT_TIME_SPEEDUP, eventTimeRate, EventWriter } from './events.js';
import { FIRST_BATCH_NEW, FIRST_BATCH_RESUMED } from './pipeline-process.js';
import { demoFolders, WINDOW_MS } from './pipeline.js';
import { checkDemoOutput, DemoCheck } from './verify.js';

export interface DemoOptions {
  readonly dir: string;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly kills: number;
  readonly fresh: boolean;
  /** Seeds the choice of kill moments, so a run can be repeated. */
  readonly seed: number;
  /** Serve the web UI from the pipeline process on this port (every restart serves it again there). */
  readonly uiPort?: number;
  /** How to start `weir demo-pipeline`: the node executable and the CLI script. */
  readonly cli: readonly [string, string];
}

const TICK_MS = 250;
const DONE_MARKER = 'DONE';
/** Written last: one event far enough ahead in event time that the watermark closes every real window. */
const END_FILE = 'end-of-demo.json';

export async function runDemo(options: DemoOptions, log: (line: string) => void): Promise<DemoCheck> {
  const folders = demoFolders(options.dir);
  const finishedBefore = await exists(join(options.dir, DONE_MARKER));
  if (options.fresh || finishedBefore) await rm(options.dir, { recursive: true, force: true });
  const writer = new EventWriter(folders.input, eventTimeRate(options.eventsPerSecond));
  await writer.open();
  const total = Math.round(options.seconds * options.eventsPerSecond);
  log(writer.eventsWritten > 0
    ? `Resuming the demo in ${options.dir}: ${writer.eventsWritten} of ${total} events already written.`
    : `Demo folder ${options.dir}: events in input/, windowed counts in output/, checkpoint in checkpoint/.`);
  log(`Writing ${options.eventsPerSecond} page views/s for ${options.seconds} s; the pipeline counts views per page per ` +
    `${WINDOW_MS / 1000} s window of event time (which runs ${EVENT_TIME_SPEEDUP}× faster than the clock; watermark 2 s) and will be killed with SIGKILL ${options.kills} times (seed ${options.seed}).`);

  const killAt = pickKillTicks(options.kills, Math.ceil((total - writer.eventsWritten) / perTick(options)), seededRandom(options.seed));
  let kills = 0;
  let pipeline = startPipeline(options, false, log);
  for (let tick = 0; writer.eventsWritten < total; tick++) {
    await writer.writeFile(Math.min(total - writer.eventsWritten, perTick(options)));
    if (killAt.has(tick)) {
      // A kill before the pipeline committed anything would show nothing; each kill interrupts a pipeline at work.
      await pipeline.committedABatch;
      log(`kill -9 ${pipeline.child.pid} (after ${writer.eventsWritten} events written)`);
      pipeline.child.kill('SIGKILL');
      await pipeline.exited;
      kills += 1;
      pipeline = startPipeline(options, false, log);
    }
    await sleep(TICK_MS);
  }
  const last = demoEvent(total - 1, eventTimeRate(options.eventsPerSecond));
  await writer.writeWhole(END_FILE,
    [JSON.stringify({ ...last, id: total, ts: new Date(Date.parse(last.ts) + 4 * WINDOW_MS).toISOString(), page: '(end)' })]);
  log('All events written; stopping the live pipeline and draining what is left (availableNow).');
  pipeline.child.kill('SIGTERM');
  await exitOk(pipeline, 'SIGTERM');
  await exitOk(startPipeline(options, true, log));

  const check = await checkDemoOutput(folders, await writer.readAll());
  await writeFile(join(options.dir, DONE_MARKER), `${new Date().toISOString()}\n`);
  log('');
  log(`events written         ${check.events}`);
  log(`pipeline kills         ${kills} (SIGKILL in this run)`);
  log(`windows expected       ${check.windowsExpected}`);
  log(`windows written        ${check.windowsWritten}`);
  log(`events counted         ${check.eventsCounted}`);
  log(`lost windows           ${check.lost}`);
  log(`duplicated windows     ${check.duplicated}`);
  log(`windows with wrong sum ${check.wrong}`);
  const ok = check.lost === 0 && check.duplicated === 0 && check.wrong === 0 && check.eventsCounted === check.events;
  log(ok ? 'Exactly once: every event counted once, across every crash.' : 'MISMATCH: the output does not match the input.');
  log(`Inspect the checkpoint with: weir inspect ${folders.checkpoint}`);
  return check;
}

const perTick = (options: DemoOptions): number => Math.ceil(options.eventsPerSecond * TICK_MS / 1000);

/** `kills` distinct ticks in [1, ticks - 1], spread at random over the run. */
function pickKillTicks(kills: number, ticks: number, random: () => number): Set<number> {
  const candidates = Array.from({ length: Math.max(0, ticks - 1) }, (_, i) => i + 1);
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
  }
  return new Set(candidates.slice(0, kills));
}

interface Pipeline {
  readonly child: ChildProcess;
  /** Resolves once the pipeline reported its first committed batch (or exited). */
  readonly committedABatch: Promise<void>;
  /** The exit code and signal. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
}

function startPipeline(options: DemoOptions, drain: boolean, log: (line: string) => void): Pipeline {
  const [node, script] = options.cli;
  const child = spawn(node, [script, 'demo-pipeline', '--dir', options.dir, ...(drain ? ['--drain'] : []),
    ...(options.uiPort === undefined ? [] : ['--ui-port', String(options.uiPort)])],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let reportedBatch!: () => void;
  const committedABatch = new Promise<void>((resolve) => { reportedBatch = resolve; });
  void exited.then(() => reportedBatch());
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith(FIRST_BATCH_NEW) || line.startsWith(FIRST_BATCH_RESUMED)) reportedBatch();
      log(`  [pipeline ${child.pid}] ${line}`);
    }
  });
  return { child, committedABatch, exited };
}

/** Waits for a clean exit; `allowed` is a signal that also counts as one (a SIGTERM that came before the handler was set). */
async function exitOk(pipeline: Pipeline, allowed?: NodeJS.Signals): Promise<void> {
  const [code, signal] = await pipeline.exited;
  if (code !== 0 && (signal === null || signal !== allowed)) {
    throw new Error(`The demo pipeline (pid ${pipeline.child.pid}) failed (${signal ?? `exit code ${code}`}); see its error above.`);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
