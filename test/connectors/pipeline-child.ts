/**
 * Crash tests for the connectors: a child process runs NATS or Kafka -> 10-second windowed count
 * (append) -> NATS, PostgreSQL or Kafka with the `availableNow` trigger; the parent kills it at chosen steps of chosen
 * batches (WEIR_FAULT) and restarts it from its checkpoint until it finishes.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { col, Row, Weir, window } from '../../src/index.js';

export interface PipelineConfig {
  readonly checkpoint: string;
  readonly natsUrl: string;
  readonly inputStream: string;
  /** Reads this Kafka topic (JSON values) instead of the NATS stream. */
  readonly kafkaInput?: { readonly brokers: string; readonly topic: string };
  readonly sink:
    | { readonly format: 'nats'; readonly subject: string }
    | { readonly format: 'postgres'; readonly url: string; readonly table: string }
    | { readonly format: 'kafka'; readonly brokers: string; readonly topic: string };
}

/** Where the crash tests kill the child, in batch order; the last run then finishes without a fault. */
export const CRASH_FAULTS = ['midSink@1', 'afterSink@2', 'midCommit@3', 'afterOffsetWrite@5', 'midSink@6'];

/** 32 events with rising times over nine windows, then one far later that closes them all (its own stays open). */
export function crashInput(): { ts: number; word: string }[] {
  const events = Array.from({ length: 32 }, (_, i) => ({ ts: 1_000 + i * 2_500, word: ['a', 'b', 'c'][i % 3]! }));
  return [...events, { ts: 1_000_000, word: 'z' }];
}

/** The exact append-mode output for {@link crashInput}, as sorted `windowStartMs|word|count` lines. */
export function expectedCounts(): string[] {
  const counts = new Map<string, number>();
  for (const e of crashInput().slice(0, -1)) {
    const key = `${Math.floor(e.ts / 10_000) * 10_000}|${e.word}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k}|${n}`).sort();
}

/**
 * Runs the child once, killed at `fault` (a WEIR_FAULT step) or with SIGKILL after `killAfterMs`;
 * resolves with the signal that ended it (null when it exited), rejects on a non-zero exit.
 */
export function runPipeline(config: PipelineConfig, fault: string | null, killAfterMs?: number): Promise<NodeJS.Signals | null> {
  const env = { ...process.env };
  if (fault) env['WEIR_FAULT'] = fault;
  else delete env['WEIR_FAULT'];
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(config)],
    { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const killer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      if (code !== null && code !== 0) reject(new Error(`pipeline child exited with ${code}: ${stderr}`));
      else resolve(signal);
    });
  });
}

async function main(config: PipelineConfig): Promise<void> {
  const weir = new Weir();
  const events = config.kafkaInput
    ? weir.readStream.format('kafka').option('kafka.bootstrap.servers', config.kafkaInput.brokers)
      .option('subscribe', config.kafkaInput.topic).option('startingOffsets', 'earliest').option('maxOffsetsPerTrigger', 4).load()
      .select(col('value').cast('string').as('json'))
      .map((r) => JSON.parse(String(r['json'])) as Row, { ts: 'timestamp', word: 'string' })
    : weir.readStream.format('nats').schema('ts TIMESTAMP, word STRING').option('url', config.natsUrl)
      .option('stream', config.inputStream).option('maxRecordsPerTrigger', 4).load();
  const counts = events.withWatermark('ts', '0 seconds').groupBy(window(col('ts'), '10 seconds'), col('word')).count();
  const sink = config.sink;
  const writer = (sink.format === 'kafka'
    ? counts.map((r) => ({ key: r['word'] ?? null, value: JSON.stringify(r) }), { key: 'string', value: 'string' })
    : counts).writeStream.outputMode('append').option('checkpointLocation', config.checkpoint).trigger({ availableNow: true });
  const query = sink.format === 'nats'
    ? await writer.format('nats').option('url', config.natsUrl).option('subject', sink.subject).start()
    : sink.format === 'kafka'
      ? await writer.format('kafka').option('kafka.bootstrap.servers', sink.brokers).option('topic', sink.topic).start()
      : await writer.format('postgres').option('url', sink.url).option('table', sink.table).option('createTable', true).start();
  await query.awaitTermination();
}

// Only as the crash tests start it (with a config); a test runner that loads every file under test/ gets nothing.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== undefined) {
  await main(JSON.parse(process.argv[2]!) as PipelineConfig);
}
