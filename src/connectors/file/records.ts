import { FileSystemStorage } from '../../checkpoint/fs-storage.js';
import { MalformedRecordError } from '../../common/errors.js';
import { Row } from '../../common/schema.js';

/** What to do with a record that cannot be parsed or does not fit the schema (Spark's `mode` option). */
export type ParseMode = 'PERMISSIVE' | 'DROPMALFORMED' | 'FAILFAST';
export const PARSE_MODES: readonly ParseMode[] = ['PERMISSIVE', 'DROPMALFORMED', 'FAILFAST'];

/** One line of a bad-records file. */
export interface BadRecord {
  readonly path: string;
  readonly line: number;
  readonly reason: string;
  readonly record: string;
}

export interface MalformedPolicy {
  readonly mode: ParseMode;
  /** The schema's column that receives the raw text of a malformed record (PERMISSIVE), or null. */
  readonly corruptColumn: string | null;
  /** Whether rejected and corrupt records are kept for a bad-records file. */
  readonly keepBadRecords: boolean;
}

/**
 * Collects the rows read from files and applies the malformed-record policy:
 * PERMISSIVE keeps the row (fields that did not fit are null; the corrupt-record column, if the schema
 * has one, holds the raw record), DROPMALFORMED drops it, FAILFAST throws {@link MalformedRecordError}.
 * With `keepBadRecords`, every malformed record is also kept for the bad-records file, in any mode
 * that does not throw.
 */
export class RowCollector {
  readonly rows: Row[] = [];
  readonly badRecords: BadRecord[] = [];
  malformedCount = 0;

  constructor(private readonly policy: MalformedPolicy) {}

  /** `partial` is the row with the fields that did convert, or null when the record could not be parsed. */
  malformed(path: string, line: number, reason: string, record: string, partial: Row | null, blank: () => Row): void {
    const { mode, corruptColumn, keepBadRecords } = this.policy;
    if (mode === 'FAILFAST') throw new MalformedRecordError(path, line, reason);
    this.malformedCount++;
    if (keepBadRecords) this.badRecords.push({ path, line, reason, record });
    if (mode === 'DROPMALFORMED') return;
    const row = partial ?? blank();
    if (corruptColumn !== null) row[corruptColumn] = record;
    this.rows.push(row);
  }
}

/**
 * Writes the bad records of one read as JSON lines to `<folder>/<name>` atomically, replacing a file
 * of the same name: a re-run of the same source batch writes the same name, so it never duplicates.
 */
export async function writeBadRecords(folder: string, name: string, records: readonly BadRecord[]): Promise<void> {
  if (records.length === 0) return;
  const body = records.map((r) => JSON.stringify({ path: r.path, line: r.line, reason: r.reason, record: r.record })).join('\n');
  await new FileSystemStorage(folder).writeAtomic(name, Buffer.from(`${body}\n`), { overwrite: true });
}
