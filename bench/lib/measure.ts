/** Small statistics and timing helpers shared by the workloads. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The q-quantile (0..1) of an ascending array, nearest-rank. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Milliseconds taken by `fn`. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/**
 * Runs two measurements alternately `reps` times (a, b, a, b, …) so that drift in the machine's
 * speed (thermal, neighbours, GC of the previous run) hits both sides alike; returns both samples.
 */
export async function alternate(reps: number, a: () => Promise<number>, b: () => Promise<number>):
  Promise<{ a: number[]; b: number[] }> {
  const out = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < reps; i++) {
    out.a.push(await a());
    out.b.push(await b());
  }
  return out;
}

/** Lets pending I/O callbacks and timers run, so one measurement's leftovers do not land in the next. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Flushes the page cache's dirty data to disk (`sync`). After a workload wrote a lot (generated
 * files, a catch-up's output), the next small fsync would otherwise wait for that writeback (on
 * ext4 an fsync can force a journal commit that flushes other files' data), and the figure would
 * measure the previous step's writes instead of the engine.
 */
export function flushDisk(): void {
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {
    // no sync(1) on this platform: measurements just carry more noise
  }
}

let ticksPerSecond: number | null = null;

/** The fields of a /proc stat file from field 3 (state) on, and the clock ticks per second they count in. */
function procStat(path: string): { fields: string[]; ticksPerSecond: number } {
  const stat = readFileSync(path, 'utf8');
  // Fields after the command's closing parenthesis start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return { fields, ticksPerSecond };
}

/** Seconds of CPU (user + system) used by children this process has waited for; 0 where /proc is missing. */
function reapedChildrenCpuSeconds(): number {
  try {
    const { fields, ticksPerSecond: hz } = procStat('/proc/self/stat');
    // cutime and cstime are fields 16 and 17.
    return (Number(fields[13]) + Number(fields[14])) / hz;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) of the calling thread so far; null where /proc/thread-self is missing.
 * A batch loop's wall clock on a quiet machine is bounded by its main thread's share, which a busy
 * machine does not change the way it changes the wall clock.
 */
export function threadCpuSeconds(): number | null {
  try {
    const { fields, ticksPerSecond: hz } = procStat('/proc/thread-self/stat');
    // utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / hz;
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user + system) of the whole process tree so far: this process with all its threads
 * (worker threads, libuv's pool, GC helpers) and the children it has waited for. Differences of two
 * readings give the cores a measurement used, whatever the wall clock did.
 */
export function processTreeCpuSeconds(): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1e6 + reapedChildrenCpuSeconds();
}

/** Wall and CPU seconds of `fn`. */
export async function timeWithCpu<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number; cpuSeconds: number }> {
  const [wall, cpu] = [performance.now(), processTreeCpuSeconds()];
  const result = await fn();
  return { result, seconds: (performance.now() - wall) / 1000, cpuSeconds: processTreeCpuSeconds() - cpu };
}
