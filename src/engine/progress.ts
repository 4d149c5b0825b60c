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
  readonly sink: { readonly description: string; readonly numOutputRows: number };
}

/** A query's events, as Spark's `StreamingQueryListener` receives them. */
export interface QueryStartedEvent {
  readonly id: string; readonly runId: string; readonly name: string | null; readonly timestamp: string;
  /** Set when this run took the checkpoint over from a holder that went away (a standby): the wait, in ms. */
  readonly takeoverMs?: number;
}
export interface QueryProgressEvent { readonly progress: StreamingQueryProgress }
export interface QueryIdleEvent { readonly id: string; readonly runId: string; readonly timestamp: string }
export interface QueryTerminatedEvent { readonly id: string; readonly runId: string; readonly exception: string | null }

export interface StreamingQueryListener {
  onQueryStarted?(event: QueryStartedEvent): void;
  onQueryProgress?(event: QueryProgressEvent): void;
  onQueryIdle?(event: QueryIdleEvent): void;
  onQueryTerminated?(event: QueryTerminatedEvent): void;
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
