import { JsonRowReader } from '../../codec/json-rows.js';
import { Row } from '../../common/schema.js';

/**
 * Splits one request body into its JSON records and converts them with the schema's row reader, all
 * or nothing: the first record that is not JSON or does not fit the schema is reported with its line,
 * and no row is kept. A body is JSON lines (one object per line, blank lines skipped) or a JSON array
 * of objects.
 */
export type BodyResult =
  | { readonly ok: true; readonly rows: Row[] }
  | { readonly ok: false; readonly line: number; readonly record: number; readonly reason: string };

export function parseBody(text: string, reader: JsonRowReader): BodyResult {
  const first = /\S/.exec(text);
  return first?.[0] === '[' ? parseArray(text, reader) : parseLines(text, reader);
}

function parseLines(text: string, reader: JsonRowReader): BodyResult {
  const rows: Row[] = [];
  let line = 0;
  for (let at = 0; at <= text.length;) {
    const newline = text.indexOf('\n', at);
    const stop = newline < 0 ? text.length : newline;
    const source = text.slice(at, stop);
    line++;
    at = stop + 1;
    if (source.trim() === '') continue;
    const row = reader.readText(source);
    if (reader.problem !== null) return { ok: false, line, record: rows.length + 1, reason: reader.problem };
    rows.push(row);
  }
  return { ok: true, rows };
}

/** A JSON array of objects. Parsed whole; positions are worked out only to report a bad element. */
function parseArray(text: string, reader: JsonRowReader): BodyResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return locateSyntaxError(text, (err as Error).message);
  }
  const items = parsed as unknown[];
  const rows: Row[] = [];
  for (let i = 0; i < items.length; i++) {
    const row = reader.readElement(items[i], text, i);
    if (reader.problem !== null) {
      const start = elementStarts(text).starts[i] ?? 0;
      return { ok: false, line: lineAt(text, start), record: i + 1, reason: reader.problem };
    }
    rows.push(row);
  }
  return { ok: true, rows };
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
