import { ATOMIC_TYPE_LIST, atomicTypeNamed, parseDataType, parseSchemaDDL } from './ddl.js';
import { Decimal } from './decimal.js';
import { DecimalType, isDecimalType } from './decimal-type.js';
import { AnalysisError } from './errors.js';

/** `decimal(p,s)` is atomic too: a DECIMAL(p,s) type is named by that text (common/decimal-type.ts). */
export type AtomicType = 'string' | 'integer' | 'long' | 'double' | 'boolean' | 'timestamp' | 'date' | 'binary' | DecimalType;
export interface StructType { readonly kind: 'struct'; readonly fields: readonly Field[] }
export interface ArrayType { readonly kind: 'array'; readonly element: DataType }
/** Spark's MAP<STRING, V>: a row holds it as a plain object, read through own properties only (codec/fields.ts). */
export interface MapType { readonly kind: 'map'; readonly key: 'string'; readonly value: DataType }
export type DataType = AtomicType | StructType | ArrayType | MapType;

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

/** Values in rows. Timestamps and dates are epoch milliseconds; a window is `{ start, end }`; a DECIMAL a {@link Decimal}. */
export type Value = number | string | boolean | null | Uint8Array | Decimal | readonly Value[] | { readonly [k: string]: Value };
export type Row = Record<string, Value>;

export const WINDOW_TYPE: StructType = {
  kind: 'struct',
  fields: [
    { name: 'start', type: 'timestamp', nullable: false },
    { name: 'end', type: 'timestamp', nullable: false },
  ],
};

/** True for the type of a `window` or `session_window` value: a struct of timestamps `start` and `end`. */
export function isWindowType(t: DataType): boolean {
  if (typeof t !== 'object' || t.kind !== 'struct' || t.fields.length !== 2) return false;
  return t.fields.every((f, i) => f.name === (i === 0 ? 'start' : 'end') && f.type === 'timestamp');
}

/** An atomic type by name (`int`, `BIGINT`, `decimal(10,2)`), for casts; nested types are not cast targets. */
export function parseTypeName(name: string, context: string): AtomicType {
  const t = atomicTypeNamed(name, context);
  if (!t) {
    throw new AnalysisError(`Unknown type '${name}' for ${context}: use one of ${ATOMIC_TYPE_LIST}.`, 'UNKNOWN_TYPE');
  }
  return t;
}

/** A schema as users give it: a DDL string (`'ts TIMESTAMP, user STRING'`), an object or a field list. */
export type SchemaLike = string | Record<string, string> | Schema;

export function toSchema(spec: SchemaLike): Schema {
  if (typeof spec === 'string') return parseSchemaDDL(spec);
  if (Array.isArray(spec)) return spec as Schema;
  return Object.entries(spec as Record<string, string>).map(([name, type]) => ({
    name, type: parseDataType(type, `column '${name}'`), nullable: true,
  }));
}

export function typeToString(t: DataType): string {
  if (typeof t === 'string') return t;
  if (t.kind === 'array') return `array<${typeToString(t.element)}>`;
  if (t.kind === 'map') return `map<${t.key},${typeToString(t.value)}>`;
  return `struct<${t.fields.map((f) => `${f.name}:${typeToString(f.type)}`).join(',')}>`;
}

export function schemaToString(schema: Schema): string {
  return schema.map((f) => `${f.name} ${typeToString(f.type)}`).join(', ');
}

export function isNumeric(t: DataType): boolean {
  return t === 'integer' || t === 'long' || t === 'double' || isDecimalType(t);
}

export function fieldOf(schema: Schema, name: string): Field | undefined {
  return schema.find((f) => f.name === name);
}

/** True when `t` or a type nested in it satisfies `test`. */
export function someNestedType(t: DataType, test: (atomic: AtomicType) => boolean): boolean {
  if (typeof t === 'string') return test(t);
  if (t.kind === 'array') return someNestedType(t.element, test);
  if (t.kind === 'map') return someNestedType(t.value, test);
  return t.fields.some((f) => someNestedType(f.type, test));
}
