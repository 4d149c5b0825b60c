import { DataType, Row, Schema, Value } from '../../common/schema.js';
import { rowJson } from '../../sinks/rejected-rows.js';
import { fieldReadCode } from '../../codec/fields.js';
import { base64Of, hasDecimals, hasTextEncodedValues, timeText, valueJson, withTextValues } from '../../codec/json-values.js';
import { isDecimalType } from '../../common/decimal-type.js';

/**
 * Row serialisers of the file sinks, compiled once per schema. Timestamps are written as ISO-8601
 * UTC strings (`2024-01-01T00:00:00.000Z`), dates as `YYYY-MM-DD`, structs (such as a window) as
 * nested JSON objects with their timestamps ISO too; JSON's missing NaN and infinities as the strings
 * Spark writes; binary values as their base64 text (which the file source reads back as BINARY). Rows reach them checked (value-domain.ts): every
 * timestamp and date is within years 0001-9999, which ISO-8601 writes with four-digit years.
 */
export type RowEncoder = (row: Row) => string;

/** JS expression writing the JSON text of `v`, a non-null value of column `i` of type `t`. */
function jsonValue(t: DataType, i: number): string {
  if (t === 'timestamp' || t === 'date') return `'"' + T(v, ${i}) + '"'`;
  if (t === 'boolean') return "(v ? 'true' : 'false')";
  if (t === 'binary') return `'"' + N(v, ${i}) + '"'`;
  // A decimal is a JSON number with every digit (`12.50`), as Spark writes it.
  if (isDecimalType(t)) return "v.toString()";
  if (hasDecimals(t)) return `D(v, ${i})`;
  // JSON has no NaN or Infinity: written as the strings "NaN", "Infinity", "-Infinity", as Spark does.
  if (t === 'integer' || t === 'long' || t === 'double') return "(v - v === 0 ? '' + v : '\"' + v + '\"')";
  if (typeof t !== 'string' && hasTextEncodedValues(t)) return `J(N(v, ${i}))`;
  return typeof t === 'string' ? 'JSON.stringify(v)' : 'J(v)';
}

/**
 * One JSON object per row, keys in schema order. With `ignoreNullFields` (Spark's default) null
 * fields are left out; a reader with a schema reads them back as null either way.
 */
export function compileJsonEncoder(schema: Schema, ignoreNullFields: boolean): RowEncoder {
  const lines = ["let v, s = '';"];
  schema.forEach((f, i) => {
    const prefix = JSON.stringify(`,${JSON.stringify(f.name)}:`);
    lines.push(`v = ${fieldReadCode('r', f.name)};`);
    lines.push(ignoreNullFields
      ? `if (v !== null && v !== undefined) s += ${prefix} + ${jsonValue(f.type, i)};`
      : `s += ${prefix} + (v === null || v === undefined ? 'null' : ${jsonValue(f.type, i)});`);
  });
  lines.push("return s === '' ? '{}' : '{' + s.slice(1) + '}';");
  const time = (v: Value, i: number): string => timeText(v, schema[i]!.type === 'date');
  const nested = (v: Value, i: number): Value => withTextValues(v, schema[i]!.type);
  const withDecimals = (v: Value, i: number): string => valueJson(v, schema[i]!.type);
  return new Function('T', 'N', 'J', 'D', `return function encodeJson(r) {\n${lines.join('\n')}\n};`)(
    time, nested, rowJson, withDecimals) as RowEncoder;
}

export interface CsvWriteSettings {
  readonly header: boolean;
  readonly delimiter: string;
  readonly quote: string;
  readonly nullValue: string;
}

/**
 * CSV text of a field: quoted (quotes doubled) when it holds the delimiter, a quote or a line break,
 * and when it is empty, so an empty string stays distinct from null (written as `nullValue`).
 */
function csvQuoter(settings: CsvWriteSettings): (text: string) => string {
  const { delimiter, quote } = settings;
  const doubled = quote + quote;
  return (text) => (text === '' || text.includes(delimiter) || text.includes(quote) || text.includes('\n') || text.includes('\r')
    ? quote + text.split(quote).join(doubled) + quote : text);
}

/** One CSV line per row, columns in schema order; `header` is the line of column names. */
export function compileCsvEncoder(schema: Schema, settings: CsvWriteSettings): { header: string; encode: RowEncoder } {
  const quoteText = csvQuoter(settings);
  const sep = JSON.stringify(settings.delimiter);
  const parts = schema.map((f, i) => {
    const value = f.type === 'timestamp' || f.type === 'date' ? `T(v, ${i})` : f.type === 'binary' ? 'B(v)'
      : f.type === 'string' ? 'Q(v)' : f.type === 'boolean' ? "(v ? 'true' : 'false')" : "('' + v)";
    return `((v = ${fieldReadCode('r', f.name)}) === null || v === undefined ? NV : ${value})`;
  });
  const body = `let v;\nreturn ${parts.length === 0 ? "''" : parts.join(` + ${sep} + `)};`;
  const time = (v: Value, i: number): string => timeText(v, schema[i]!.type === 'date');
  // A lone empty field would be an empty line, which readers skip: a one-column null is written quoted.
  const nullText = schema.length === 1 && settings.nullValue === '' ? settings.quote + settings.quote : settings.nullValue;
  const encode = new Function('T', 'Q', 'NV', 'B', `return function encodeCsv(r) {\n${body}\n};`)(
    time, (v: Value) => quoteText(String(v)), nullText, base64Of) as RowEncoder;
  return { header: schema.map((f) => quoteText(f.name)).join(settings.delimiter), encode };
}
