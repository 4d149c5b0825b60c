import { DataType, Field, Row, Schema, Value } from '../../common/schema.js';

/**
 * Turns the JSON records of one request body into rows of the schema, all or nothing: the first
 * record that is not JSON or does not fit the schema is reported with its line, and no row is kept.
 * Type rules: string takes any JSON value (non-strings as their JSON text, as Spark does); integer is a
 * whole number within 32 bits and long a safe integer; double any number; boolean true/false;
 * timestamp epoch milliseconds or an ISO-8601 string (UTC when it names no zone); date the same,
 * truncated to midnight UTC. Missing fields and null are null, unless the column is NOT NULL. Fields
 * the schema does not name are ignored.
 */
export type BodyResult =
  | { readonly ok: true; readonly rows: Row[] }
  | { readonly ok: false; readonly line: number; readonly record: number; readonly reason: string };

class RecordProblem extends Error {}

export function parseBody(text: string, schema: Schema): BodyResult {
  const first = /\S/.exec(text);
  return first?.[0] === '[' ? parseArray(text, schema) : parseLines(text, schema);
}

/** JSON lines: one object per line, blank lines skipped. */
function parseLines(text: string, schema: Schema): BodyResult {
  const rows: Row[] = [];
  let line = 0;
  for (let at = 0; at <= text.length;) {
    const newline = text.indexOf('\n', at);
    const stop = newline < 0 ? text.length : newline;
    const source = text.slice(at, stop);
    line++;
    at = stop + 1;
    if (source.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(source);
    } catch (err) {
      return { ok: false, line, record: rows.length + 1, reason: `not valid JSON (${(err as Error).message})` };
    }
    const problem = convertInto(rows, parsed, schema);
    if (problem !== null) return { ok: false, line, record: rows.length + 1, reason: problem };
  }
  return { ok: true, rows };
}

/** A JSON array of objects. Parsed whole; positions are worked out only to report a bad element. */
function parseArray(text: string, schema: Schema): BodyResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return locateSyntaxError(text, (err as Error).message);
  }
  const items = parsed as unknown[];
  const rows: Row[] = [];
  for (const item of items) {
    const problem = convertInto(rows, item, schema);
    if (problem !== null) {
      const start = elementStarts(text).starts[rows.length] ?? 0;
      return { ok: false, line: lineAt(text, start), record: rows.length + 1, reason: problem };
    }
  }
  return { ok: true, rows };
}

function convertInto(rows: Row[], value: unknown, schema: Schema): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `expected a JSON object, got ${describe(value)}`;
  }
  try {
    rows.push(convertStruct(schema, value as Record<string, unknown>, ''));
    return null;
  } catch (err) {
    if (err instanceof RecordProblem) return err.message;
    throw err;
  }
}

function convertStruct(fields: readonly Field[], obj: Record<string, unknown>, prefix: string): Row {
  const row: Row = {};
  for (const f of fields) {
    const path = `${prefix}${f.name}`;
    const v = obj[f.name];
    if (v === undefined || v === null) {
      if (!f.nullable) throw new RecordProblem(`field '${path}' is ${v === null ? 'null' : 'missing'} but the schema says NOT NULL`);
      row[f.name] = null;
    } else {
      row[f.name] = convertValue(v, f.type, path);
    }
  }
  return row;
}

const ISO_TIME = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/;
const DAY_MS = 86_400_000;

function convertValue(v: unknown, type: DataType, path: string): Value {
  const bad = (): never => {
    throw new RecordProblem(`field '${path}' is ${describe(v)}, not ${typeof type === 'string' ? `a ${type}` : `a ${type.kind}`}`);
  };
  if (typeof type !== 'string') {
    if (type.kind === 'array') {
      if (!Array.isArray(v)) return bad();
      return v.map((e, i) => (e === null ? null : convertValue(e, type.element, `${path}[${i}]`)));
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad();
    return convertStruct(type.fields, v as Record<string, unknown>, `${path}.`);
  }
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : JSON.stringify(v);
    // `+ 0` turns -0 into 0, which is what the row reads back as from the WAL's JSON.
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 ? v + 0 : bad();
    case 'long':
      return typeof v === 'number' && Number.isSafeInteger(v) ? v + 0 : bad();
    case 'double':
      // JSON.parse reads 1e999 as Infinity, which JSON cannot write back: refused rather than replayed as null.
      return typeof v === 'number' && Number.isFinite(v) ? v + 0 : bad();
    case 'boolean':
      return typeof v === 'boolean' ? v : bad();
    case 'timestamp':
    case 'date': {
      const ms = typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' ? parseIsoTime(v) : NaN;
      if (Number.isNaN(ms)) return bad();
      return type === 'date' ? Math.floor(ms / DAY_MS) * DAY_MS + 0 : ms + 0;
    }
    case 'binary':
      return bad();
  }
}

/** Epoch ms of an ISO-8601 date or date-time; NaN when it is not one. No zone means UTC, so a replay never depends on the host. */
function parseIsoTime(s: string): number {
  const m = ISO_TIME.exec(s);
  if (!m) return NaN;
  if (m[2] === undefined) return Date.parse(`${m[1]}T00:00:00Z`);
  return Date.parse(`${m[1]}T${m[2]}${m[3] ?? 'Z'}`);
}

function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * For an array body that is not valid JSON: finds the first element that fails to parse (or where the
 * array's structure breaks) and reports its line.
 */
function locateSyntaxError(text: string, message: string): BodyResult {
  const { starts, ends, brokenAt } = elementStarts(text);
  for (let i = 0; i < starts.length; i++) {
    try {
      JSON.parse(text.slice(starts[i], ends[i]));
    } catch (err) {
      return { ok: false, line: lineAt(text, starts[i]!), record: i + 1, reason: `not valid JSON (${(err as Error).message})` };
    }
  }
  return { ok: false, line: lineAt(text, brokenAt ?? text.length), record: starts.length, reason: `not a valid JSON array (${message})` };
}

/**
 * Start and end positions of the top-level elements of a JSON array text, found by tracking strings and
 * nesting only; `brokenAt` is where the array's own syntax (commas, closing bracket) breaks, if it does.
 */
function elementStarts(text: string): { starts: number[]; ends: number[]; brokenAt: number | null } {
  const starts: number[] = [];
  const ends: number[] = [];
  let i = text.indexOf('[') + 1;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  skipSpace();
  if (text[i] === ']') return { starts, ends, brokenAt: trailing(text, i + 1) };
  while (i < text.length) {
    skipSpace();
    starts.push(i);
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      } else if (c === '{' || c === '[') {
        depth++;
      } else if (c === '}' || c === ']') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) {
        break;
      }
    }
    ends.push(i);
    if (text[i] === ']') return { starts, ends, brokenAt: trailing(text, i + 1) };
    if (text[i] !== ',') return { starts, ends, brokenAt: i };
    i++;
  }
  return { starts, ends, brokenAt: text.length };
}

/** Position of anything but white space after the closing bracket, or null. */
function trailing(text: string, from: number): number | null {
  const m = /\S/.exec(text.slice(from));
  return m ? from + m.index : null;
}

function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at >= 0 && at < pos; at = text.indexOf('\n', at + 1)) line++;
  return line;
}
