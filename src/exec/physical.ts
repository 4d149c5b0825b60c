import { CheckpointStorage } from '../checkpoint/storage.js';
import { Row } from '../common/schema.js';
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
  /** The batch's event-time watermark: late rows are those at or below it; state at or below it is evicted. */
  readonly watermarkMs: number;
  readonly streaming: boolean;
  readonly outputMode: OutputMode;
  /** Rows of each input leaf, by leaf index. */
  readonly inputs: readonly (readonly Row[])[];
  /** Filled during execution, one entry per `withWatermark` node. */
  readonly eventTimes: EventTimeStats[];
}

export interface PhysicalOperator {
  execute(ctx: ExecContext): Row[];
}

/** What `progress.stateOperators[]` reports per stateful operator (Spark's field names). */
export interface StateOperatorProgress {
  readonly operatorName: string;
  readonly numRowsTotal: number;
  readonly numRowsUpdated: number;
  readonly numRowsRemoved: number;
  readonly numRowsDroppedByWatermark: number;
  readonly memoryUsedBytes: number;
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
}

/** An operator that keeps keyed state across batches. */
export interface StatefulOperator extends PhysicalOperator {
  readonly operatorName: string;
  open(setup: StateSetup): Promise<void>;
  /** Makes this batch's state durable as the next version. */
  commit(): Promise<void>;
  progress(): StateOperatorProgress;
  purgeBefore(version: number): Promise<void>;
  close(): Promise<void>;
  /**
   * True when the operator drops and evicts by watermark in this output mode, so a watermark that
   * moved makes a no-data batch due (it may emit or evict).
   */
  evictsByWatermark(outputMode: OutputMode): boolean;
}
