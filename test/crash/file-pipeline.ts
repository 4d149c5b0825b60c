/**
 * The file-to-file pipelines the crash tests kill: generated JSON-lines input (each record with a
 * unique id), a child process that runs one of two queries over it into the exactly-once json
 * file sink, and the check of the sink's output, record by record, against the input.
 */
import { spawn } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { col, count, max, sum, Weir, window } from '../../src/index.js';
import type { DataFrame, Field, Row, Schema } from '../../src/index.js';

export type PipelineKind = 'stateless' | 'windowed' | 'join' | 'chained' | 'decimal';
export const PIPELINE_KINDS: readonly PipelineKind[] = ['stateless', 'windowed', 'join', 'chained', 'decimal'];

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
export const INPUT_SCHEMA = 'id LONG, ts TIMESTAMP, key STRING, amount LONG, price DECIMAL(30,4)';

/** `price` is a decimal's text, written into the JSON as a number with more digits than a double holds. */
export interface InputRecord { id: number; ts: number; key: string; amount: number; price: string }

export interface PipelineFolders { readonly input: string; readonly output: string; readonly checkpoint: string }

export function pipelineFolders(root: string): PipelineFolders {
  return { input: join(root, 'input'), output: join(root, 'output'), checkpoint: join(root, 'checkpoint') };
}

/** Event time starts above 0: a row at the initial watermark (0) would be late, as in Spark. */
export const recordAt = (i: number): InputRecord => ({
  id: i, ts: (i + 1) * 100, key: `k${i % 7}`, amount: i % 13,
  price: `${i % 2 ? '-' : ''}${1 + ((i * 7919) % 100_000)}${'9'.repeat(15)}.${String(i % 10_000).padStart(4, '0')}`,
});

/** A record's JSON line, its price as a bare JSON number. */
const recordLine = (r: InputRecord): string => JSON.stringify(r).replace(/"price":"([^"]*)"/, '"price":$1');

async function putFile(folder: string, name: string, rows: readonly InputRecord[]): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, `.${name}.tmp`), rows.map(recordLine).join('\n') + '\n');
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
  await putFile(folder, 'events-9999-end.json', [{ id: -1, ts: lastTs + 100_000, key: 'end', amount: 0, price: '0' }]);
}

/** The query of each kind, started on the folders with the availableNow trigger (the child exits when it ends). */
async function startPipeline(kind: PipelineKind, folders: PipelineFolders, provider: StateProviderName,
  numWorkers: string | undefined): Promise<void> {
  const weir = new Weir();
  const read = (filesPerTrigger: number): DataFrame => weir.readStream.format('json').schema(INPUT_SCHEMA)
    .option('maxFilesPerTrigger', filesPerTrigger).load(folders.input);
  const input = read(1);
  const windowed = (total: 'amount' | 'price'): DataFrame => input.withWatermark('ts', '1 second')
    .groupBy(window(col('ts'), `${WINDOW_MS / 1000} seconds`), col('key')).agg(count('*').as('n'), sum(total).as('total'));
  const query = kind === 'stateless'
    ? input.filter(col('id').geq(0)).withColumn('doubled', col('amount').multiply(2)).drop('key')
    : kind === 'windowed' ? windowed('amount')
      : kind === 'decimal' ? windowed('price')
        // Two aggregations in one query: per window, the keys seen, their rows and the largest total of one key.
        : kind === 'chained' ? windowed('amount').groupBy(col('window'))
          .agg(count('*').as('keys'), sum('n').as('n'), max('total').as('maxTotal'))
      // The same files read twice, the right side twice as fast: its rows wait in state for their partners.
      : input.select(col('id').as('lid'), col('ts').as('lts'), col('amount')).withWatermark('lts', '1 second')
        .join(read(2).select(col('id').as('rid'), col('ts').as('rts'), col('key')).withWatermark('rts', '1 second'),
          col('lid').equalTo(col('rid')).and(col('lts').equalTo(col('rts'))))
        .filter(col('lid').geq(0));
  const writer = query.writeStream.format('json').outputMode('append')
    .option('checkpointLocation', folders.checkpoint).option('stateStoreProvider', provider)
    .option('stateSnapshotInterval', STATE_SNAPSHOT_INTERVAL).trigger({ availableNow: true });
  const started = await (numWorkers === undefined ? writer : writer.option('numWorkers', numWorkers)).start(folders.output);
  await started.awaitTermination();
}

export interface ChildExit { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stderr: string }

