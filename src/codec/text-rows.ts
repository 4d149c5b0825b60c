import { AtomicType, Field, Row, Schema, Value } from '../common/schema.js';
import { isDecimalType } from '../common/decimal-type.js';
import { base64Bytes, dayOf, decimalValue, isIntegerValue, isLongValue, isTimestampValue } from './domains.js';
import { rowLiteralCode } from './row-literal.js';
import { parseTimestamp } from './timestamp.js';
import { describeValue, notNullable, notOfType, ProblemSlot } from './value-problems.js';

/**
 * Text fields (CSV) -> rows of a schema, with the type domains and the timestamp parser of the JSON
 * sources: integer and long are decimal digits in the type's range; double a decimal number; boolean
 * true/false in any case; timestamp ISO-8601 text (UTC unless it names an offset) or epoch-ms digits;
 * date the same or a date, truncated to its UTC day; decimal(p,s) a decimal number, rounded half up to s
 * fraction digits, refused beyond p digits. A string column takes the text as is.
 */

/** Fields -> row; `columns[i]` is the field index of schema column i, -1 when the record has no such column. */
export type TextConverter = (fields: readonly string[], columns: Int32Array, slot: ProblemSlot) => Row;

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A field's text as a value of an atomic type; undefined when it is not one (in the type's domain). */
export function textAtomic(text: string, type: AtomicType): Value | undefined {
  if (isDecimalType(type)) return decimalValue(text, type) ?? undefined;
  switch (type) {
    case 'string':
      return text;
    case 'integer':
    case 'long': {
      const n = INTEGER_TEXT.test(text) ? Number(text) + 0 : NaN;
      return (type === 'long' ? isLongValue(n) : isIntegerValue(n)) ? n : undefined;
    }
    case 'double': {
      const n = DECIMAL_TEXT.test(text) ? Number(text) + 0 : NaN;
      return Number.isFinite(n) ? n : undefined;
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      return lower === 'true' ? true : lower === 'false' ? false : undefined;
    }
    case 'timestamp':
    case 'date': {
      const ms = INTEGER_TEXT.test(text) ? Number(text) + 0 : parseTimestamp(text);
      if (!isTimestampValue(ms)) return undefined;
      return type === 'date' ? dayOf(ms) : ms;
    }
    case 'binary':
      return base64Bytes(text);
  }
}

/** Compiles the converter of a schema; fields equal to `nullValue` (and absent ones) are null. */
export function compileTextConverter(schema: Schema, corruptColumn: string | null, nullValue: string): TextConverter {
  const lines: string[] = ['let v;'];
  schema.forEach((f, i) => {
    if (f.name === corruptColumn) return;
    const onNull = f.nullable ? 'null' : `M(${i}, v === undefined ? undefined : null, slot)`;
    const convert = f.type === 'string' ? 'v' : `C(v, ${i}, slot)`;
    lines.push(`v = r[ix[${i}]];`, `const c${i} = v === undefined || v === NV ? ${onNull} : ${convert};`);
  });
  lines.push(`return ${rowLiteralCode(schema, corruptColumn)};`);
  const fields = schema as readonly Field[];
  const convert = (text: string, i: number, slot: ProblemSlot): Value => {
    const f = fields[i]!;
    const value = typeof f.type === 'string' ? textAtomic(text, f.type) : undefined;
    if (value !== undefined) return value;
    slot.problem ??= notOfType([f.name], describeValue(text), f.type);
    return null;
  };
  const missing = (i: number, v: null | undefined, slot: ProblemSlot): null => {
    slot.problem ??= notNullable([fields[i]!.name], v === null);
    return null;
  };
  const factory = new Function('C', 'M', 'NV', `return function convertTextFields(r, ix, slot) {\n${lines.join('\n')}\n};`);
  return factory(convert, missing, nullValue) as TextConverter;
}
