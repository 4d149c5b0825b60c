import { AtomicType, DataType, Field, Schema } from '../../common/schema.js';
import { parseTimestamp } from '../../codec/timestamp.js';
import { CsvSettings, forEachCsvRecord } from './formats.js';
import { forEachLine, readWholeFile } from './lines.js';

/**
 * Schema inference for batch reads without `.schema(...)`, as Spark does it. JSON: the union of the
 * objects' keys, sorted by name; whole numbers are longs, other numbers doubles, booleans booleans,
 * text strings (timestamps only with option `inferTimestamp`, as in Spark), objects structs (their
 * keys merged and sorted the same way), arrays arrays of their elements' widened type. Types meeting in
 * one field widen: long and double to double, anything else mixed to string. A field only ever null
 * (or an array only ever empty) is a string. Whole numbers beyond what a long holds exactly (2^53)
 * infer as string, so their digits are kept as written rather than rounded. When some lines are not
 * JSON objects the schema also gets the corrupt-record column, so PERMISSIVE reads can show them.
 * CSV: the header's names (or `_c0`, `_c1`, … without a header), all strings unless `inferSchema` is
 * true, which picks integer, long, double, boolean or timestamp per column when every non-null value fits.
 */
type Kind = 'null' | AtomicType;

/** The narrowest kind that holds both. */
function widen(a: Kind, b: Kind): Kind {
  if (a === b || b === 'null') return a;
  if (a === 'null') return b;
  const numeric = ['integer', 'long', 'double'];
  if (numeric.includes(a) && numeric.includes(b)) return numeric[Math.max(numeric.indexOf(a), numeric.indexOf(b))] as Kind;
  return 'string';
}

/** A JSON field's type as inferred so far; mutable, so each record widens it in place. */
type Shape = Kind | { kind: 'struct'; fields: Map<string, Shape> } | { kind: 'array'; element: Shape };

/** Integers up to 10^38 are exact in Spark (long or decimal); here only their text is. */
const EXACT_INTEGER_LIMIT = 1e38;

function jsonKind(v: unknown, inferTimestamp: boolean): Kind {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return 'long';
    return Number.isInteger(v) && Math.abs(v) < EXACT_INTEGER_LIMIT ? 'string' : 'double';
  }
  if (inferTimestamp && typeof v === 'string' && isTimestampText(v)) return 'timestamp';
  return 'string';
}

/** `shape` widened to hold `v` as well. */
function absorb(shape: Shape, v: unknown, inferTimestamp: boolean): Shape {
  if (v === null || v === undefined || shape === 'string') return shape;
  if (Array.isArray(v)) {
    const array = shape === 'null' ? { kind: 'array' as const, element: 'null' as Shape } : shape;
    if (typeof array === 'string' || array.kind !== 'array') return 'string';
    for (const element of v) array.element = absorb(array.element, element, inferTimestamp);
    return array;
  }
  if (typeof v === 'object') {
    const struct = shape === 'null' ? { kind: 'struct' as const, fields: new Map<string, Shape>() } : shape;
    if (typeof struct === 'string' || struct.kind !== 'struct') return 'string';
    absorbFields(struct.fields, v, inferTimestamp);
    return struct;
  }
  return typeof shape === 'string' ? widen(shape, jsonKind(v, inferTimestamp)) : 'string';
}

function absorbFields(fields: Map<string, Shape>, record: object, inferTimestamp: boolean): void {
  for (const [name, value] of Object.entries(record)) fields.set(name, absorb(fields.get(name) ?? 'null', value, inferTimestamp));
}

function typeOf(shape: Shape): DataType {
  if (shape === 'null') return 'string';
  if (typeof shape === 'string') return shape;
  if (shape.kind === 'array') return { kind: 'array', element: typeOf(shape.element) };
  return { kind: 'struct', fields: fieldsOf(shape.fields, [...shape.fields.keys()].sort()) };
}

function fieldsOf(shapes: Map<string, Shape>, names: readonly string[]): Field[] {
  return names.map((name) => ({ name, type: typeOf(shapes.get(name) ?? 'null'), nullable: true }));
}

export async function inferJsonSchema(paths: readonly string[], corruptColumnName: string | null,
  inferTimestamp: boolean): Promise<Schema> {
  const shapes = new Map<string, Shape>();
  let malformed = false;
  for (const path of paths) {
    await forEachLine(path, (line) => {
      if (line.trim() === '') return;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        malformed = true;
        return;
      }
      if (typeof record !== 'object' || record === null || Array.isArray(record)) {
        malformed = true;
        return;
      }
      absorbFields(shapes, record, inferTimestamp);
    });
  }
  const names = [...shapes.keys()].filter((n) => n !== corruptColumnName).sort();
  const schema = fieldsOf(shapes, names);
  if (malformed && corruptColumnName !== null) schema.push({ name: corruptColumnName, type: 'string', nullable: true });
  return schema;
}

/** Text with a date and a time of day (bare dates stay strings, as in Spark). */
function isTimestampText(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}[T ]\d/.test(text) && !Number.isNaN(parseTimestamp(text));
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function textKind(text: string): Kind {
  if (INTEGER_TEXT.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n >= -(2 ** 31) && n < 2 ** 31 ? 'integer' : 'long';
    return 'double';
  }
  if (DECIMAL_TEXT.test(text)) return 'double';
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === 'false') return 'boolean';
  if (isTimestampText(text)) return 'timestamp';
  return 'string';
}

/** Header names made usable as columns: empty ones become `_c<i>`, repeated ones get their position appended. */
function columnNames(header: readonly string[]): string[] {
  const names = header.map((h, i) => (h.trim() === '' ? `_c${i}` : h));
  return names.map((n, i) => (names.indexOf(n) !== names.lastIndexOf(n) ? `${n}${i}` : n));
}

export async function inferCsvSchema(paths: readonly string[], csv: CsvSettings, inferTypes: boolean): Promise<Schema> {
  let names: string[] | null = null;
  const kinds: Kind[] = [];
  for (const path of paths) {
    const data = await readWholeFile(path);
    let first = true;
    forEachCsvRecord(data, csv, (fields) => {
      if (fields.length === 1 && fields[0]!.trim() === '' && (names === null || names.length !== 1)) return;
      const isHeader = first && csv.header;
      first = false;
      if (isHeader) {
        names ??= columnNames(fields);
        return;
      }
      names ??= fields.map((_, i) => `_c${i}`);
      if (!inferTypes) return;
      fields.forEach((text, i) => {
        if (text === csv.nullValue) return;
        kinds[i] = widen(kinds[i] ?? 'null', textKind(text));
      });
    }, () => undefined);
  }
  const columns: string[] = names ?? [];
  return columns.map((name, i) => {
    const kind = inferTypes ? kinds[i] ?? 'null' : 'string';
    return { name, type: kind === 'null' ? 'string' : kind, nullable: true };
  });
}
