import { AtomicType, Field, Schema } from '../../common/schema.js';
import { parseTimestamp } from '../../codec/timestamp.js';
import { CsvSettings, forEachCsvRecord } from './formats.js';
import { forEachLine, readWholeFile } from './lines.js';

/**
 * Schema inference for batch reads without `.schema(...)`, as Spark does it. JSON: the union of the
 * objects' keys, sorted by name; a key whose values are all whole numbers is a long, numbers a double,
 * booleans a boolean, anything else (mixed types, strings, nested objects and arrays) a string. When
 * some lines are not JSON objects the schema also gets the corrupt-record column, so PERMISSIVE reads
 * can show them. CSV: the header's names (or `_c0`, `_c1`, … without a header), all strings unless
 * `inferSchema` is true, which picks integer, long, double, boolean or timestamp per column when every
 * non-null value fits.
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

function jsonKind(v: unknown): Kind {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'long' : 'double';
  return 'string';
}

function fieldsOf(kinds: Map<string, Kind>, names: Iterable<string>): Field[] {
  return [...names].map((name) => {
    const kind = kinds.get(name) ?? 'null';
    return { name, type: kind === 'null' ? 'string' : kind, nullable: true };
  });
}

export async function inferJsonSchema(paths: readonly string[], corruptColumnName: string | null): Promise<Schema> {
  const kinds = new Map<string, Kind>();
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
      for (const [name, value] of Object.entries(record)) kinds.set(name, widen(kinds.get(name) ?? 'null', jsonKind(value)));
    });
  }
  const names = [...kinds.keys()].filter((n) => n !== corruptColumnName).sort();
  const schema = fieldsOf(kinds, names);
  if (malformed && corruptColumnName !== null) schema.push({ name: corruptColumnName, type: 'string', nullable: true });
  return schema;
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
  // A time of day is required: bare dates stay strings, as in Spark.
  if (/^\d{4}-\d{2}-\d{2}[T ]\d/.test(text) && !Number.isNaN(parseTimestamp(text))) return 'timestamp';
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
