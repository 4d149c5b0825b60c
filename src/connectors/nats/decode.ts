import { DataType, Row, Schema, Value } from '../../common/schema.js';

/** Spark's column for the raw text of a malformed record in PERMISSIVE mode (when the schema has it). */
export const CORRUPT_RECORD = '_corrupt_record';

/**
 * Reads one JSON object as a row of `schema`. Never throws: a field that does not fit its type is
 * null in the row and the first such problem is reported, so each read mode (FAILFAST, DROPMALFORMED,
 * PERMISSIVE) decides from one pass. Timestamps may be epoch milliseconds or ISO-8601 strings.
 */
export function decodeJsonRow(schema: Schema, text: string): { row: Row; problem: string | null } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { row: nullRow(schema), problem: `not JSON (${(err as Error).message})` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { row: nullRow(schema), problem: 'not a JSON object' };
  }
  const problems: string[] = [];
  const row = decodeStruct(schema.filter((f) => f.name !== CORRUPT_RECORD), parsed as Record<string, unknown>, '', problems);
  if (schema.some((f) => f.name === CORRUPT_RECORD)) row[CORRUPT_RECORD] = null;
  return { row, problem: problems[0] ?? null };
}

function nullRow(schema: Schema): Row {
  return Object.fromEntries(schema.map((f) => [f.name, null]));
}

function decodeStruct(fields: Schema, obj: Record<string, unknown>, path: string, problems: string[]): Row {
  const row: Row = {};
  for (const f of fields) row[f.name] = decodeValue(obj[f.name], f.type, `${path}${f.name}`, problems);
  return row;
}

function decodeValue(v: unknown, type: DataType, path: string, problems: string[]): Value {
  if (v === null || v === undefined) return null;
  const bad = (): null => {
    problems.push(`field '${path}' is ${JSON.stringify(v)}, not ${typeof type === 'string' ? `a ${type}` : type.kind}`);
    return null;
  };
  if (typeof type !== 'string') {
    if (type.kind === 'array') {
      return Array.isArray(v) ? v.map((e, i) => decodeValue(e, type.element, `${path}[${i}]`, problems)) : bad();
    }
    return typeof v === 'object' && !Array.isArray(v)
      ? decodeStruct(type.fields, v as Record<string, unknown>, `${path}.`, problems) : bad();
  }
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2 ** 31 ? v : bad();
    case 'long':
      return typeof v === 'number' && Number.isInteger(v) ? v : bad();
    case 'double':
      return typeof v === 'number' ? v : bad();
    case 'boolean':
      return typeof v === 'boolean' ? v : bad();
    case 'timestamp':
    case 'date': {
      const ms = typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' ? Date.parse(v) : NaN;
      if (Number.isNaN(ms)) return bad();
      return type === 'date' ? Math.floor(ms / 86_400_000) * 86_400_000 : ms;
    }
    case 'binary':
      return bad();
  }
}
