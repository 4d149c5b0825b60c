import pg from 'pg';
import { Rejection, rowJson } from '../../sinks/rejected-rows.js';
import { createConcurrently } from './catalog.js';
import { quoteTable } from './columns.js';

export const DEAD_LETTER_TABLE = 'deadLetterTable';

/**
 * Option `deadLetterTable`: a table where the PostgreSQL sink records the rows it rejects, inserted in
 * the batch's transaction (so they commit with the batch, once). One row per rejected row: query id,
 * batch id, the row's index in the batch output, the column, the reason, and the row as `json` (which,
 * unlike jsonb and text, stores any string, U+0000 included, as an escape).
 */
export async function ensureDeadLetterTable(client: pg.Client, table: string): Promise<void> {
  await createConcurrently(client, `CREATE TABLE IF NOT EXISTS ${quoteTable(table)} (query_id text NOT NULL, ` +
    'batch_id bigint NOT NULL, row_index integer NOT NULL, column_name text NOT NULL, reason text NOT NULL, ' +
    'row_json json NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (query_id, batch_id, row_index))');
}

export async function insertDeadLetters(client: pg.Client, table: string, queryId: string, batchId: number,
  rejected: readonly Rejection[]): Promise<void> {
  const perStatement = 1000;
  for (let from = 0; from < rejected.length; from += perStatement) {
    const params: unknown[] = [];
    const tuples = rejected.slice(from, from + perStatement).map((r) => {
      params.push(queryId, batchId, r.index, r.column, r.reason, rowJson(r.row));
      const n = params.length;
      return `($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
    });
    await client.query(`INSERT INTO ${quoteTable(table)} (query_id, batch_id, row_index, column_name, reason, row_json) ` +
      `VALUES ${tuples.join(', ')}`, params);
  }
}
