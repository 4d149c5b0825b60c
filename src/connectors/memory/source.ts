import { Row, Schema } from '../../common/schema.js';
import { Offset, Source } from '../../sources/source.js';

/**
 * An in-process stream for tests and examples: `addData` appends rows; a query reads them by
 * position, so a range replays identically for as long as the process lives.
 */
export class MemoryStream {
  private readonly rows: Row[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(readonly schema: Schema) {}

  /** Appends rows; returns the offset (row count) after them. */
  addData(rows: readonly Row[]): number {
    for (const row of rows) this.rows.push(row);
    for (const listener of this.listeners) listener();
    return this.rows.length;
  }

  get size(): number {
    return this.rows.length;
  }

  createSource(): Source {
    const stream = this;
    let notify: (() => void) | null = null;
    let target: number | null = null;
    return {
      description: 'MemoryStream',
      schema: this.schema,
      async open(context) {
        notify = context.notifyDataAvailable;
        stream.listeners.add(notify);
      },
      async latestOffset(): Promise<Offset | null> {
        const end = target ?? stream.rows.length;
        return end === 0 ? null : end;
      },
      async getBatch(start, end) {
        return stream.rows.slice((start as number | null) ?? 0, end as number);
      },
      async commit() {},
      async prepareForTriggerAvailableNow() {
        target = stream.rows.length;
      },
      async stop() {
        if (notify) stream.listeners.delete(notify);
      },
    };
  }
}
