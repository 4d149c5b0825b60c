import { rename, rm, unlink, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { nonFiniteAsText } from '../codec/json-values.js';
import { syncDir, writeFileSynced } from '../common/durable-files.js';
import { ConnectorError, errorMessage } from '../common/errors.js';
import { Options } from '../common/options.js';
import { Row } from '../common/schema.js';
import { RowCheck, RowProblem } from './value-domain.js';

/** A row a sink cannot write, with its position in the batch's output. */
export interface Rejection extends RowProblem {
  readonly index: number;
  readonly row: Row;
}

export const DEAD_LETTER_PATH = 'deadLetterPath';

/** Splits a batch's rows into those the sink writes and those it rejects; no copy when none is rejected. */
export function splitRejected(rows: readonly Row[], check: RowCheck | null): { accepted: readonly Row[]; rejected: Rejection[] } {
  const rejected: Rejection[] = [];
  if (check === null) return { accepted: rows, rejected };
  for (let i = 0; i < rows.length; i++) {
    const problem = check(rows[i]!);
    if (problem) rejected.push({ ...problem, index: i, row: rows[i]! });
  }
  if (rejected.length === 0) return { accepted: rows, rejected };
  const skip = new Set(rejected.map((r) => r.index));
  return { accepted: rows.filter((_, i) => !skip.has(i)), rejected };
}

/** A row (or value) as JSON text, lossless for what JSON lacks: non-finite doubles become the strings `NaN`, `Infinity`. */
export function rowJson(row: unknown): string {
  return JSON.stringify(row, nonFiniteAsText);
}

/**
 * The error that stops a query at a row its sink rejects when no dead-letter place is set: it names
 * the row, the column, the reason, and both ways out. The batch is not committed, so a restart after
 * either fix writes it again and loses nothing else.
 */
export function rejectedRowError(sink: string, batchId: number, rejected: readonly Rejection[], deadLetterOption: string): ConnectorError {
  const first = rejected[0]!;
  const text = rowJson(first.row);
  const others = rejected.length > 1 ? ` (${rejected.length - 1} more row(s) of the batch are rejected too)` : '';
  return new ConnectorError('SINK_REJECTED_ROW', `The ${sink} cannot write row ${first.index} of batch ${batchId}, column ` +
    `'${first.column}': ${first.reason}${others}. Row: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}. Nothing of ` +
    `the batch was written. Either filter such rows out in the query (e.g. .where(...) on '${first.column.split(/[.[]/)[0]}'), ` +
    `or set ${deadLetterOption} to record rejected rows there and write the rest; then restart the query: batch ` +
    `${batchId} is written again and no other record is lost.`);
}

/**
 * Option `deadLetterPath`: a folder where a sink records the rows it rejects, one JSON-lines file per
 * batch with rejected rows, `<query id>-<batch id>.json`, each line `{queryId, batchId, rowIndex, column,
 * reason, row}` (row values as weir holds them: timestamps and dates as epoch milliseconds). The file
 * is written (temp name, fsync, rename) before the sink commits the batch, and a re-run replaces it
 * with the same rows, so a crash between the two leaves no duplicates.
 */
export class DeadLetterFolder {
  private readonly folder: string;

  constructor(folder: string, private readonly sink: string) {
    this.folder = resolve(folder);
  }

  static fromOptions(options: Options, sink: string): DeadLetterFolder | null {
    const folder = options.string(DEAD_LETTER_PATH);
    return folder ? new DeadLetterFolder(folder, sink) : null;
  }

  get option(): string {
    return `option '${DEAD_LETTER_PATH}' (now ${this.folder})`;
  }

  fileOf(queryId: string, batchId: number): string {
    return join(this.folder, `${queryId}-${String(batchId).padStart(5, '0')}.json`);
  }

  /** Records the batch's rejected rows; with none, removes a file an earlier attempt (before a query fix) left. */
  async record(queryId: string, batchId: number, rejected: readonly Rejection[]): Promise<void> {
    const path = this.fileOf(queryId, batchId);
    if (rejected.length === 0) {
      await unlink(path).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.ioError('delete', path, err);
      });
      return;
    }
    const lines = rejected.map((r) => `{"queryId":${JSON.stringify(queryId)},"batchId":${batchId},"rowIndex":${r.index},` +
      `"column":${JSON.stringify(r.column)},"reason":${JSON.stringify(r.reason)},"row":${rowJson(r.row)}}\n`);
    const temp = join(this.folder, `.${queryId}-${batchId}.json.tmp`);
    try {
      await mkdir(this.folder, { recursive: true });
      await writeFileSynced(temp, Buffer.from(lines.join('')));
      await rename(temp, path);
      await syncDir(this.folder);
    } catch (err) {
      await rm(temp, { force: true });
      throw this.ioError('write', path, err);
    }
  }

  private ioError(action: string, path: string, err: unknown): ConnectorError {
    const full = (err as NodeJS.ErrnoException).code === 'ENOSPC';
    return new ConnectorError(full ? 'DISK_FULL' : 'DEAD_LETTER_IO', `The ${this.sink} could not ${action} the dead-letter ` +
      `file ${path}: ${errorMessage(err)}.${full ? ' The disk is full: free space and restart the query;' : ''} The batch ` +
      'was not committed; a restart writes it again.', { cause: err });
  }
}
