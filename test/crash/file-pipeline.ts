/**
 * The file-to-file pipelines the crash tests kill: generated JSON-lines input (each record with a
 * unique id), a child process that runs one of two queries over it into the exactly-once json
 * file sink, and the check of the sink's output, record by record, against the input.
 */
import { spawn } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { col, count, sum, Weir, window } from '../../src/index.js';
import type { DataFrame, Row, Schema } from '../../src/index.js';

export type PipelineKind = 'stateless' | 'windowed' | 'join';
export const PIPELINE_KINDS: readonly PipelineKind[] = ['stateless', 'windowed', 'join'];

/** The fault steps of the batch protocol (WEIR_FAULT=<step>@<batch>); the child SIGKILLs itself there. */
export const FAULT_STEPS = ['afterOffsetWrite', 'midSink', 'afterSink', 'midCommit'] as const;
/**
 * The lmdb state store adds steps inside its own commit: its changelog written, the working copy not yet;
 * and inside the working copy's LMDB transaction, which its store runs at every snapshot version (so the
 * pipelines snapshot every STATE_SNAPSHOT_INTERVAL batches, and the last step falls on such a batch).
 */
export const LMDB_FAULT_STEPS = [...FAULT_STEPS, 'midStateCommit', 'midWorkingCopyWrite'] as const;
export const STATE_SNAPSHOT_INTERVAL = 2;

/** The state store providers the stateful pipelines run with (option 'stateStoreProvider'). */
export type StateProviderName = 'memory' | 'lmdb';

export const WINDOW_MS = 2_000;
export const INPUT_SCHEMA = 'id LONG, ts TIMESTAMP, key STRING, amount LONG';

export interface InputRecord { id: number; ts: number; key: string; amount: number }

export interface PipelineFolders { readonly input: string; readonly output: string; readonly checkpoint: string }

export function pipelineFolders(root: string): PipelineFolders {
  return { input: join(root, 'input'), output: join(root, 'output'), checkpoint: join(root, 'checkpoint') };
}

/** Event time starts above 0: a row at the initial watermark (0) would be late, as in Spark. */
export const recordAt = (i: number): InputRecord => ({ id: i, ts: (i + 1) * 100, key: `k${i % 7}`, amount: i % 13 });

async function putFile(folder: string, name: string, rows: readonly InputRecord[]): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, `.${name}.tmp`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await rename(join(folder, `.${name}.tmp`), join(folder, name));
}

/** Writes files `first` .. `first + files - 1` of `perFile` records each (write-then-rename, as the file source requires). */
export async function appendInput(folder: string, first: number, files: number, perFile: number): Promise<InputRecord[]> {
  const records: InputRecord[] = [];
  for (let f = first; f < first + files; f++) {
    const rows = Array.from({ length: perFile }, (_, k) => recordAt(f * perFile + k));
    records.push(...rows);
    await putFile(folder, `events-${String(f).padStart(4, '0')}.json`, rows);
  }
  return records;
}

/** The last file: one record far ahead in event time, so the watermark closes every window before it. */
export async function endInput(folder: string, records: readonly InputRecord[]): Promise<void> {
  const lastTs = Math.max(0, ...records.map((r) => r.ts));
  await putFile(folder, 'events-9999-end.json', [{ id: -1, ts: lastTs + 100_000, key: 'end', amount: 0 }]);
}

/** The query of each kind, started on the folders with the availableNow trigger (the child exits when it ends). */
async function startPipeline(kind: PipelineKind, folders: PipelineFolders, provider: StateProviderName): Promise<void> {
  const weir = new Weir();
  const read = (filesPerTrigger: number): DataFrame => weir.readStream.format('json').schema(INPUT_SCHEMA)
    .option('maxFilesPerTrigger', filesPerTrigger).load(folders.input);
  const input = read(1);
  const query = kind === 'stateless'
    ? input.filter(col('id').geq(0)).withColumn('doubled', col('amount').multiply(2)).drop('key')
    : kind === 'windowed'
      ? input.withWatermark('ts', '1 second').groupBy(window(col('ts'), `${WINDOW_MS / 1000} seconds`), col('key'))
        .agg(count('*').as('n'), sum('amount').as('total'))
      // The same files read twice, the right side twice as fast: its rows wait in state for their partners.
      : input.select(col('id').as('lid'), col('ts').as('lts'), col('amount')).withWatermark('lts', '1 second')
        .join(read(2).select(col('id').as('rid'), col('ts').as('rts'), col('key')).withWatermark('rts', '1 second'),
          col('lid').equalTo(col('rid')).and(col('lts').equalTo(col('rts'))))
        .filter(col('lid').geq(0));
  const started = await query.writeStream.format('json').outputMode('append')
    .option('checkpointLocation', folders.checkpoint).option('stateStoreProvider', provider)
    .option('stateSnapshotInterval', STATE_SNAPSHOT_INTERVAL).trigger({ availableNow: true }).start(folders.output);
  await started.awaitTermination();
}

