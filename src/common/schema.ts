import { AnalysisError } from './errors.js';

export type AtomicType = 'string' | 'integer' | 'long' | 'double' | 'boolean' | 'timestamp' | 'date' | 'binary';
export interface StructType { readonly kind: 'struct'; readonly fields: readonly Field[] }
export interface ArrayType { readonly kind: 'array'; readonly element: DataType }
export type DataType = AtomicType | StructType | ArrayType;

export interface Field {
  readonly name: string;
  readonly type: DataType;
  readonly nullable: boolean;
  /**
   * Set on an event-time column (one named in `withWatermark`, or a window over it): the
   * watermark delay in ms. Stateful operators use it to drop late rows and evict state.
   */
  readonly eventTimeDelayMs?: number;
}
/** A relation's columns, in order. */
export type Schema = readonly Field[];

/** Values in rows. Timestamps and dates are epoch milliseconds; a window is `{ start, end }`. */
export type Value = number | string | boolean | null | Uint8Array | readonly Value[] | { readonly [k: string]: Value };
export type Row = Record<string, Value>;

export const WINDOW_TYPE: StructType = {
  kind: 'struct',
  fields: [
    { name: 'start', type: 'timestamp', nullable: false },
    { name: 'end', type: 'timestamp', nullable: false },
  ],
};

const TYPE_NAMES: Record<string, AtomicType> = {
  string: 'string', varchar: 'string', text: 'string',
  int: 'integer', integer: 'integer', smallint: 'integer', tinyint: 'integer', short: 'integer', byte: 'integer',
  long: 'long', bigint: 'long',
  double: 'double', float: 'double', real: 'double', decimal: 'double', number: 'double',
  boolean: 'boolean', bool: 'boolean',
  timestamp: 'timestamp', date: 'date', binary: 'binary',
};

export function parseTypeName(name: string, context: string): AtomicType {
  const t = TYPE_NAMES[name.trim().toLowerCase().replace(/\(.*\)$/, '')];
  if (!t) {
    throw new AnalysisError(
      `Unknown type '${name}' for ${context}: use one of string, int, long, double, boolean, timestamp, date, binary.`,
      'UNKNOWN_TYPE');
  }
  return t;
}

/** A schema as users give it: a DDL string (`'ts TIMESTAMP, user STRING'`), an object or a field list. */
export type SchemaLike = string | Record<string, string> | Schema;

export function toSchema(spec: SchemaLike): Schema {
  if (typeof spec === 'string') return parseDDL(spec);
  if (Array.isArray(spec)) return spec as Schema;
  return Object.entries(spec as Record<string, string>).map(([name, type]) => ({
    name, type: parseTypeName(type, `column '${name}'`), nullable: true,
  }));
}

function parseDDL(ddl: string): Schema {
  const fields: Field[] = [];
  for (const part of ddl.split(',')) {
    const m = /^\s*`?([A-Za-z_][\w]*)`?\s+([A-Za-z]+(?:\(\d+(?:,\s*\d+)?\))?)\s*(NOT\s+NULL)?\s*$/i.exec(part);
    if (!m) {
      throw new AnalysisError(
        `Cannot read schema ${JSON.stringify(ddl)} near ${JSON.stringify(part.trim())}: ` +
          `write it as 'name TYPE, name TYPE', e.g. 'ts TIMESTAMP, user STRING, amount DOUBLE'.`, 'INVALID_SCHEMA');
    }
    fields.push({ name: m[1]!, type: parseTypeName(m[2]!, `column '${m[1]}'`), nullable: !m[3] });
  }
  const seen = new Set<string>();
  for (const f of fields) {
    if (seen.has(f.name)) throw new AnalysisError(`Schema names column '${f.name}' twice.`, 'INVALID_SCHEMA');
    seen.add(f.name);
  }
  return fields;
}

export function typeToString(t: DataType): string {
  if (typeof t === 'string') return t;
  if (t.kind === 'array') return `array<${typeToString(t.element)}>`;
  return `struct<${t.fields.map((f) => `${f.name}:${typeToString(f.type)}`).join(',')}>`;
}

export function schemaToString(schema: Schema): string {
  return schema.map((f) => `${f.name} ${typeToString(f.type)}`).join(', ');
}

export function isNumeric(t: DataType): boolean {
  return t === 'integer' || t === 'long' || t === 'double';
}

export function fieldOf(schema: Schema, name: string): Field | undefined {
  return schema.find((f) => f.name === name);
}
