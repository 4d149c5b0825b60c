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
 * Where a query's results go. `addBatch` must be idempotent per batch id: after a crash the engine
 * re-runs the last uncommitted batch with the same id and the same `digest` (see batch-identity.ts),
 * and a sink skips a batch it has already committed. A committed batch id arriving with another digest
 * (the checkpoint was restored from a backup and the batch re-planned over other input) must be
 * refused, never skipped. Sinks that cannot do that document themselves as at-least-once.
 *
 * A value the sink cannot write is rejected for the whole row, before anything of the batch becomes
 * visible (see rejected-rows.ts): recorded in the dead-letter place when the user set one, else the
 * batch fails naming the row.
 */
export interface Sink {
  readonly description: string;
  /** Output modes this sink accepts; the query is rejected at start otherwise. */
  readonly supportedModes: readonly OutputMode[];
  open(context: SinkContext): Promise<void>;
  addBatch(batchId: number, rows: readonly Row[], digest: string): Promise<void>;
  /** Figures of the last `addBatch`, for the batch's progress (e.g. `numRejectedRows`). */
  metrics?(): Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

export interface SinkSpec {
  readonly format: string;
  readonly options: Options;
  readonly path: string | null;
}
