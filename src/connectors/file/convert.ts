import { DataType, Field, Row, Schema, Value } from '../../common/schema.js';

/**
 * Turning parsed records into rows of a schema. A converter is compiled once per schema (and, for
 * CSV, per header layout) into straight-line code that reads each column, checks its type inline and
 * builds the row as one object literal; only values that fail the inline check go through the
 * generic (slower) conversion, which either converts them (an ISO string for a timestamp, a number
 * for a string column) or records the problem.
 *
 * Type rules. JSON: string takes any value (non-strings as their JSON text, as Spark does); integer a
 * whole number within 32 bits; long a safe integer; double any finite number; boolean true/false;
 * timestamp epoch milliseconds or an ISO-8601 string (UTC when it names no zone); date the same,
 * truncated to midnight UTC. CSV: the same, read from text (timestamps as ISO-8601 or epoch-ms
 * digits, booleans as true/false in any case). Missing fields and null are null; a NOT NULL column
 * that is missing is a malformed record. Fields the schema does not name are ignored.
 */

/** Where a converter reports the first problem of the record it is converting; null when there is none. */
export interface ProblemSlot { problem: string | null }

/** JSON object -> row. Leaves `slot.problem` set when a field does not fit (that field is then null). */
export type JsonConverter = (record: Record<string, unknown>, slot: ProblemSlot) => Row;
/** CSV fields -> row; `columns[i]` is the field index of schema column i, -1 when the file has no such column. */
export type CsvConverter = (fields: readonly string[], columns: Int32Array, slot: ProblemSlot) => Row;

const DAY_MS = 86_400_000;
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Epoch ms of an ISO-8601 date or date-time, NaN when the text is not one. No zone means UTC, so a
 * replay never depends on the host's time zone.
 */
export function parseTimestamp(text: string): number {
  // The form toISOString() writes (and file sinks emit) is read digit by digit: 3x faster than Date.parse.
  if (text.length === 24 && text.charCodeAt(23) === 90 && text.charCodeAt(10) === 84 && text.charCodeAt(4) === 45 &&
    text.charCodeAt(7) === 45 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58 && text.charCodeAt(19) === 46) {
    return parseCanonical(text);
  }
  const m = ISO_TIME.exec(text);
  if (!m) return NaN;
  if (m[2] === undefined) return Date.parse(`${m[1]}T00:00:00Z`);
  const fraction = m[4] === undefined ? '' : `.${m[4].slice(0, 3)}`;
  const zone = m[5] === undefined ? 'Z' : m[5].length === 5 ? `${m[5].slice(0, 3)}:${m[5].slice(3)}` : m[5];
  return Date.parse(`${m[1]}T${m[2]}:${m[3] ?? '00'}${fraction}${zone}`);
}

/** The value of `count` decimal digits at `at`, or -1 if any is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** `YYYY-MM-DDTHH:MM:SS.sssZ` (separators already checked). */
function parseCanonical(text: string): number {
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const ms = digits(text, 20, 3);
  // Date.UTC reads years below 100 as 19xx; those (and anything odd) take the general path.
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
    second < 0 || second > 59 || ms < 0) {
    return Date.parse(text);
  }
  const t = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls 2024-02-30 over into March: such a day is not a date.
  return day > 28 && new Date(t).getUTCDate() !== day ? NaN : t;
}

function toDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function typeName(type: DataType): string {
  return typeof type === 'string' ? `a ${type}` : `a ${type.kind}`;
}