/** Runs the pipeline in a child process; `fault` injects a crash, `killAfterMs` sends SIGKILL from outside. */
export function runPipelineChild(kind: PipelineKind, root: string,
  options: { fault?: string; killAfterMs?: number; provider?: StateProviderName; numWorkers?: number } = {}): Promise<ChildExit> {
  const env = { ...process.env };
  delete env['WEIR_FAULT'];
  if (options.fault) env['WEIR_FAULT'] = options.fault;
  const args = [fileURLToPath(import.meta.url), kind, root, options.provider ?? 'memory',
    ...(options.numWorkers === undefined ? [] : [String(options.numWorkers)])];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
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

const WINDOW_FIELD: Field = {
  name: 'window', nullable: false, type: { kind: 'struct', fields: [
    { name: 'start', type: 'timestamp', nullable: false }, { name: 'end', type: 'timestamp', nullable: false }] },
};

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
    WINDOW_FIELD, { name: 'key', type: 'string', nullable: true }, { name: 'n', type: 'long', nullable: false },
    { name: 'total', type: 'long', nullable: true },
  ],
  chained: [
    WINDOW_FIELD, { name: 'keys', type: 'long', nullable: false }, { name: 'n', type: 'long', nullable: true },
    { name: 'maxTotal', type: 'long', nullable: true },
  ],
  // The windowed aggregation over a decimal: sum of DECIMAL(30,4) is DECIMAL(38,4), checked digit by digit.
  decimal: [
    WINDOW_FIELD, { name: 'key', type: 'string', nullable: true }, { name: 'n', type: 'long', nullable: false },
    { name: 'total', type: 'decimal(38,4)', nullable: true },
  ],
};

/** A decimal's text with 4 fraction digits as its unscaled integer (exact, whatever its size). */
const unscaled4 = (text: string): bigint => BigInt(text.replace('.', ''));

/** An unscaled integer of scale 4 as decimal text (`-12.3400`). */
function scale4Text(v: bigint): string {
  const digits = (v < 0n ? -v : v).toString().padStart(5, '0');
  return `${v < 0n ? '-' : ''}${digits.slice(0, -4)}.${digits.slice(-4)}`;
}

/** One line per expected output row: what each input record must have produced, exactly once. */
export function expectedLines(kind: PipelineKind, records: readonly InputRecord[]): string[] {
  if (kind === 'stateless') return records.map((r) => `${r.id}|${r.ts}|${r.amount}|${r.amount * 2}`);
  if (kind === 'join') return records.map((r) => `${r.id}|${r.ts}|${r.amount}|${r.key}`);
  const groups = new Map<string, { n: number; total: bigint }>();
  for (const r of records) {
    const k = `${r.ts - (r.ts % WINDOW_MS)}|${r.key}`;
    const g = groups.get(k) ?? { n: 0, total: 0n };
    g.n += 1;
    g.total += kind === 'decimal' ? unscaled4(r.price) : BigInt(r.amount);
    groups.set(k, g);
  }
  const perKey = [...groups].map(([k, g]) => `${k}|${g.n}|${kind === 'decimal' ? scale4Text(g.total) : g.total}`);
  if (kind !== 'chained') return perKey;
  const windows = new Map<string, { keys: number; n: number; maxTotal: bigint | null }>();
  for (const [k, g] of groups) {
    const start = k.slice(0, k.indexOf('|'));
    const w = windows.get(start) ?? { keys: 0, n: 0, maxTotal: null };
    const maxTotal = w.maxTotal === null || g.total > w.maxTotal ? g.total : w.maxTotal;
    windows.set(start, { keys: w.keys + 1, n: w.n + g.n, maxTotal });
  }
  return [...windows].map(([start, w]) => `${start}|${w.keys}|${w.n}|${w.maxTotal}`);
}

function outputLine(kind: PipelineKind, row: Row): string {
  if (kind === 'stateless') return `${row['id']}|${row['ts']}|${row['amount']}|${row['doubled']}`;
  if (kind === 'join') {
    const consistent = row['lid'] === row['rid'] && row['lts'] === row['rts'];
    return `${row['lid']}|${row['lts']}|${row['amount']}|${row['key']}${consistent ? '' : '|MISMATCHED'}`;
  }
  if (kind === 'chained') return `${(row['window'] as Row)['start']}|${row['keys']}|${row['n']}|${row['maxTotal']}`;
  // A decimal total prints its digits and scale (String of a Decimal); a long its digits.
  return `${(row['window'] as Row)['start']}|${row['key']}|${row['n']}|${String(row['total'])}`;
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
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.length >= 5) {
  await startPipeline(process.argv[2] as PipelineKind, pipelineFolders(process.argv[3]!), process.argv[4] as StateProviderName,
    process.argv[5]);
}
