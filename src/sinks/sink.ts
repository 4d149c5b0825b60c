import { Options } from '../common/options.js';
import { OutputMode } from '../common/output-mode.js';
import { Row, Schema } from '../common/schema.js';

/** What a sink gets when its query starts. */
export interface SinkContext {
  readonly queryId: string;
  readonly queryName: string | null;
  readonly schema: Schema;
  readonly outputMode: OutputMode;
  /** The columns that identify a result row in update mode (the grouping key); empty without aggregation. */
  readonly keyColumns: readonly string[];
}

/**
 * Where a query's results go. `addBatch` must be idempotent per batch id: a batch id the sink has
 * already committed is skipped, because after a crash the engine re-runs the last uncommitted batch.
 * Sinks that cannot do that document themselves as at-least-once.
 */
export interface Sink {
  readonly description: string;
  /** Output modes this sink accepts; the query is rejected at start otherwise. */
  readonly supportedModes: readonly OutputMode[];
  open(context: SinkContext): Promise<void>;
  addBatch(batchId: number, rows: readonly Row[]): Promise<void>;
  stop(): Promise<void>;
}

export interface SinkSpec {
  readonly format: string;
  readonly options: Options;
  readonly path: string | null;
}
