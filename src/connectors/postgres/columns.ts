import { ConnectorError } from '../../common/errors.js';
import { decimalParams, isDecimalType } from '../../common/decimal-type.js';
import { AtomicType, DataType, Row, Schema, Value } from '../../common/schema.js';
import { rowJson } from '../../sinks/rejected-rows.js';
import { ownValue } from '../../codec/fields.js';

/**
 * How a query's schema lands in a PostgreSQL table. Atomic columns map one to one; a struct column
 * is flattened into one column per field, named `<column>_<field>` (a window becomes `window_start`
 * and `window_end`), so the table stays queryable with plain SQL; an array of an atomic type becomes a
 * PostgreSQL array of it (`text[]`, `bigint[]`), a map or an array of nested values `jsonb`; DECIMAL(p,s)
 * is `numeric(p,s)`.
 */
export interface TableColumn {
  readonly name: string;
  /** The query column it comes from (itself, or the struct column it is a field of). */
  readonly queryColumn: string;
  /** The type `createTable` uses. */
  readonly sqlType: string;
  /** Type names (as `format_type` prints them, without modifiers) an existing table may use instead. */
  readonly accepts: readonly string[];
  readonly nullable: boolean;
  /** Reads this column's parameter value from an output row. */
  readonly value: (row: Row) => unknown;
}

const ATOMIC: Record<string, { sqlType: string; accepts: string[]; encode: (v: Value) => unknown }> = {
  string: { sqlType: 'text', accepts: ['text', 'character varying', 'character'], encode: (v) => v },
  integer: { sqlType: 'integer', accepts: ['integer', 'bigint', 'numeric', 'double precision'], encode: (v) => v },
  long: { sqlType: 'bigint', accepts: ['bigint', 'numeric'], encode: (v) => v },
  double: { sqlType: 'double precision', accepts: ['double precision', 'numeric', 'real'], encode: (v) => v },
  boolean: { sqlType: 'boolean', accepts: ['boolean'], encode: (v) => v },
  // Epoch ms in rows; ISO-8601 UTC strings are read the same by timestamptz and timestamp columns.
  timestamp: {
    sqlType: 'timestamptz', accepts: ['timestamp with time zone', 'timestamp without time zone'],
    encode: (v) => new Date(v as number).toISOString(),
  },
  // A date as a plain 'YYYY-MM-DD' string: a Date object would be shifted by the client's time zone.
  date: { sqlType: 'date', accepts: ['date'], encode: (v) => new Date(v as number).toISOString().slice(0, 10) },
  // The pg client sends a Buffer as bytea.
  binary: { sqlType: 'bytea', accepts: ['bytea'], encode: (v) => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v) },
};

/** DECIMAL(p,s) is PostgreSQL's numeric(p,s), written as its exact text (which numeric reads without rounding). */
function atomicColumn(type: AtomicType): { sqlType: string; accepts: string[]; encode: (v: Value) => unknown } {
  if (!isDecimalType(type)) return ATOMIC[type]!;
  const { precision, scale } = decimalParams(type);
  return { sqlType: `numeric(${precision},${scale})`, accepts: ['numeric'], encode: (v) => String(v) };
}

