import { StateOperatorProgress } from '../exec/physical.js';

/** Per-source figures of one batch (Spark's `SourceProgress`). */
export interface SourceProgress {
  readonly description: string;
  readonly startOffset: unknown;
  readonly endOffset: unknown;
  readonly numInputRows: number;
  readonly inputRowsPerSecond: number;
  readonly processedRowsPerSecond: number;
  readonly metrics: Readonly<Record<string, number | string>>;
}

/** One batch's progress, with the field names of Spark's `StreamingQueryProgress`. */
export interface StreamingQueryProgress {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  /** When the trigger started, ISO-8601. */
  readonly timestamp: string;
  readonly batchId: number;
  readonly numInputRows: number;
  readonly inputRowsPerSecond: number;
  readonly processedRowsPerSecond: number;
  /** Phases: latestOffset, walCommit, getBatch, execution, addBatch, stateCommit, commitOffsets, triggerExecution. */
  readonly durationMs: Readonly<Record<string, number>>;
  /** `watermark` (the batch's), and `min`/`max`/`avg` of its event times; ISO-8601. */
  readonly eventTime: Readonly<Record<string, string>>;
  readonly stateOperators: readonly StateOperatorProgress[];
  readonly sources: readonly SourceProgress[];
  /** `metrics`: the sink's figures of the batch, e.g. `numRejectedRows` (rows sent to the dead-letter place). */
  readonly sink: { readonly description: string; readonly numOutputRows: number; readonly metrics: Readonly<Record<string, number>> };
  /**
   * weir's addition to Spark's fields: each physical operator's figures for this batch, leaves first
   * (the numbering of `explain('formatted')`); `stateRows` for operators that keep state.
   */
  readonly operators: readonly OperatorProgress[];
  /** weir's addition, on the first batch of a run that took the checkpoint over from a holder that went away (a standby). */
  readonly takeover?: TakeoverReport;
}

/** What a standby's takeover cost: from holding the lease to ready to run a batch. */
export interface TakeoverReport {
  /** From the lease taken to ready: recovery, sources, sink and state stores opened. */
  readonly ms: number;
  /** The stateful operators' stores were opened over the warm copies the standby kept (no state loaded). */
  readonly warm: boolean;
  /** The last committed batch the query continues after (null: none was). */
  readonly fromBatch: number | null;
  /** Keys in the state once open (those loaded from the checkpoint when cold). */
  readonly stateRows: number;
  /** How long this instance waited for the lease (from start to taking it). */
  readonly waitedMs: number;
  /** Why the takeover was cold: no warm copy (the provider keeps none), or it was not exactly the committed batch. */
  readonly coldReason?: string;
}

export interface OperatorProgress {
  readonly id: number;
  readonly operator: string;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly timeMs: number;
  readonly stateRows: number | null;
}

/** What a query is doing right now (Spark's `StreamingQueryStatus`). */
export interface StreamingQueryStatus {
  readonly message: string;
  /** The last planning found new input (it stays true while a backlog is worked through). */
  readonly isDataAvailable: boolean;
  /** A trigger (planning or a batch) is running. */
  readonly isTriggerActive: boolean;
}

/** A query's events, as Spark's `StreamingQueryListener` receives them. */
export interface QueryStartedEvent {
  readonly id: string; readonly runId: string; readonly name: string | null; readonly timestamp: string;
  /** Set when this run took the checkpoint over from a holder that went away (a standby): the wait, in ms. */
  readonly takeoverMs?: number;
  /** Set with takeoverMs: what the takeover cost, warm or cold. */
  readonly takeover?: TakeoverReport;
}
/** Posted while a standby waits: its warm copy of the state reached a newer committed batch. */
export interface QueryStandbyEvent {
  readonly id: string; readonly runId: string; readonly name: string | null; readonly timestamp: string;
  readonly followedBatchId: number;
  readonly stateRows: number;
}
export interface QueryProgressEvent { readonly progress: StreamingQueryProgress }
export interface QueryIdleEvent { readonly id: string; readonly runId: string; readonly timestamp: string }
export interface QueryTerminatedEvent {
  readonly id: string;
  readonly runId: string;
  readonly exception: string | null;
  /** The failure's error code (the cause's, when the batch failed on a weir error), as Spark 3.5's field. */
  readonly errorClassOnException: string | null;
}

/**
 * Posted (before onQueryStarted) when a query starts from a checkpoint that already has batches: where
 * it resumes, which logged-but-uncommitted batch it re-runs first, and how long recovery took.
 */
export interface QueryRecoveredEvent {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  readonly timestamp: string;
  /** The newest batch the checkpoint had committed, or null when none was. */
  readonly lastCommittedBatchId: number | null;
  /** The batch the query plans next (after the re-run, if there is one). */
  readonly nextBatchId: number;
  /** A batch in the offset log without a commit: it runs again first, with exactly these logged offsets. */
  readonly rerun: { readonly batchId: number; readonly sources: readonly unknown[]; readonly batchWatermarkMs: number } | null;
  /** From start() to ready: checkpoint recovery, sources, sink and state stores opened. */
  readonly recoveryMs: number;
}

/** A query's health as the session's monitor judges it (see README, Monitoring). */
export type QueryHealthStatus = 'healthy' | 'idle' | 'stalled' | 'falling-behind' | 'watermark-stuck' | 'failed' | 'stopped';

/** Posted when a query's health status changes. */
export interface QueryStatusEvent {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  readonly timestamp: string;
  readonly status: QueryHealthStatus;
  readonly previousStatus: QueryHealthStatus | null;
  /** Why, in words: which threshold was crossed, by how much. */
  readonly reasons: readonly string[];
}

export interface StreamingQueryListener {
  onQueryStarted?(event: QueryStartedEvent): void;
  onQueryProgress?(event: QueryProgressEvent): void;
  onQueryIdle?(event: QueryIdleEvent): void;
  onQueryTerminated?(event: QueryTerminatedEvent): void;
  /** weir's own events (Spark has no equivalent): recovery from a checkpoint, health changes, a standby following. */
  onQueryRecovered?(event: QueryRecoveredEvent): void;
  onQueryStatus?(event: QueryStatusEvent): void;
  onQueryStandby?(event: QueryStandbyEvent): void;
}

/** Delivers events to listeners; a listener that throws is reported, never allowed to stop a query. */
export class ListenerBus {
  private readonly listeners = new Set<StreamingQueryListener>();

  add(listener: StreamingQueryListener): void {
    this.listeners.add(listener);
  }

  remove(listener: StreamingQueryListener): void {
    this.listeners.delete(listener);
  }

  post<K extends keyof StreamingQueryListener>(kind: K, event: Parameters<NonNullable<StreamingQueryListener[K]>>[0]): void {
    for (const listener of this.listeners) {
      try {
        (listener[kind] as ((e: typeof event) => void) | undefined)?.call(listener, event);
      } catch (err) {
        process.emitWarning(`A StreamingQueryListener's ${kind} threw: ${(err as Error).message}`);
      }
    }
  }
}