export interface ChildExit { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stderr: string }

/** Runs the pipeline in a child process; `fault` injects a crash, `killAfterMs` sends SIGKILL from outside. */
export function runPipelineChild(kind: PipelineKind, root: string,
  options: { fault?: string; killAfterMs?: number; provider?: StateProviderName } = {}): Promise<ChildExit> {
  const env = { ...process.env };
  delete env['WEIR_FAULT'];
  if (options.fault) env['WEIR_FAULT'] = options.fault;
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), kind, root, options.provider ?? 'memory'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const killer = options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stderr });
    });
  });
}

export interface CheckResult {
  readonly expected: number;
  readonly lost: string[];
  readonly duplicated: string[];
  /** Output rows that match no expected row (wrong values). */
  readonly wrong: string[];
}

const OUTPUT_SCHEMAS: Readonly<Record<PipelineKind, Schema>> = {
  stateless: [
    { name: 'id', type: 'long', nullable: true }, { name: 'ts', type: 'timestamp', nullable: true },
    { name: 'amount', type: 'long', nullable: true }, { name: 'doubled', type: 'long', nullable: true },
  ],
  join: [
    { name: 'lid', type: 'long', nullable: true }, { name: 'lts', type: 'timestamp', nullable: true },
    { name: 'amount', type: 'long', nullable: true }, { name: 'rid', type: 'long', nullable: true },
    { name: 'rts', type: 'timestamp', nullable: true }, { name: 'key', type: 'string', nullable: true },
  ],
  windowed: [
    { name: 'window', nullable: false, type: { kind: 'struct', fields: [
      { name: 'start', type: 'timestamp', nullable: false }, { name: 'end', type: 'timestamp', nullable: false }] } },
    { name: 'key', type: 'string', nullable: true }, { name: 'n', type: 'long', nullable: false },
    { name: 'total', type: 'long', nullable: true },
  ],
};

/** One line per expected output row: what each input record must have produced, exactly once. */
export function expectedLines(kind: PipelineKind, records: readonly InputRecord[]): string[] {
  if (kind === 'stateless') return records.map((r) => `${r.id}|${r.ts}|${r.amount}|${r.amount * 2}`);
  if (kind === 'join') return records.map((r) => `${r.id}|${r.ts}|${r.amount}|${r.key}`);
  const groups = new Map<string, { n: number; total: number }>();
  for (const r of records) {
    const k = `${r.ts - (r.ts % WINDOW_MS)}|${r.key}`;
    const g = groups.get(k) ?? { n: 0, total: 0 };
    g.n += 1;
    g.total += r.amount;
    groups.set(k, g);
  }
  return [...groups].map(([k, g]) => `${k}|${g.n}|${g.total}`);
}

function outputLine(kind: PipelineKind, row: Row): string {
  if (kind === 'stateless') return `${row['id']}|${row['ts']}|${row['amount']}|${row['doubled']}`;
  if (kind === 'join') {
    const consistent = row['lid'] === row['rid'] && row['lts'] === row['rts'];
    return `${row['lid']}|${row['lts']}|${row['amount']}|${row['key']}${consistent ? '' : '|MISMATCHED'}`;
  }
  return `${(row['window'] as Row)['start']}|${row['key']}|${row['n']}|${row['total']}`;
}

/** Reads the sink's committed output (through its manifests) and compares it with the input, row by row. */
export async function checkOutput(kind: PipelineKind, folders: PipelineFolders, records: readonly InputRecord[]): Promise<CheckResult> {
  const expected = expectedLines(kind, records);
  const rows = await new Weir().read.format('json').schema(OUTPUT_SCHEMAS[kind]).load(folders.output).collect();
  const seen = new Map<string, number>();
  for (const row of rows) {
    const line = outputLine(kind, row);
    seen.set(line, (seen.get(line) ?? 0) + 1);
  }
  const wanted = new Set(expected);
  return {
    expected: expected.length,
    lost: expected.filter((line) => !seen.has(line)),
    duplicated: [...seen].filter(([, n]) => n > 1).map(([line]) => line),
    wrong: [...seen.keys()].filter((line) => !wanted.has(line)),
  };
}

// As a child process (started by runPipelineChild): run the pipeline; the test runner loading this file gets nothing.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.length === 5) {
  await startPipeline(process.argv[2] as PipelineKind, pipelineFolders(process.argv[3]!), process.argv[4] as StateProviderName);
}
