import { AnalysisError } from '../../common/errors.js';
import { unknownNameError } from '../../common/nearest-name.js';
import { Position, Query } from '../../sql/ast.js';
import { parseStatements } from '../../sql/parser.js';
import type { DataFrame } from '../dataframe.js';
import type { DataStreamReader } from '../reader.js';
import { ViewCatalog } from './catalog.js';
import { where } from './expressions.js';
import { SqlPlanner } from './queries.js';
import { readTable, TableDefinition, tableDefinition } from './tables.js';

/** What a SQL text did: the DataFrame of its last query, and the INSERTs it asked for (run by `weir run`). */
export interface SqlResult {
  readonly query: DataFrame | null;
  readonly inserts: readonly { readonly table: TableDefinition; readonly df: DataFrame; readonly at: Position }[];
}

/**
 * A session's SQL: temporary views (shared with `createOrReplaceTempView`) and tables declared with
 * `CREATE TABLE … WITH (…)`, which a FROM reads as streams and an INSERT INTO writes as sinks.
 */
export class SqlSession {
  private readonly tables = new Map<string, TableDefinition>();

  constructor(private readonly views: ViewCatalog, private readonly readStream: () => DataStreamReader) {}

  run(text: string): SqlResult {
    let query: DataFrame | null = null;
    const inserts: { table: TableDefinition; df: DataFrame; at: Position }[] = [];
    for (const st of parseStatements(text)) {
      switch (st.kind) {
        case 'query': query = this.query(st.query); break;
        case 'createView': this.views.set(st.name, this.query(st.query)); break;
        case 'createTable': this.tables.set(st.name.toLowerCase(), tableDefinition(st)); break;
        case 'insert': {
          const table = this.tables.get(st.table.toLowerCase());
          if (!table) {
            throw unknownNameError({ what: 'table', given: st.table, known: [...this.tables.values()].map((t) => t.name),
              where: `in INSERT INTO at ${where(st.at)}`, advice: 'Declare it first with CREATE TABLE … WITH (\'format\' = …).',
              code: 'UNKNOWN_TABLE' });
          }
          inserts.push({ table, df: this.query(st.query), at: st.at });
        }
      }
    }
    return { query, inserts };
  }

  /** A view or a declared table by name, as `weir.table()` and FROM see it. */
  table(name: string, position?: Position): DataFrame {
    const view = this.views.get(name);
    if (view) return view;
    const table = this.tables.get(name.toLowerCase());
    if (table) return readTable(table, this.readStream());
    throw unknownNameError({ what: 'table or view', given: name, known: [...this.views.names(), ...this.tables.keys()],
      where: position ? `at ${where(position)}` : undefined,
      advice: 'Register a DataFrame with df.createOrReplaceTempView(name), or declare a table with CREATE TABLE.',
      code: 'UNKNOWN_TABLE' });
  }

  private query(q: Query): DataFrame {
    return new SqlPlanner((name, position) => this.table(name, position)).query(q);
  }
}

export function noQueryError(): AnalysisError {
  return new AnalysisError('weir.sql() ran no SELECT: it returns the DataFrame of the last SELECT of the text. ' +
    'INSERT INTO starts a streaming query: run the file with `weir run`, or call writeStream on weir.sql(\'SELECT …\').',
  'SQL_NO_QUERY');
}
