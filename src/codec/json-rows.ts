import { errorMessage } from '../common/errors.js';
import { AtomicType, DataType, Row, Schema, Value } from '../common/schema.js';
import { isDecimalType } from '../common/decimal-type.js';
import { base64Bytes, dayOf, decimalValue, isIntegerValue, isLongValue, isTimestampValue, TIMESTAMP_MAX_MS, TIMESTAMP_MIN_MS } from './domains.js';
import { fieldReadCode, nullRow, ownValue, setField } from './fields.js';
import { arrayElementStarts, JsonPathPart, valueTextAt } from './json-text.js';
import { rowLiteralCode } from './row-literal.js';
import { parseTimestamp } from './timestamp.js';
import { describeValue, notNullable, notOfType, ProblemSlot } from './value-problems.js';

/**
 * JSON records -> rows of a schema, the one conversion every JSON source uses (file json, HTTP, NATS).
 * Per schema, the reader compiles straight-line code that reads each column, checks the common case
 * inline and builds the row as one object literal; values that fail the inline check take the generic
 * path, which converts them when they are in the column's domain (see domains.ts) or records the problem.
 *
 * Rules. A missing field or null is null; for a NOT NULL column it is a problem. Fields the schema does
 * not name are ignored. string: a JSON string as is; a number, object or array as its text in the record
 * (Spark keeps it exactly: a 64-bit id stays all its digits), true/false as text. integer, long: a whole
 * number in the type's range; double: any finite number; boolean: true/false. timestamp: epoch
 * milliseconds (a fraction of a millisecond is dropped) or ISO-8601 text, UTC unless it names an offset;
 * date: the same or a date, truncated to its UTC day. Both within years 0001-9999. decimal(p,s): a JSON
 * number, read from its text so no digit is lost, or a string holding one; rounded half up to s fraction
 * digits and refused beyond p digits. struct: a JSON object,
 * its fields by the same rules; array: a JSON array; map: a JSON object, every value of the map's value type.
 */

type CompiledConverter = (record: object, reader: JsonRowReader) => Row;

export class JsonRowReader implements ProblemSlot {
  /** The first problem of the record read last; null when it fit the schema. */
  problem: string | null = null;
  private readonly convert: CompiledConverter;
  /** `[name]` of each column, made once: the path of a top-level value in messages and text lookups. */
  private readonly columnPaths: readonly (readonly JsonPathPart[])[];
  /** The JSON text holding the current record, and which element of it the record is (-1: the whole text). */
  private text = '';
  private element = -1;
  /** Element starts of the last array text asked about, so each element is not searched from the start. */
  private startsOf: string | null = null;
  private starts: number[] = [];

  /**
   * `corruptColumn`, when the schema has it, is not read from records; it stays null for the caller to
   * fill. Columns in `unread` (those a query does not use) stay null too, and their values are not
   * checked: a record is still refused when it is not a JSON object or not valid JSON.
   */
  constructor(private readonly schema: Schema, corruptColumn: string | null = null, unread: ReadonlySet<string> = new Set()) {
    this.convert = compileConverter(schema, corruptColumn, unread);
    this.columnPaths = schema.map((f) => [f.name]);
  }

