/** What the main thread and a query's worker threads say to each other (all structured-clone data). */
import { AnalysisError, CheckpointError, ConnectorError, WeirError } from '../../common/errors.js';
import { OutputMode } from '../../common/output-mode.js';
import { EventTimeStats } from '../physical.js';
import { ParallelShape } from './plan-shape.js';
import { EncodedRows } from './row-columns.js';
import { StorageCall, StorageResult } from './partition-storage.js';

export interface WorkerSetup {
  readonly workerIndex: number;
  readonly numWorkers: number;
  /** State partitions; worker w owns those with `partition % numWorkers === w`. */
  readonly numPartitions: number;
  readonly shape: ParallelShape;
  /** Where errors and state files are said to be (the operator's state folder). */
  readonly stateDescription: string;
}

export type WorkerRequest =
  | { readonly type: 'open'; readonly version: number; readonly snapshotInterval: number }
  | { readonly type: 'batch'; readonly batch: BatchTask }
  | { readonly type: 'commit' }
  | { readonly type: 'abort' }
  | { readonly type: 'purge'; readonly version: number }
  | { readonly type: 'close' };

export interface BatchTask {
  readonly batchId: number;
  readonly watermarkMs: number;
  /** The previous batch's watermark: late rows are judged by it (Spark 3.5). */
  readonly previousWatermarkMs: number;
  readonly batchTimestampMs: number;
  readonly outputMode: OutputMode;
  /** This worker's slice of the batch's input, in input order; or the part of the source's split read it reads itself. */
  readonly input: BatchInput;
}

export type BatchInput = EncodedRows | { readonly readerModule: string; readonly part: unknown };

/** One worker's part of a batch. */
export interface BatchPart {
  /** A stateless plan: the worker's slice's output. A stateful one: each owned partition's output, ascending. */
  readonly outputs: readonly { readonly partition: number; readonly rows: EncodedRows }[];
  readonly eventTimes: readonly EventTimeStats[];
  /** Rows in and out and time of each operator of the whole plan, children first (the map side's, then the reduce side's). */
  readonly operators: readonly OperatorFigures[];
  /** When the worker read its input: how many rows, and the reader's summary for the source's `complete`. */
  readonly read?: { readonly rows: number; readonly summary: unknown };
}

export interface OperatorFigures { rowsIn: number; rowsOut: number; timeMs: number }

export type FromWorker =
  | { readonly type: 'reply'; readonly seq: number; readonly result?: unknown; readonly error?: WorkerErrorData }
  | { readonly type: 'storage'; readonly id: number; readonly call: StorageCall };

export type ToWorker =
  | { readonly type: 'request'; readonly seq: number; readonly request: WorkerRequest }
  | { readonly type: 'storageReply'; readonly id: number; readonly result?: StorageResult; readonly error?: WorkerErrorData };

/** An error as it crosses threads: its class, code and path survive as data. */
export interface WorkerErrorData {
  readonly name: string;
  readonly code: string | null;
  readonly message: string;
  readonly path?: string;
  readonly stack?: string;
}

export function errorData(err: unknown): WorkerErrorData {
  if (err instanceof Error) {
    return {
      name: err.name, code: err instanceof WeirError ? err.code : null, message: err.message, stack: err.stack,
      ...(err instanceof CheckpointError ? { path: err.path } : {}),
    };
  }
  return { name: 'Error', code: null, message: String(err) };
}

/** The error on the receiving thread: weir's own classes keep their class and code, so callers branch on them as before. */
export function rebuiltError(data: WorkerErrorData): Error {
  const { code, message } = data;
  const err = code === null ? new Error(message)
    : data.name === 'CheckpointError' ? new CheckpointError(code, data.path ?? '', message)
      : data.name === 'AnalysisError' ? new AnalysisError(message, code)
        : data.name === 'ConnectorError' ? new ConnectorError(code, message)
          : new WeirError(code, message);
  if (data.stack) err.stack = data.stack;
  return err;
}

/** Rows one worker sends another in a batch's exchange, with each row's partition. */
export interface ExchangeMessage {
  readonly batchId: number;
  readonly from: number;
  readonly rows: EncodedRows;
  readonly partitions: Uint32Array;
}
