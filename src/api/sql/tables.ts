import { AnalysisError } from '../../common/errors.js';
import { ColumnDef, Statement, Watermark } from '../../sql/ast.js';
import type { DataFrame } from '../dataframe.js';
import type { DataStreamReader } from '../reader.js';
import { where } from './expressions.js';

/** A table declared with `CREATE TABLE … WITH (…)`: read as a stream source, written as a sink. */
export interface TableDefinition {
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  readonly watermark: Watermark | null;
  /** Every option but `format` and `path`, as given. */
  readonly options: ReadonlyMap<string, string>;
  readonly format: string;
  readonly path: string | undefined;
}

export function tableDefinition(st: Extract<Statement, { kind: 'createTable' }>): TableDefinition {
  const options = new Map(st.options);
  const format = options.get('format');
  if (format === undefined) {
    throw new AnalysisError(`CREATE TABLE ${st.name} at ${where(st.at)} needs option 'format' in its WITH clause, e.g. ` +
      "WITH ('format' = 'json', 'path' = 'data/events').", 'MISSING_OPTION');
  }
  const path = options.get('path');
  options.delete('format');
  options.delete('path');
  return { name: st.name, columns: st.columns, watermark: st.watermark, options, format, path };
}

/** The table as a streaming DataFrame: its format, schema (when declared) and options, then its watermark. */
export function readTable(table: TableDefinition, reader: DataStreamReader): DataFrame {
  let r = reader.format(table.format);
  if (table.columns.length > 0) r = r.schema(Object.fromEntries(table.columns.map((c) => [c.name, c.type])));
  for (const [k, v] of table.options) r = r.option(k, v);
  const df = r.load(table.path);
  return table.watermark ? df.withWatermark(table.watermark.column, table.watermark.delayMs) : df;
}