export function tableColumns(schema: Schema): TableColumn[] {
  const out: TableColumn[] = [];
  let queryColumn = '';
  const visit = (name: string, type: DataType, nullable: boolean, get: (row: Row) => Value | undefined): void => {
    if (typeof type === 'string') {
      const atomic = atomicColumn(type);
      out.push({
        name, queryColumn, sqlType: atomic.sqlType, accepts: atomic.accepts, nullable,
        value: (row) => {
          const v = get(row);
          return v === null || v === undefined ? null : atomic.encode(v);
        },
      });
    } else if (type.kind === 'array' && typeof type.element === 'string') {
      // An array of an atomic type is a PostgreSQL array of that type (the pg client writes JS arrays as array literals).
      const element = atomicColumn(type.element);
      out.push({
        name, queryColumn, sqlType: `${element.sqlType}[]`, accepts: element.accepts.map((t) => `${t}[]`), nullable,
        value: (row) => {
          const v = get(row);
          return v === null || v === undefined ? null : (v as readonly Value[]).map((e) => (e === null ? null : element.encode(e)));
        },
      });
    } else if (type.kind === 'array' || type.kind === 'map') {
      out.push({
        name, queryColumn, sqlType: 'jsonb', accepts: ['jsonb', 'json'], nullable,
        value: (row) => {
          const v = get(row);
          return v === null || v === undefined ? null : rowJson(v);
        },
      });
    } else {
      for (const f of type.fields) {
        visit(`${name}_${f.name}`, f.type, nullable || f.nullable, (row) => {
          const parent = get(row);
          return parent === null || parent === undefined ? null : ownValue(parent as Record<string, Value>, f.name);
        });
      }
    }
  };
  for (const f of schema) {
    queryColumn = f.name;
    visit(f.name, f.type, f.nullable, (row) => ownValue(row, f.name));
  }
  return out;
}

/** The table columns a query column occupies: itself, or its flattened struct fields. */
export function columnsOf(schema: Schema, queryColumn: string): string[] {
  const field = schema.find((f) => f.name === queryColumn);
  return field ? tableColumns([field]).map((c) => c.name) : [queryColumn];
}

/** PostgreSQL cuts longer identifiers to this many bytes (NAMEDATALEN - 1). */
export const MAX_IDENTIFIER_BYTES = 63;

export function identifierBytes(name: string): number {
  return Buffer.byteLength(name, 'utf8');
}

/**
 * The refusal of a name PostgreSQL would truncate: created under the cut name, the table would not
 * match the query's column (or table) name on the next start, so it is refused at the first.
 */
export function identifierTooLong(what: string, fix: string): ConnectorError {
  return new ConnectorError('POSTGRES_NAME_TOO_LONG', `${what} is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte ` +
    `limit on names: it would be cut short, and the table would no longer match on the next start. ${fix}.`);
}

/** Refuses table column names PostgreSQL would truncate (a flattened struct field gets its column's name as prefix). */
export function checkColumnNames(columns: readonly TableColumn[]): void {
  const long = columns.find((c) => identifierBytes(c.name) > MAX_IDENTIFIER_BYTES);
  if (long) {
    throw identifierTooLong(`Column '${long.name}' (${identifierBytes(long.name)} bytes)`, 'Rename the query column it ' +
      `comes from, e.g. .withColumnRenamed('${long.queryColumn}', 'short_name')`);
  }
}

/** `"a"`, or `"schema"."table"` for a dotted name: each part quoted, so case and odd characters are kept. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteTable(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}

export interface ExistingColumn {
  readonly name: string;
  /** `format_type` output, e.g. `character varying(20)`. */
  readonly type: string;
  readonly notNull: boolean;
  readonly hasDefault: boolean;
}

/** Problems that keep rows of `wanted` from being inserted into a table with columns `existing`; empty if none. */
export function schemaProblems(wanted: readonly TableColumn[], existing: readonly ExistingColumn[]): string[] {
  const problems: string[] = [];
  const byName = new Map(existing.map((c) => [c.name, c]));
  for (const col of wanted) {
    const have = byName.get(col.name);
    if (!have) {
      problems.push(`column '${col.name}' (${col.sqlType}) is missing`);
      continue;
    }
    const base = have.type.replace(/\(.*?\)/, '').trim();
    if (!col.accepts.includes(base)) {
      problems.push(`column '${col.name}' is ${have.type}, the query writes ${col.sqlType} (use one of ${col.accepts.join(', ')})`);
    }
  }
  const written = new Set(wanted.map((c) => c.name));
  for (const have of existing) {
    if (!written.has(have.name) && have.notNull && !have.hasDefault) {
      problems.push(`column '${have.name}' is NOT NULL without a default, and the query does not write it`);
    }
  }
  return problems;
}