  /**
   * One record's JSON text as a row. When `problem` is set after the call, the row holds null where a
   * field did not fit (all nulls when the text is not a JSON object).
   */
  readText(text: string): Row {
    this.problem = null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.problem = `not valid JSON (${errorMessage(err)})`;
      return nullRow(this.schema);
    }
    this.text = text;
    this.element = -1;
    return this.readParsed(value);
  }

  /** Element `index` (already parsed as `value`) of the JSON array `arrayText`; as `readText`. */
  readElement(value: unknown, arrayText: string, index: number): Row {
    this.problem = null;
    this.text = arrayText;
    this.element = index;
    return this.readParsed(value);
  }

  private readParsed(value: unknown): Row {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.problem = `expected a JSON object, got ${describeValue(value)}`;
      return nullRow(this.schema);
    }
    return this.convert(value, this);
  }

  // The next three are called by the compiled converter, with the schema column's index.

  /** The generic conversion of a value that failed its column's inline check. */
  columnValue(v: unknown, column: number): Value {
    return this.convertValue(v, this.schema[column]!.type, this.columnPaths[column]!);
  }

  columnTimestamp(text: string, column: number): Value {
    const ms = parseTimestamp(text);
    return Number.isNaN(ms) ? this.mismatch(text, 'timestamp', this.columnPaths[column]!) : ms;
  }

  columnMissing(column: number, v: null | undefined): null {
    return this.missing(this.columnPaths[column]!, v);
  }

  private convertValue(v: unknown, type: DataType, where: readonly JsonPathPart[]): Value {
    if (typeof type !== 'string') {
      if (type.kind === 'array') {
        if (!Array.isArray(v)) return this.mismatch(v, type, where);
        return v.map((e: unknown, i) => (e === null ? null : this.convertValue(e, type.element, [...where, i])));
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return this.mismatch(v, type, where);
      if (type.kind === 'map') {
        const map: Row = {};
        for (const [key, inner] of Object.entries(v)) {
          setField(map, key, inner === null ? null : this.convertValue(inner, type.value, [...where, key]));
        }
        return map;
      }
      const row: Row = {};
      for (const f of type.fields) {
        const inner = ownValue(v as Record<string, unknown>, f.name);
        const at = [...where, f.name];
        setField(row, f.name, inner === undefined || inner === null
          ? (f.nullable ? null : this.missing(at, inner)) : this.convertValue(inner, f.type, at));
      }
      return row;
    }
    if (isDecimalType(type)) {
      // JSON.parse has rounded a long number to a double: the digits are read from the record's text.
      const text = typeof v === 'number' ? this.writtenText(where) : typeof v === 'string' ? v : null;
      return (text === null ? null : decimalValue(text, type)) ?? this.mismatch(v, type, where);
    }
    const converted = jsonAtomic(v, type);
    if (converted !== undefined) return converted;
    if (type === 'string') return this.writtenText(where) ?? JSON.stringify(v);
    return this.mismatch(v, type, where);
  }

  /** The text of the value at `where` in the current record, as the record writes it. */
  private writtenText(where: readonly JsonPathPart[]): string | null {
    if (this.element < 0) return valueTextAt(this.text, 0, where);
    if (this.startsOf !== this.text) {
      this.starts = arrayElementStarts(this.text);
      this.startsOf = this.text;
    }
    return valueTextAt(this.text, this.starts[this.element] ?? 0, where);
  }

  private mismatch(v: unknown, type: DataType, where: readonly JsonPathPart[]): null {
    if (this.problem === null) {
      this.problem = notOfType(where, describeValue(v, typeof v === 'number' ? this.writtenText(where) : null), type);
    }
    return null;
  }

  private missing(where: readonly JsonPathPart[], v: null | undefined): null {
    if (this.problem === null) this.problem = notNullable(where, v === null);
    return null;
  }
}

/** A parsed JSON value as a value of an atomic type; undefined when it is not in the type's domain (or, for string, needs its text). */
function jsonAtomic(v: unknown, type: AtomicType): Value | undefined {
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : undefined;
    // `+ 0` turns -0 into 0, which is what the value reads back as from any JSON log or sink.
    case 'integer':
      return typeof v === 'number' && isIntegerValue(v) ? v + 0 : undefined;
    case 'long':
      return typeof v === 'number' && isLongValue(v) ? v + 0 : undefined;
    case 'double':
      // JSON.parse reads 1e999 as Infinity, which JSON cannot write back: refused rather than replayed as null.
      return typeof v === 'number' && Number.isFinite(v) ? v + 0 : undefined;
    case 'boolean':
      return typeof v === 'boolean' ? v : undefined;
    case 'timestamp':
    case 'date': {
      const ms = typeof v === 'number' ? Math.floor(v) + 0 : typeof v === 'string' ? parseTimestamp(v) : NaN;
      if (!isTimestampValue(ms)) return undefined;
      return type === 'date' ? dayOf(ms) : ms;
    }
    case 'binary':
      return typeof v === 'string' ? base64Bytes(v) : undefined;
  }
}

/** The inline check and conversion of column `i`'s value `v`, for the types whose common case is one. */
function columnCode(type: DataType, i: number): string {
  const slow = `rd.columnValue(v, ${i})`;
  switch (type) {
    case 'string': return `(typeof v === 'string' ? v : ${slow})`;
    case 'integer': return `((v | 0) === v ? v + 0 : ${slow})`;
    case 'long': return `(Number.isSafeInteger(v) ? v + 0 : ${slow})`;
    case 'double': return `(typeof v === 'number' && v - v === 0 ? v + 0 : ${slow})`;
    case 'boolean': return `(typeof v === 'boolean' ? v : ${slow})`;
    case 'timestamp':
      return `(typeof v === 'number' && v >= ${TIMESTAMP_MIN_MS} && v <= ${TIMESTAMP_MAX_MS} && Math.floor(v) === v ? v + 0 : ` +
        `typeof v === 'string' ? rd.columnTimestamp(v, ${i}) : ${slow})`;
    default: return slow;
  }
}

function compileConverter(schema: Schema, corruptColumn: string | null, unread: ReadonlySet<string>): CompiledConverter {
  const lines: string[] = ['let v;'];
  schema.forEach((f, i) => {
    if (f.name === corruptColumn) return;
    if (unread.has(f.name)) {
      lines.push(`const c${i} = null;`);
      return;
    }
    const onNull = f.nullable ? 'null' : `rd.columnMissing(${i}, v)`;
    lines.push(`v = ${fieldReadCode('o', f.name)};`, `const c${i} = v === undefined || v === null ? ${onNull} : ${columnCode(f.type, i)};`);
  });
  lines.push(`return ${rowLiteralCode(schema, corruptColumn)};`);
  return new Function(`return function convertJsonRecord(o, rd) {\n${lines.join('\n')}\n};`)() as CompiledConverter;
}
