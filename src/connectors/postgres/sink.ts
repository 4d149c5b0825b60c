import pg from 'pg';
import { AnalysisError, ConnectorError, errorMessage, WeirError } from '../../common/errors.js';
import { injectFault } from '../../common/faults.js';
import { Row } from '../../common/schema.js';
import { OutputMode } from '../../common/output-mode.js';
import { isCommittedBatch } from '../../sinks/batch-identity.js';
import { DEAD_LETTER_PATH, DeadLetterFolder, Rejection, rejectedRowError, splitRejected } from '../../sinks/rejected-rows.js';
import { Sink, SinkContext, SinkSpec } from '../../sinks/sink.js';
import { RowCheck } from '../../sinks/value-domain.js';
import {
  checkColumnNames, columnsOf, ExistingColumn, identifierBytes, identifierTooLong, MAX_IDENTIFIER_BYTES, quoteIdent, quoteTable,
  schemaProblems, TableColumn, tableColumns,
} from './columns.js';
import { createConcurrently } from './catalog.js';
import { DEAD_LETTER_TABLE, ensureDeadLetterTable, insertDeadLetters } from './dead-letter-table.js';
import { postgresRowCheck } from './row-check.js';

/** Records which batches of which query a database holds; written in the same transaction as the rows. */
export const BATCH_TABLE = 'weir_batches';
/** Bookkeeping rows kept per query: a restart only ever re-runs the newest batch, so older ids are pruned. */
const BATCHES_KEPT = 100;
/** PostgreSQL binds at most 65535 parameters per statement. */
const MAX_PARAMS = 65535;
const MAX_ROWS_PER_INSERT = 1000;

/**
 * `format('postgres')`: writes each batch in one transaction together with a `(query id, batch id,
 * digest)` row in `weir_batches`, so a batch id already recorded is skipped and a re-run after a crash
 * changes nothing (the same id planned over other input is refused, see batch-identity.ts). Append
 * inserts; update upserts on the grouping key (the table needs a primary key or unique index on it);
 * complete replaces the table's rows. Struct columns are flattened (`window` becomes `window_start`,
 * `window_end`). Options: `url` (connection string), `table` (optionally `schema.table`; each part is
 * quoted, so case matters), `createTable` (default false), and for rows the database cannot take
 * (rejected-rows.ts) `deadLetterTable` (written in the batch's transaction) or `deadLetterPath`.
 */
export class PostgresSink implements Sink {
  readonly description: string;
  readonly supportedModes: readonly OutputMode[] = ['append', 'update', 'complete'];
  private readonly url: string;
  private readonly table: string;
  private readonly createTable: boolean;
  private readonly deadLetterTable: string | null;
  private readonly deadLetterFolder: DeadLetterFolder | null;
  private client: pg.Client | null = null;
  private queryId = '';
  private mode: OutputMode = 'append';
  private columns: TableColumn[] = [];
  private keys: string[] = [];
  private rowCheck: RowCheck | null = null;
  private rejectedRows = 0;

  constructor(spec: SinkSpec) {
    const hint = 'e.g. .option(\'url\', \'postgres://user:password@host:5432/db\')';
    this.url = spec.options.required('url', hint);
    this.table = spec.options.required('table', 'the table to write, e.g. .option(\'table\', \'word_counts\')');
    this.createTable = spec.options.boolean('createTable', false);
    this.description = `PostgresSink[${this.table}]`;
    this.deadLetterTable = spec.options.string(DEAD_LETTER_TABLE) || null;
    this.deadLetterFolder = DeadLetterFolder.fromOptions(spec.options, this.description);
    if (this.deadLetterTable !== null && this.deadLetterFolder !== null) {
      throw new AnalysisError(`The postgres sink takes option '${DEAD_LETTER_TABLE}' or '${DEAD_LETTER_PATH}', not both: ` +
        'choose where rejected rows go.', 'INVALID_OPTION');
    }
    const tooLong = [this.table, ...(this.deadLetterTable === null ? [] : [this.deadLetterTable])]
      .flatMap((name) => name.split('.')).find((part) => identifierBytes(part) > MAX_IDENTIFIER_BYTES);
    if (tooLong !== undefined) throw identifierTooLong(`Table name part '${tooLong}'`, 'choose a shorter table name');
  }

