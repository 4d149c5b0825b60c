/**
 * W6S's child process: one state store filled to growing key counts through the StateStore API (no
 * query around it, so 100 M keys take minutes, not hours), and at each size the commit of batches
 * that change 10 k existing keys at random, the process's memory and the bytes on disk. Prints one
 * JSON line per size (and sends it to a parent, if any):
 *
 *   node dist/bench/state-scale.js <folder> <provider> <size>[,<size>...]   e.g. /tmp/s lmdb 1000000,100000000
 *
 * The folder is the store's checkpoint folder; it is left in place (the caller removes it).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { FileSystemStorage } from '../src/checkpoint/fs-storage.js';
import { stateStoreProviderNamed } from '../src/state/registry.js';
import type { StateStore } from '../src/index.js';
import { median } from './lib/measure.js';

/** A count+sum aggregation's state value, as plain data. */
type Counter = [number, number];

export interface ScaleFigures {
  readonly kind: 'scale';
  readonly provider: string;
  readonly keys: number;
  /** Median, mean and all commit times of the batches changing `changedKeys` keys. */
  readonly commitMs: number;
  readonly meanCommitMs: number;
  readonly commitSamplesMs: readonly number[];
  readonly changedKeys: number;
  /** Seconds to fill from the previous size to this one. */
  readonly fillSeconds: number;
  /** Resident memory now: anonymous (heap, native) and file-backed (LMDB's mapped pages, reclaimable cache). */
  readonly rssAnonMb: number;
  readonly rssFileMb: number;
  readonly peakRssMb: number;
  /** Bytes under the store's folder: checkpoint files plus the lmdb working copy. */
  readonly diskMb: number;
  readonly memoryUsedBytes: number;
}

/** New keys per filling commit. */
const FILL_BATCH = Number(process.env['WEIR_BENCH_FILL_BATCH'] ?? 500_000);
const CHANGED_KEYS = 10_000;
/** Two snapshot intervals: the lmdb store writes its working copy at each snapshot version. */
const MEASURED_BATCHES = 20;
const DEFAULT_SNAPSHOT_INTERVAL = 10;
const FILL_SNAPSHOT_INTERVAL = 1_000_000_000;

function memoryStatus(): { anon: number; file: number; peak: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024, peak: kb('VmHWM') / 1024 };
}

function diskMb(folder: string): number {
  return Number(execFileSync('du', ['-sk', folder], { encoding: 'utf8' }).split('\t')[0]) / 1024;
}

/** A deterministic pseudo-random sequence (xorshift), so every run changes the same keys. */
function randomInts(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

async function run(folder: string, providerName: string, sizes: readonly number[]): Promise<void> {
  const provider = stateStoreProviderNamed(providerName);
  // Filling takes no snapshots (they would read the growing state again and again); the measured
  // batches run with the engine's default snapshot interval, so their commits include its work.
  const open = (version: number, snapshotInterval: number): Promise<StateStore<Counter>> => provider.open<Counter>({
    storage: new FileSystemStorage(folder), numPartitions: 4, version, snapshotInterval,
    codec: { encode: (v) => v, decode: (d) => d as Counter },
  });
  let store = await open(-1, FILL_SNAPSHOT_INTERVAL);
  const commit = async (): Promise<number> => {
    const started = performance.now();
    await store.commit();
    const ms = performance.now() - started;
    store = store.next();
    // Keeps only what a re-run of the next batch needs, as the engine does with its retention.
    await store.purgeBefore(store.version);
    return ms;
  };
  const random = randomInts(42);
  let keys = 0;
  for (const size of sizes) {
    const fillStarted = performance.now();
    while (keys < size) {
      const end = Math.min(size, keys + FILL_BATCH);
      for (; keys < end; keys++) store.put(`k${keys}`, [1, keys % 1000]);
      await commit();
    }
    await store.close();
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    store = await open(store.version, DEFAULT_SNAPSHOT_INTERVAL);
    const samples: number[] = [];
    for (let b = 0; b < MEASURED_BATCHES; b++) {
      for (let i = 0; i < CHANGED_KEYS; i++) {
        const key = `k${random() % keys}`;
        const value = store.get(key) ?? [0, 0];
        store.put(key, [value[0] + 1, value[1] + i]);
      }
      samples.push(await commit());
    }
    const memory = memoryStatus();
    const figures: ScaleFigures = {
      kind: 'scale', provider: providerName, keys, commitMs: median(samples), meanCommitMs: mean(samples),
      commitSamplesMs: samples, changedKeys: CHANGED_KEYS, fillSeconds, rssAnonMb: memory.anon, rssFileMb: memory.file,
      peakRssMb: memory.peak, diskMb: diskMb(folder), memoryUsedBytes: store.metrics().memoryUsedBytes,
    };
    console.log(JSON.stringify(figures));
    process.send?.(figures);
    await store.close();
    store = await open(store.version, FILL_SNAPSHOT_INTERVAL);
  }
  await store.close();
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

const [folder, providerName, sizesText] = process.argv.slice(2);
if (!folder || !providerName || !sizesText) {
  console.error('usage: node dist/bench/state-scale.js <folder> <provider> <size>[,<size>...]');
  process.exit(2);
}
await run(folder, providerName, sizesText.split(',').map(Number));
