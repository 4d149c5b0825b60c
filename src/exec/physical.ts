import { StatePartitioning } from '../checkpoint/offset-log.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { Row, Schema } from '../common/schema.js';
import { OutputMode } from '../common/output-mode.js';
import { StateStoreProvider } from '../state/state-store.js';
import { EvalContext } from './compile.js';

/** Min, max, sum and count of the event times a `withWatermark` node saw in one batch. */
export interface EventTimeStats { max: number; min: number; sum: number; count: number }

export function emptyEventTimeStats(): EventTimeStats {
  return { max: -Infinity, min: Infinity, sum: 0, count: 0 };
}

/** Everything one batch's execution may read. Fixed by the offsets entry, so a re-run sees the same. */
export interface ExecContext extends EvalContext {
  readonly batchId: number;
  /**
   * The batch's global event-time watermark. Each stateful operator derives from it the watermark it
   * evicts by, and from `previousWatermarkMs` the one it drops late rows by (docs/ARCHITECTURE.md §6, watermarks per operator).
   */
  readonly watermarkMs: number;
  /** The global watermark the previous batch ran with (0 for the first), logged in its offsets entry. */
  readonly previousWatermarkMs: number;
  readonly streaming: boolean;
  readonly outputMode: OutputMode;
  /** Rows of each input leaf, by leaf index. */
  readonly inputs: readonly (readonly Row[])[];
  /** Filled during execution, one entry per `withWatermark` node. */
  readonly eventTimes: EventTimeStats[];
}

/** What one operator did in one batch. */
export interface OperatorMetrics {
  readonly batchId: number;
  /** Rows the operator read: its children's output, or its input for a scan. */
  readonly rowsIn: number;
  readonly rowsOut: number;
  /** Time spent in the operator itself, its children's excluded (ms). */
  readonly timeMs: number;
}

/**
 * A physical operator: a named node with an output schema and children, as DataFusion's
 * `ExecutionPlan`. `execute` runs the children first, then the operator's own `run` on their rows,
 * and records the batch's metrics, so each operator's time excludes its children's.
 */
export abstract class PhysicalOperator {
  /** Its name in explain output (Spark's physical operator names where one fits). */
  abstract readonly name: string;
  private lastMetrics: OperatorMetrics | null = null;

  protected constructor(readonly schema: Schema, readonly children: readonly PhysicalOperator[]) {}

  /** Its arguments as explain shows them after the name (keys, condition, columns); '' for none. */
  abstract describe(): string;

  /** The JavaScript it compiled for its per-row work, for explain('codegen'); null when it compiles none. */
  generatedCode(): string | null {
    return null;
  }

  /** The state figures of its last batch, for an operator that keeps state. */
  stateProgress(): StateOperatorProgress | null {
    return null;
  }

  /** The metrics of the last batch it ran (null before the first). */
  get metrics(): OperatorMetrics | null {
    return this.lastMetrics;
  }

  /**
   * The event-time watermark this operator's output respects when the query's global watermark is
   * `globalMs` (Spark 3.5's watermark propagation): no row it emits is older. Null: its output has no
   * event time (no watermark below it). A stateless operator passes the lowest of its inputs' on.
   */
  outputWatermarkMs(globalMs: number): number | null {
    let lowest: number | null = null;
    for (const child of this.children) {
      const w = child.outputWatermarkMs(globalMs);
      if (w !== null && (lowest === null || w < lowest)) lowest = w;
    }
    return lowest;
  }

  execute(ctx: ExecContext): Row[] {
    const inputs = this.children.map((child) => child.execute(ctx));
    const started = performance.now();
    const out = this.run(inputs, ctx);
    const timeMs = performance.now() - started;
    let rowsIn = this.children.length === 0 ? out.length : 0;
    for (const rows of inputs) rowsIn += rows.length;
    this.lastMetrics = { batchId: ctx.batchId, rowsIn, rowsOut: out.length, timeMs };
    return out;
  }

  /** The operator's own work on its children's rows (in children order). */
  protected abstract run(inputs: readonly Row[][], ctx: ExecContext): Row[];
}

/** What `progress.stateOperators[]` reports per stateful operator (Spark's field names). */
export interface StateOperatorProgress {
  readonly operatorName: string;
  readonly numRowsTotal: number;
  readonly numRowsUpdated: number;
  readonly numRowsRemoved: number;
  readonly numRowsDroppedByWatermark: number;
  readonly memoryUsedBytes: number;
  /** Bytes of state on local disk besides the checkpoint (the lmdb store's working copy); not a Spark field. */
  readonly diskBytesUsed: number;
  readonly commitTimeMs: number;
}

export interface StateSetup {
  /** The operator's folder, `state/<operatorId>/` (in memory for a batch query: its state is transient). */
  readonly storage: CheckpointStorage;
  readonly provider: StateStoreProvider;
  readonly numPartitions: number;
  /** The version to load: the last committed batch id, or -1. */
  readonly version: number;
  readonly snapshotInterval: number;
  /** How the checkpoint partitions state (its offset log's conf); absent: `key`. */
  readonly statePartitioning?: StatePartitioning;
}

/** How an operator's stores were opened: over warm copies, or loaded (with why the copies were not used). */
export interface StateOpening {
  readonly warm: boolean;
  /** Keys in the operator's stores once open. */
  readonly rows: number;
  /** Why warm copies that existed were not used. */
  readonly coldReason?: string;
}

/** An operator that keeps keyed state across batches. */
export interface StatefulOperator extends PhysicalOperator {
  readonly operatorName: string;
  /**
   * Opens the stores at `setup.version`: over the warm copies that follow() made, when they are exactly
   * that version; otherwise (or without them) loaded from the checkpoint.
   */
  open(setup: StateSetup): Promise<StateOpening>;
  /**
   * For a standby: starts copies of the state as of `setup.version` that advanceFollowers() keeps current,
   * reading the checkpoint only. False when the provider cannot follow (the takeover then loads cold).
   */
  follow(setup: StateSetup): Promise<boolean>;
  /** Applies the committed versions up to `version` to the warm copies (none: nothing to do). */
  advanceFollowers(version: number): Promise<void>;
  /** Keys in the warm copies. */
  followedRows(): number;
  /** Makes this batch's state durable as the next version. */
  commit(): Promise<void>;
  /**
   * Discards this batch's state changes (the batch failed). The operator takes no more batches: a
   * restart loads the last committed version.
   */
  abort(): Promise<void>;
  progress(): StateOperatorProgress;
  purgeBefore(version: number): Promise<void>;
  close(): Promise<void>;
  /**
   * True when the operator drops and evicts by watermark in this output mode, so a watermark that
   * moved makes a no-data batch due (it may emit or evict).
   */
  evictsByWatermark(outputMode: OutputMode): boolean;
}