  async open(context: SinkContext): Promise<void> {
    this.queryId = context.queryId;
    this.mode = context.outputMode;
    this.columns = tableColumns(context.schema);
    checkColumnNames(this.columns);
    // Without a grouping key, update mode writes each row once, as append does.
    this.keys = context.outputMode === 'update' ? context.keyColumns.flatMap((k) => columnsOf(context.schema, k)) : [];
    const client = await this.connection();
    try {
      await ensureBatchTable(client);
      if (this.deadLetterTable !== null) await ensureDeadLetterTable(client, this.deadLetterTable);
      const existing = await this.ensureTable(client);
      this.rowCheck = postgresRowCheck(context.schema, this.columns, existing, this.keys);
    } catch (err) {
      const error = await this.failure(err, `preparing table '${this.table}'`);
      // The query does not start: nothing else would close this connection.
      await this.dropClient();
      throw error;
    }
  }

  async addBatch(batchId: number, rows: readonly Row[], digest: string): Promise<void> {
    this.rejectedRows = 0;
    const checked = splitRejected(rows, this.rowCheck);
    let written = await this.writeBatch(batchId, digest, checked, null);
    // The database refused a row the checks could not foresee (a CHECK constraint, a unique index, a
    // value out of a column's range): the transaction is void, so the batch is written again, this
    // time isolating the refused rows.
    if (written === 'refused') written = await this.writeBatch(batchId, digest, checked, new Map(rows.map((row, i) => [row, i])));
    if (written !== 'refused') this.rejectedRows = written;
  }

  metrics(): Readonly<Record<string, number>> {
    return { numRejectedRows: this.rejectedRows };
  }

  async stop(): Promise<void> {
    await this.dropClient();
  }

  /**
   * One attempt at the batch's transaction: the rejected row count once committed (or skipped: 0).
   * Without `isolating` (each row's index in the batch), 'refused' when the database refused a row.
   */
  private async writeBatch(batchId: number, digest: string, { accepted, rejected: checked }: { accepted: readonly Row[];
    rejected: readonly Rejection[] }, isolating: ReadonlyMap<Row, number> | null): Promise<number | 'refused'> {
    const client = await this.connection();
    try {
      await client.query('BEGIN');
      // Claiming the batch id first also makes a concurrent writer of the same batch wait for this one.
      // The subqueries see the table as it was before the claim: this batch's digest if it was
      // committed, and the newest batch of the query.
      const claim = await client.query<{ claimed: boolean; newest: string | null; digest: string | null }>(
        `WITH claim AS (INSERT INTO ${BATCH_TABLE} (query_id, batch_id, committed_at, digest) VALUES ($1, $2, now(), $3) ` +
        `ON CONFLICT DO NOTHING RETURNING 1) SELECT EXISTS (SELECT 1 FROM claim) AS claimed, ` +
        `(SELECT max(batch_id) FROM ${BATCH_TABLE} WHERE query_id = $1) AS newest, ` +
        `(SELECT digest FROM ${BATCH_TABLE} WHERE query_id = $1 AND batch_id = $2) AS digest`, [this.queryId, batchId, digest]);
      const { claimed, newest, digest: committed } = claim.rows[0]!;
      if (isCommittedBatch(this.description, `${BATCH_TABLE} (query ${this.queryId}, batch ${batchId})`, batchId, digest,
        claimed ? undefined : committed, Number(newest ?? -1), 'table')) {
        await client.query('ROLLBACK');
        return 0;
      }
      if (checked.length > 0 && this.deadLetterTable === null && this.deadLetterFolder === null) {
        throw rejectedRowError(this.description, batchId, checked, this.deadLetterOptions());
      }
      if (this.mode === 'complete') await client.query(`DELETE FROM ${quoteTable(this.table)}`);
      const toWrite = this.keys.length > 0 ? lastPerKey(accepted, this.keys, this.columns) : accepted;
      let refused: Rejection[] = [];
      if (isolating === null) {
        try {
          await this.write(client, toWrite);
        } catch (err) {
          if (!isRowRefusal(err)) throw err;
          await client.query('ROLLBACK');
          return 'refused';
        }
      } else {
        refused = await this.writeIsolating(client, toWrite, isolating);
      }
      const rejected = [...checked, ...refused].sort((a, b) => a.index - b.index);
      if (rejected.length > 0 && this.deadLetterTable === null && this.deadLetterFolder === null) {
        throw rejectedRowError(this.description, batchId, rejected, this.deadLetterOptions());
      }
      if (this.deadLetterTable !== null) await insertDeadLetters(client, this.deadLetterTable, this.queryId, batchId, rejected);
      await this.deadLetterFolder?.record(this.queryId, batchId, rejected);
      injectFault('midSink', batchId);
      await client.query(`DELETE FROM ${BATCH_TABLE} WHERE query_id = $1 AND batch_id < $2`,
        [this.queryId, batchId - BATCHES_KEPT]);
      await client.query('COMMIT');
      return rejected.length;
    } catch (err) {
      throw await this.failure(err, `writing batch ${batchId} to table '${this.table}'`);
    }
  }

