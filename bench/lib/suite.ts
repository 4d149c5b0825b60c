/** What every workload gets: the run's size and the shared generated input. */
import { EventRow, generateEvents } from './data.js';
import { ResultRow } from './report.js';

export interface Sizes {
  /** Repetitions per figure; each figure is the median. */
  readonly reps: number;
  /** Rows of the in-memory workloads (W1, W2, W5). */
  readonly rows: number;
  /** Rows per batch when draining a backlog. */
  readonly chunk: number;
  /** W3: total and per-file bytes of the JSON-lines input. */
  readonly jsonBytes: number;
  readonly jsonFileBytes: number;
  /** W4: seconds per latency run (the first is warm-up, not counted). */
  readonly latencySeconds: number;
  /** W6: keys of state for the restart, and the smaller state it is compared with. */
  readonly restartKeys: number;
  readonly smallKeys: number;
  /** W6L: keys of state for the lmdb vs memory restart (the reason to switch providers is a large state). */
  readonly diskStateKeys: number;
  /** W6S: the key counts whose state commit is compared (the large one: WEIR_BENCH_SCALE_KEYS). */
  readonly smallScaleKeys: number;
  readonly scaleKeys: number;
  /** W7: keys measured. */
  readonly memoryKeys: number;
  /**
   * W8: rows per measured batch, the base total input (the "1×"), and the event-time rate, slow
   * enough that the base input already spans more than the watermark delay (state at its bound).
   */
  readonly growthBatch: number;
  readonly growthBase: number;
  readonly growthEventsPerSecond: number;
  /** YSB: events per run, and per file (a batch per file). */
  readonly ysbEvents: number;
  readonly ysbEventsPerFile: number;
  /** NEXMark: bid events per query run. */
  readonly nexmarkBids: number;
  /** SMALLFILES: tiny files read; BACKLOG and IDLE: files in the folder; IDLE: seconds of CPU measured. */
  readonly smallFiles: number;
  readonly idleFiles: number;
  readonly idleSeconds: number;
}

export function sizesFor(quick: boolean): Sizes {
  return quick
    ? {
      reps: 1, rows: 300_000, chunk: 100_000, jsonBytes: 50e6, jsonFileBytes: 10e6, latencySeconds: 3,
      restartKeys: 200_000, smallKeys: 10_000, diskStateKeys: 200_000, smallScaleKeys: 100_000, scaleKeys: 1_000_000,
      memoryKeys: 200_000, growthBatch: 2_000, growthBase: 5_000, growthEventsPerSecond: 300, ysbEvents: 400_000,
      ysbEventsPerFile: 100_000, nexmarkBids: 200_000, smallFiles: 1_000, idleFiles: 5_000, idleSeconds: 2,
    }
    : {
      reps: 3, rows: 2_000_000, chunk: 100_000, jsonBytes: 1.05e9, jsonFileBytes: 50e6, latencySeconds: 6,
      restartKeys: 1_000_000, smallKeys: 10_000, diskStateKeys: Number(process.env['WEIR_BENCH_DISK_STATE_KEYS'] ?? 1_000_000),
      smallScaleKeys: 1_000_000, scaleKeys: Number(process.env['WEIR_BENCH_SCALE_KEYS'] ?? 10_000_000),
      memoryKeys: 1_000_000, growthBatch: 10_000, growthBase: 150_000, growthEventsPerSecond: 1_000,
      ysbEvents: 2_000_000, ysbEventsPerFile: 200_000, nexmarkBids: 1_000_000, smallFiles: 3_000, idleFiles: 20_000, idleSeconds: 5,
    };
}

export class Suite {
  private events: EventRow[] | null = null;

  constructor(readonly quick: boolean, readonly sizes: Sizes) {}

  /** The in-memory workloads' input, generated once per run. */
  get eventRows(): EventRow[] {
    this.events ??= generateEvents(0, this.sizes.rows);
    return this.events;
  }
}

/** A group of workloads that share setup; `ids` are what `--only` matches. */
export interface Workload {
  readonly ids: readonly string[];
  run(suite: Suite, only: (id: string) => boolean): Promise<ResultRow[]>;
}
