import { Row } from '../../common/schema.js';
import { OutputMode } from '../../common/output-mode.js';
import { isCommittedBatch } from '../../sinks/batch-identity.js';
import { Sink, SinkContext } from '../../sinks/sink.js';
import { ownValue } from '../../codec/fields.js';

/**
 * The result table of a `memory` sink, readable as `weir.memorySink(queryName).rows`: in append
 * mode every row emitted so far; in update mode the latest row per key; in complete mode the
 * latest result table. It lives as long as the session, so a query restarted from its checkpoint
 * continues it — and skips batch ids it already holds, as every sink must (refusing one planned over
 * other input, see batch-identity.ts); a query with another id (a new checkpoint) starts it afresh.
 * It writes every value as it is, so it rejects none.
 */
export class MemoryTable {
  private table: Row[] = [];
  private byKey = new Map<string, Row>();
  private lastBatchId = -1;
  /** Digest of each batch the table holds. */
  private readonly digests = new Map<number, string>();
  private mode: OutputMode = 'append';
  private keys: readonly string[] = [];
  private queryId: string | null = null;

  constructor(readonly name: string) {}

  get rows(): Row[] {
    return this.mode === 'update' && this.keys.length > 0 ? [...this.byKey.values()] : [...this.table];
  }

  /** The last batch id the table holds, or -1. */
  get latestBatchId(): number {
    return this.lastBatchId;
  }

  clear(): void {
    this.table = [];
    this.byKey.clear();
    this.lastBatchId = -1;
    this.digests.clear();
  }

  createSink(): Sink {
    const table = this;
    const description = `MemorySink[${this.name}]`;
    return {
      description,
      supportedModes: ['append', 'update', 'complete'],
      async open(context: SinkContext) {
        // A query on a new checkpoint starts from batch 0 again: its results start from an empty table.
        if (context.queryId !== table.queryId) table.clear();
        table.queryId = context.queryId;
        table.mode = context.outputMode;
        table.keys = context.keyColumns;
      },
      async addBatch(batchId, rows, digest) {
        if (isCommittedBatch(description, `memory table '${table.name}'`, batchId, digest, table.digests.get(batchId),
          table.lastBatchId, `query name, or clear the memory table with weir.memorySink('${table.name}').clear()`)) return;
        table.append(rows);
        table.lastBatchId = batchId;
        table.digests.set(batchId, digest);
      },
      async stop() {},
    };
  }

  private append(rows: readonly Row[]): void {
    if (this.mode === 'complete') {
      this.table = [...rows];
    } else if (this.mode === 'update' && this.keys.length > 0) {
      for (const row of rows) this.byKey.set(JSON.stringify(this.keys.map((k) => ownValue(row, k) ?? null)), row);
    } else {
      for (const row of rows) this.table.push(row);
    }
  }
}