  /** Inserts the rows, halving a refused insert under a savepoint until each refused row stands alone; returns those. */
  private async writeIsolating(client: pg.Client, rows: readonly Row[], indexOf: ReadonlyMap<Row, number>): Promise<Rejection[]> {
    if (rows.length === 0) return [];
    await client.query('SAVEPOINT weir_rows');
    try {
      await this.write(client, rows);
      await client.query('RELEASE SAVEPOINT weir_rows');
      return [];
    } catch (err) {
      if (!isRowRefusal(err)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT weir_rows');
      await client.query('RELEASE SAVEPOINT weir_rows');
      if (rows.length === 1) return [refusalOf(err, rows[0]!, indexOf.get(rows[0]!) ?? -1)];
      const half = Math.ceil(rows.length / 2);
      return [...await this.writeIsolating(client, rows.slice(0, half), indexOf),
        ...await this.writeIsolating(client, rows.slice(half), indexOf)];
    }
  }

  private deadLetterOptions(): string {
    return `option '${DEAD_LETTER_TABLE}' (a table, written in the batch's transaction) or '${DEAD_LETTER_PATH}' (a folder)`;
  }

  /** The open client, or a new one: a connection lost in an earlier call is replaced here. */
  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url, keepAlive: true });
    // A connection that dies while idle reports here; without a listener the process would crash.
    client.on('error', () => {
      if (this.client === client) this.client = null;
    });
    try {
      await client.connect();
    } catch (err) {
      throw new ConnectorError('POSTGRES_CONNECTION',
        `Cannot connect to PostgreSQL at ${redact(this.url)} for table '${this.table}': ${errorMessage(err)}. ` +
        `Check option 'url' and that the server is running.`, { cause: err });
    }
    this.client = client;
    return client;
  }

  private async dropClient(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /** Rolls back (or drops a dead connection) and explains the failure. */
  private async failure(err: unknown, doing: string): Promise<WeirError> {
    if (isConnectionLoss(err)) {
      await this.dropClient();
      return new ConnectorError('POSTGRES_CONNECTION',
        `Lost the connection to PostgreSQL at ${redact(this.url)} while ${doing}: ` +
        `${errorMessage(err)}. The server rolls the transaction back, so nothing of it is written (had the break come ` +
        `during COMMIT, all of it would be); restart the query: either way the batch is written exactly once.`, { cause: err });
    }
    await this.client?.query('ROLLBACK').catch(() => this.dropClient());
    if (err instanceof WeirError) return err;
    const detail = err instanceof pg.DatabaseError && err.detail ? ` (${err.detail})` : '';
    return new ConnectorError('POSTGRES_WRITE',
      `PostgreSQL failed ${doing}: ${errorMessage(err)}${detail}. The transaction was rolled back; nothing of it was written.`,
      { cause: err });
  }

  /** Checks (or creates) the table; returns its columns. */
  private async ensureTable(client: pg.Client): Promise<ExistingColumn[]> {
    const table = quoteTable(this.table);
    const existing = await readColumns(client, table);
    if (existing === null) {
      if (!this.createTable) {
        throw new ConnectorError('POSTGRES_NO_TABLE',
          `Table '${this.table}' does not exist in ${redact(this.url)}: create it, or set option 'createTable' to true ` +
          `to let the sink create it from the query's schema (${this.columns.map((c) => `${c.name} ${c.sqlType}`).join(', ')}).`);
      }
      const defs = this.columns.map((c) => `${quoteIdent(c.name)} ${c.sqlType}${c.nullable ? '' : ' NOT NULL'}`);
      if (this.keys.length > 0) defs.push(`PRIMARY KEY (${this.keys.map(quoteIdent).join(', ')})`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${table} (${defs.join(', ')})`);
      return (await readColumns(client, table))!;
    }
    const problems = schemaProblems(this.columns, existing);
    if (problems.length > 0) {
      throw new ConnectorError('POSTGRES_SCHEMA_MISMATCH',
        `Table '${this.table}' does not fit the query's schema: ${problems.join('; ')}. ` +
        `Alter the table, or write to a new table with option 'createTable' true.`);
    }
    if (this.keys.length > 0 && !(await hasUniqueIndexOn(client, table, this.keys))) {
      const keys = this.keys.map(quoteIdent).join(', ');
      throw new ConnectorError('POSTGRES_NO_UNIQUE_KEY',
        `Update mode upserts on the grouping key (${this.keys.join(', ')}), but table '${this.table}' has no primary ` +
        `key or unique index on exactly those columns: add one (ALTER TABLE ${table} ADD PRIMARY KEY (${keys})).`);
    }
    return existing;
  }

  private async write(client: pg.Client, rows: readonly Row[]): Promise<void> {
    const cols = this.columns;
    if (rows.length === 0 || cols.length === 0) return;
    const names = cols.map((c) => quoteIdent(c.name)).join(', ');
    let conflict = '';
    if (this.keys.length > 0) {
      const keySet = new Set(this.keys);
      const sets = cols.filter((c) => !keySet.has(c.name)).map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`);
      conflict = ` ON CONFLICT (${this.keys.map(quoteIdent).join(', ')}) ` +
        (sets.length > 0 ? `DO UPDATE SET ${sets.join(', ')}` : 'DO NOTHING');
    }
    const perStatement = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMS / cols.length)));
    for (let from = 0; from < rows.length; from += perStatement) {
      const chunk = rows.slice(from, from + perStatement);
      const params: unknown[] = [];
      const tuples = chunk.map((row) => {
        const slots = cols.map((c) => {
          params.push(c.value(row));
          return `$${params.length}`;
        });
        return `(${slots.join(', ')})`;
      });
      await client.query(`INSERT INTO ${quoteTable(this.table)} (${names}) VALUES ${tuples.join(', ')}${conflict}`, params);
    }
  }
}

async function ensureBatchTable(client: pg.Client): Promise<void> {
  await createConcurrently(client, `CREATE TABLE IF NOT EXISTS ${BATCH_TABLE} (query_id text NOT NULL, batch_id bigint NOT NULL, ` +
    'committed_at timestamptz NOT NULL, digest text, PRIMARY KEY (query_id, batch_id))');
  // Tables of older versions lack the digest; their rows keep none, and such a batch is accepted as before.
  await createConcurrently(client, `ALTER TABLE ${BATCH_TABLE} ADD COLUMN IF NOT EXISTS digest text`);
}

/** Data exceptions (22) and integrity constraint violations (23): the database refuses a row's values. */
function isRowRefusal(err: unknown): err is pg.DatabaseError {
  return err instanceof pg.DatabaseError && /^2[23]/.test(err.code ?? '');
}

/** A row the database refused, with the column it names (a NOT NULL column, a unique key's first column). */
function refusalOf(err: pg.DatabaseError, row: Row, index: number): Rejection {
  const column = err.column ?? /^Key \(([^,)]+)/.exec(err.detail ?? '')?.[1] ?? `(not named by PostgreSQL${err.constraint ? `; ` +
    `constraint ${err.constraint}` : ''})`;
  return { index, row, column, reason: `PostgreSQL refuses it: ${err.message}${err.detail ? ` (${err.detail})` : ''}` };
}

/** The table's columns, or null when there is no such table. */
async function readColumns(client: pg.Client, quotedTable: string): Promise<ExistingColumn[] | null> {
  const found = await client.query<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [quotedTable]);
  const oid = found.rows[0]?.oid ?? null;
  if (oid === null) return null;
  const cols = await client.query<{ name: string; type: string; not_null: boolean; has_default: boolean }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS not_null, atthasdef AS has_default
       FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [oid]);
  return cols.rows.map((r) => ({ name: r.name, type: r.type, notNull: r.not_null, hasDefault: r.has_default }));
}

async function hasUniqueIndexOn(client: pg.Client, quotedTable: string, keys: readonly string[]): Promise<boolean> {
  const res = await client.query<{ cols: string[] }>(
    `SELECT array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) AS cols
       FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL`, [quotedTable]);
  const want = [...keys].sort().join('\u0000');
  return res.rows.some((r) => [...r.cols].sort().join('\u0000') === want);
}

/** Update-mode output holds each key once; if a batch repeats one, the last row wins (one upsert may not hit a row twice). */
function lastPerKey(rows: readonly Row[], keys: readonly string[], cols: readonly TableColumn[]): Row[] {
  const keyCols = cols.filter((c) => keys.includes(c.name));
  const byKey = new Map<string, Row>();
  for (const row of rows) byKey.set(JSON.stringify(keyCols.map((c) => c.value(row))), row);
  return [...byKey.values()];
}

/** Errors after which the connection is gone: the server ended it, or the socket broke. */
function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code))) return true;
  if (typeof code === 'string' && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  return /Connection terminated|not queryable|Client was closed/i.test(errorMessage(err));
}

/** The connection string without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(option url)';
  }
}

