import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnalysisError, DataFrame, OutputMode, Row, StreamingQuery, Trigger, Value } from '../../src/index.js';

const folders: string[] = [];

/** A fresh folder under the OS temp dir; removed by `removeTempDirs` (register it with `after`). */
export async function tempDir(prefix = 'weir-api-'): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  folders.push(folder);
  return folder;
}

export async function removeTempDirs(): Promise<void> {
  for (const f of folders.splice(0)) await rm(f, { recursive: true, force: true });
}

/** Seconds since the epoch as a timestamp value (epoch ms). */
export const sec = (s: number): number => s * 1000;

/** A window value `{ start, end }` given in seconds. */
export const win = (startSec: number, endSec: number): { start: number; end: number } =>
  ({ start: sec(startSec), end: sec(endSec) });

/** A value as text with object keys sorted, so rows compare and sort independently of key order. */
function canonical(v: Value | undefined): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, Value>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

/** Rows in a deterministic order (by their canonical text), for exact comparisons. */
export function sorted<T extends Row>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => {
    const x = canonical(a);
    const y = canonical(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

export interface MemoryQueryOptions {
  readonly mode?: OutputMode;
  readonly checkpoint?: string;
  readonly trigger?: Trigger;
  readonly options?: Record<string, string | number | boolean>;
}

/**
 * The state store provider the helpers' queries use unless a test sets one: `WEIR_TEST_STATE_STORE`
 * (npm test runs the stateful suites once more with it set to 'lmdb'), else the default.
 */
const TEST_STATE_STORE = process.env['WEIR_TEST_STATE_STORE'];

function withTestStateStore(options: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  return TEST_STATE_STORE === undefined || 'stateStoreProvider' in options
    ? options : { ...options, stateStoreProvider: TEST_STATE_STORE };
}

/** Starts `df` into the memory sink named `name` with a temp checkpoint (unless one is given). */
export async function startMemory(df: DataFrame, name: string, opts: MemoryQueryOptions = {}): Promise<StreamingQuery> {
  const writer = df.writeStream.format('memory').queryName(name).outputMode(opts.mode ?? 'append')
    .option('checkpointLocation', opts.checkpoint ?? await tempDir())
    .trigger(opts.trigger ?? { processingTime: 0 });
  for (const [k, v] of Object.entries(withTestStateStore(opts.options ?? {}))) writer.option(k, v);
  return writer.start();
}

/** Starts `df` with foreachBatch, recording each batch as `[batchId, rows]`. */
export async function startCollecting(df: DataFrame, batches: [number, Row[]][], opts: MemoryQueryOptions = {}):
  Promise<StreamingQuery> {
  const writer = df.writeStream.outputMode(opts.mode ?? 'append')
    .option('checkpointLocation', opts.checkpoint ?? await tempDir())
    .trigger(opts.trigger ?? { processingTime: 0 })
    .foreachBatch((rows, batchId) => { batches.push([batchId, rows]); });
  for (const [k, v] of Object.entries(withTestStateStore(opts.options ?? {}))) writer.option(k, v);
  return writer.start();
}

/** Asserts the same multiset of rows, in any order. */
export function assertRows(actual: readonly Row[], expected: readonly Row[], message?: string): void {
  assert.deepEqual(sorted(actual), sorted(expected), message);
}

/** Asserts `fn` throws (or rejects with) an AnalysisError of `code` whose message matches every pattern. */
export async function refused(fn: () => unknown, code: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(async () => fn(), (err: unknown) => {
    assert.ok(err instanceof AnalysisError, `expected an AnalysisError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}