export function describeValue(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function mismatch(v: unknown, type: DataType, path: string, slot: ProblemSlot): null {
  if (slot.problem === null) slot.problem = `field '${path}' is ${describeValue(v)}, not ${typeName(type)}`;
  return null;
}

function missing(path: string, v: unknown, slot: ProblemSlot): null {
  if (slot.problem === null) slot.problem = `field '${path}' is ${v === null ? 'null' : 'missing'} but the schema says NOT NULL`;
  return null;
}

/** The generic JSON value conversion: the fallback of compiled converters and the path for nested types. */
function convertJson(v: unknown, type: DataType, path: string, slot: ProblemSlot): Value {
  if (typeof type !== 'string') {
    if (type.kind === 'array') {
      if (!Array.isArray(v)) return mismatch(v, type, path, slot);
      return v.map((e, i) => (e === null || e === undefined ? null : convertJson(e, type.element, `${path}[${i}]`, slot)));
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return mismatch(v, type, path, slot);
    const obj = v as Record<string, unknown>;
    const row: Row = {};
    for (const f of type.fields) {
      const inner = obj[f.name];
      const fieldPath = `${path}.${f.name}`;
      row[f.name] = inner === undefined || inner === null
        ? (f.nullable ? null : missing(fieldPath, inner, slot))
        : convertJson(inner, f.type, fieldPath, slot);
    }
    return row;
  }
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : JSON.stringify(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 ? v : mismatch(v, type, path, slot);
    case 'long':
      return Number.isSafeInteger(v) ? (v as number) : mismatch(v, type, path, slot);
    case 'double':
      return typeof v === 'number' && Number.isFinite(v) ? v : mismatch(v, type, path, slot);
    case 'boolean':
      return typeof v === 'boolean' ? v : mismatch(v, type, path, slot);
    case 'timestamp':
    case 'date': {
      const ms = typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' ? parseTimestamp(v) : NaN;
      if (Number.isNaN(ms)) return mismatch(v, type, path, slot);
      return type === 'date' ? toDay(ms) : ms;
    }
    case 'binary':
      return mismatch(v, type, path, slot);
  }
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Conversion of one CSV field (never empty or the null token: those are null before this is reached). */
function convertText(text: string, type: DataType, path: string, slot: ProblemSlot): Value {
  switch (type) {
    case 'string':
      return text;
    case 'integer':
    case 'long': {
      const n = INTEGER_TEXT.test(text) ? Number(text) : NaN;
      const fits = type === 'long' ? Number.isSafeInteger(n) : Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31;
      return fits ? n : mismatch(text, type, path, slot);
    }
    case 'double':
      return DECIMAL_TEXT.test(text) && Number.isFinite(Number(text)) ? Number(text) : mismatch(text, type, path, slot);
    case 'boolean': {
      const lower = text.toLowerCase();
      return lower === 'true' ? true : lower === 'false' ? false : mismatch(text, type, path, slot);
    }
    case 'timestamp':
    case 'date': {
      const ms = INTEGER_TEXT.test(text) ? Number(text) : parseTimestamp(text);
      if (!Number.isFinite(ms)) return mismatch(text, type, path, slot);
      return type === 'date' ? toDay(ms) : ms;
    }
    default:
      return mismatch(text, type, path, slot);
  }
}

/** Inline type checks for the compiled JSON converter; a value that fails goes to the generic path. */
function jsonFastCheck(type: DataType): string | null {
  switch (type) {
    case 'string': return "typeof v === 'string'";
    case 'integer': return '(v | 0) === v';
    case 'long': return 'Number.isSafeInteger(v)';
    case 'double':
    case 'timestamp': return "typeof v === 'number' && v - v === 0";
    case 'boolean': return "typeof v === 'boolean'";
    default: return null;
  }
}

const key = (name: string): string => (name === '__proto__' ? `["__proto__"]` : JSON.stringify(name));

/** The object literal that ends every compiled converter: schema columns in order, the corrupt-record column null. */
function rowLiteral(schema: Schema, corruptColumn: string | null): string {
  return `{ ${schema.map((f, i) => `${key(f.name)}: ${f.name === corruptColumn ? 'null' : `c${i}`}`).join(', ')} }`;
}

/**
 * Compiles the JSON converter of a schema. `corruptColumn` (if the schema has it) is not read from
 * the record; it stays null for the caller to fill on malformed records.
 */
export function compileJsonConverter(schema: Schema, corruptColumn: string | null): JsonConverter {
  const lines: string[] = ['let v;'];
  schema.forEach((f, i) => {
    if (f.name === corruptColumn) return;
    const onNull = f.nullable ? 'null' : `M(${i}, v, slot)`;
    const fast = jsonFastCheck(f.type);
    let convert = fast === null ? `S(v, ${i}, slot)` : `(${fast} ? v : S(v, ${i}, slot))`;
    if (f.type === 'timestamp') convert = `(${fast} ? v : typeof v === 'string' ? TS(v, ${i}, slot) : S(v, ${i}, slot))`;
    lines.push(`v = o[${JSON.stringify(f.name)}];`, `const c${i} = v === undefined || v === null ? ${onNull} : ${convert};`);
  });
  lines.push(`return ${rowLiteral(schema, corruptColumn)};`);
  const fields = schema as readonly Field[];
  const slow = (v: unknown, i: number, slot: ProblemSlot): Value => convertJson(v, fields[i]!.type, fields[i]!.name, slot);
  const missingAt = (i: number, v: unknown, slot: ProblemSlot): null => missing(fields[i]!.name, v, slot);
  const timestamp = (v: string, i: number, slot: ProblemSlot): Value => {
    const ms = parseTimestamp(v);
    return Number.isNaN(ms) ? mismatch(v, 'timestamp', fields[i]!.name, slot) : ms;
  };
  const factory = new Function('S', 'M', 'TS', `return function convertJson(o, slot) {\n${lines.join('\n')}\n};`);
  return factory(slow, missingAt, timestamp) as JsonConverter;
}

/** Compiles the CSV converter of a schema; fields equal to `nullValue` (and absent ones) are null. */
export function compileCsvConverter(schema: Schema, corruptColumn: string | null, nullValue: string): CsvConverter {
  const lines: string[] = ['let v;'];
  schema.forEach((f, i) => {
    if (f.name === corruptColumn) return;
    const onNull = f.nullable ? 'null' : `M(${i}, v === undefined ? undefined : null, slot)`;
    const convert = f.type === 'string' ? 'v' : `C(v, ${i}, slot)`;
    lines.push(`v = r[ix[${i}]];`, `const c${i} = v === undefined || v === NV ? ${onNull} : ${convert};`);
  });
  lines.push(`return ${rowLiteral(schema, corruptColumn)};`);
  const fields = schema as readonly Field[];
  const slow = (v: string, i: number, slot: ProblemSlot): Value => convertText(v, fields[i]!.type, fields[i]!.name, slot);
  const missingAt = (i: number, v: unknown, slot: ProblemSlot): null => missing(fields[i]!.name, v, slot);
  const factory = new Function('C', 'M', 'NV', `return function convertCsv(r, ix, slot) {\n${lines.join('\n')}\n};`);
  return factory(slow, missingAt, nullValue) as CsvConverter;
}

/** A row of nulls (the corrupt-record column included), for records that could not be parsed at all. */
export function nullRow(schema: Schema): Row {
  const row: Row = {};
  for (const f of schema) row[f.name] = null;
  return row;
}
