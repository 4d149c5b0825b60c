/**
 * One instance of a replicated query for the failover tests: NATS -> 10-second windowed count (append)
 * -> NATS, checkpoint on JetStream. Prints `active <takeoverMs>` on stdout once it holds the lease; exits 0
 * when the query ends, 3 with the error code on stderr when it stops with an error (e.g. FENCED).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { col, StreamingQuery, Weir, WeirError, window } from '../../src/index.js';

export interface FailoverConfig {
  readonly checkpoint: string;
  readonly natsUrl: string;
  readonly inputStream: string;
  readonly outputSubject: string;
  readonly standby: boolean;
  readonly leaseTimeoutMs: number;
  /** Ends after the input is read (availableNow) instead of running until killed. */
  readonly availableNow: boolean;
  /** The instance's own working folder ("its machine's disk"): the tests delete it with the process. */
  readonly workDir: string;
}

export interface FailoverChild {
  readonly process: ChildProcess;
  /** Resolves with the takeover time (ms; 0 when the lease was free) once this instance is active. */
  readonly active: Promise<number>;
  /** Resolves with the first stdout line that `pattern` matches (rejects if the process ends first). */
  line(pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves when the process ends: exit code, signal, stderr. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** What the instance printed so far (the ends of its stdout and stderr), for a failure's message. */
  said(): string;
}

export function startFailoverChild(config: FailoverConfig, fault?: string): FailoverChild {
  return spawnInstance(fileURLToPath(import.meta.url), config, fault);
}

/** Runs `script` with the config as its argument, following its `active <ms>` line and its end. */
export function spawnInstance(script: string, config: object, fault?: string): FailoverChild {
  const env = { ...process.env };
  if (fault) env['WEIR_FAULT'] = fault;
  else delete env['WEIR_FAULT'];
  const child = spawn(process.execPath, [script, JSON.stringify(config)],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  const line = (pattern: RegExp): Promise<RegExpExecArray> => new Promise((resolve, reject) => {
    const look = (): void => {
      const m = new RegExp(pattern.source, 'm').exec(stdout);
      if (m) {
        child.stdout!.off('data', look);
        resolve(m);
      }
    };
    child.stdout!.on('data', look);
    child.on('exit', () => reject(new Error(`instance ended before it printed ${pattern}: ${stderr}`)));
    look();
  });
  const active = line(/^active (\d+)$/).then((m) => Number(m[1]));
  active.catch(() => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
  const said = (): string => `stdout: ${stdout.slice(-3000)}\nstderr: ${stderr.slice(-3000)}`;
  return { process: child, active, line, exited, said };
}

async function main(config: FailoverConfig): Promise<void> {
  mkdirSync(config.workDir, { recursive: true });
  writeFileSync(join(config.workDir, 'pid'), String(process.pid));
  const weir = new Weir();
  weir.streams.addListener({
    onQueryStarted: (e) => {
      process.stdout.write(`active ${e.takeoverMs ?? 0}\n`);
      if (e.takeover) process.stdout.write(`takeover ${JSON.stringify(e.takeover)}\n`);
    },
    // For the warm standby tests: how far the standby's copy got, and the takeover the first batch reports.
    onQueryStandby: (e) => { process.stdout.write(`following ${e.followedBatchId} ${e.stateRows}\n`); },
    onQueryProgress: ({ progress }) => {
      if (progress.takeover) process.stdout.write(`progress-takeover ${JSON.stringify(progress.takeover)}\n`);
    },
  });
  const counts = weir.readStream.format('nats').schema('ts TIMESTAMP, word STRING').option('url', config.natsUrl)
    .option('stream', config.inputStream).option('maxRecordsPerTrigger', 2).load()
    .withWatermark('ts', '0 seconds').groupBy(window(col('ts'), '10 seconds'), col('word')).count();
  const query = await counts.writeStream.format('nats').option('url', config.natsUrl).option('subject', config.outputSubject)
    .outputMode('append').option('checkpointLocation', config.checkpoint).option('standby', config.standby)
    // Few batches kept: retention deletes entries and state files on JetStream while the tests kill and fence.
    .option('minBatchesToRetain', 3).option('stateSnapshotInterval', 3)
    .option('leaseTimeoutMs', config.leaseTimeoutMs)
    .trigger(config.availableNow ? { availableNow: true } : { processingTime: 50 }).start();
  // A test that waited too long asks where the query is (SIGUSR2) before it fails, so its message says.
  process.on('SIGUSR2', () => {
    const where = { status: query.status, lastBatch: query.lastProgress?.batchId ?? null, resources: process.getActiveResourcesInfo() };
    process.stdout.write(`status ${JSON.stringify(where)}\n`);
  });
  await awaitEnd(query);
}

/** Waits for the query to end; on an error, prints `<code>: <message>` of its cause and exits with 3. */
export async function awaitEnd(query: StreamingQuery): Promise<void> {
  try {
    await query.awaitTermination();
  } catch (err) {
    let cause: unknown = err;
    while (cause instanceof Error && !(cause instanceof WeirError && cause.code !== 'QUERY_FAILED') && cause.cause) cause = cause.cause;
    process.stderr.write(`${cause instanceof WeirError ? cause.code : 'ERROR'}: ${(cause as Error).message}\n`);
    process.exit(3);
  }
}


if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== undefined) {
  await main(JSON.parse(process.argv[2]!) as FailoverConfig);
}
