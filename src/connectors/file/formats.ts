import { CsvError, parse, type Options as CsvParseOptions } from 'csv-parse/sync';
import { Row, Schema } from '../../common/schema.js';
import { nullRow } from '../../codec/fields.js';
import { JsonRowReader } from '../../codec/json-rows.js';
import { compileTextConverter } from '../../codec/text-rows.js';
import { ProblemSlot } from '../../codec/value-problems.js';
import { forEachLine, LineRange, readWholeFile } from './lines.js';
import { RowCollector } from './records.js';

export type FileFormat = 'json' | 'csv' | 'text';

export interface CsvSettings {
  /** The first record of each file names the columns; schema columns are matched to it by name. */
  readonly header: boolean;
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly comment: string | null;
  /** The field text that reads as null (default: the empty field). */
  readonly nullValue: string;
}

export interface FormatSettings {
  readonly format: FileFormat;
  readonly schema: Schema;
  readonly corruptColumn: string | null;
  readonly csv: CsvSettings;
  /** Columns the query does not read: a JSON reader leaves them null unchecked (other formats read every column). */
  readonly unreadColumns?: ReadonlySet<string>;
  /** A JSON reader keeps only the well-formed rows that pass this test (a query filter pushed into the scan). */
  readonly keep?: ((row: Row) => boolean) | null;
}

/** How much of a file a read covered. */
export interface ReadExtent {
  /** Bytes read (see {@link forEachLine} for a range). */
  readonly bytes: number;
  /** Lines read, for the formats read line by line; null for csv (read whole, never by range). */
  readonly lines: number | null;
}

/**
 * Reads one file's records into `out`; with `length`, only the file's first `length` bytes (the prefix
 * a streaming source admitted); with `range` too, only the lines that start in it (json and text only:
 * a csv record may span lines). Line numbers given to `out` then count from the range's first line.
 */
export type FileReader = (path: string, out: RowCollector, length?: number, range?: LineRange) => Promise<ReadExtent>;

/** Whether a format's files can be split into line ranges read apart. */
export function readsByLine(format: FileFormat): boolean {
  return format !== 'csv';
}

/** A reader for a format and schema; converters are compiled here, once. */
export function fileReader(settings: FormatSettings): FileReader {
  switch (settings.format) {
    case 'json': return jsonReader(settings.schema, settings.corruptColumn, settings.unreadColumns, settings.keep ?? null);
    case 'csv': return csvReader(settings.schema, settings.corruptColumn, settings.csv);
    case 'text': return textReader(settings.schema[0]!.name);
  }
}

function jsonReader(schema: Schema, corruptColumn: string | null, unread: ReadonlySet<string> | undefined,
  keep: ((row: Row) => boolean) | null): FileReader {
  const reader = new JsonRowReader(schema, corruptColumn, unread);
  const blank = (): Row => nullRow(schema);
  return async (path, out, length, range) => {
    const rows = out.rows;
    let lines = 0;
    const bytes = await forEachLine(path, (line, lineNumber) => {
      lines = lineNumber;
      if (line.length === 0) return;
      const row = reader.readText(line);
      if (reader.problem === null) {
        if (keep === null || keep(row)) rows.push(row);
      }
      else if (line.trim() !== '') out.malformed(path, lineNumber, reader.problem, line, row, blank);
    }, length, range);
    return { bytes, lines };
  };
}

/** Text: one row per line (empty lines included), the line in the schema's single string column. */
function textReader(column: string): FileReader {
  return async (path, out, length, range) => {
    const rows = out.rows;
    const before = rows.length;
    const bytes = await forEachLine(path, (line) => {
      rows.push({ [column]: line });
    }, length, range);
    return { bytes, lines: rows.length - before };
  };
}

/** csv-parse options shared by reading and schema inference. */
export function csvParseOptions(csv: CsvSettings): CsvParseOptions {
  return {
    delimiter: csv.delimiter, quote: csv.quote, escape: csv.escape, comment: csv.comment ?? undefined,
    relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'],
  };
}

/**
 * Calls `onRecord(fields, start, end)` for every CSV record of `data` (byte offsets of the record;
 * `end` includes its line break), and `onBroken(start, end, reason)` for text that is not valid CSV.
 * csv-parse gives up at the first syntax error, so after one the broken record is taken to be the
 * physical line it starts on, and parsing resumes on the next line.
 */
export function forEachCsvRecord(data: Buffer, csv: CsvSettings,
  onRecord: (fields: string[], start: number, end: number) => void,
  onBroken: (start: number, end: number, reason: string) => void): void {
  let from = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? 3 : 0;
  let segment = from;
  const options = {
    ...csvParseOptions(csv),
    on_record: (fields: string[], context: { bytes: number }): null => {
      const end = segment + context.bytes;
      onRecord(fields, from, end);
      from = end;
      return null;
    },
  };
  while (from < data.length) {
    try {
      parse(data.subarray(segment), options);
      return;
    } catch (err) {
      if (!(err instanceof CsvError)) throw err;
      const start = recordStart(data, from, csv.comment);
      const newline = data.indexOf(10, start);
      const end = newline < 0 ? data.length : newline + 1;
      if (start < data.length) onBroken(start, end, `not valid CSV (${err.message.replace(/ at line \d+/, '')})`);
      from = segment = end;
    }
  }
}

/** Skips the empty and comment lines csv-parse skipped before the record that starts at or after `from`. */
export function recordStart(data: Buffer, from: number, comment: string | null): number {
  let at = from;
  for (;;) {
    while (at < data.length && (data[at] === 10 || data[at] === 13)) at++;
    if (comment === null || at >= data.length || data.toString('utf8', at, at + Buffer.byteLength(comment)) !== comment) return at;
    const newline = data.indexOf(10, at);
    at = newline < 0 ? data.length : newline + 1;
  }
}

/** The text of a record for messages and bad-records files: without its line break. */
export function recordText(data: Buffer, start: number, end: number): string {
  return data.toString('utf8', start, end).replace(/\r?\n$/, '');
}

/** 1-based line numbers of byte offsets asked for in increasing order, counted incrementally. */
export class LineCounter {
  private at = 0;
  private line = 1;

  constructor(private readonly data: Buffer) {}

  lineAt(offset: number): number {
    for (let nl = this.data.indexOf(10, this.at); nl >= 0 && nl < offset; nl = this.data.indexOf(10, nl + 1)) {
      this.line++;
      this.at = nl + 1;
    }
    return this.line;
  }
}

/** Which field each schema column reads: by header name (exact, then ignoring case), else by position. */
function columnIndexes(schema: Schema, corruptColumn: string | null, header: readonly string[] | null): Int32Array {
  const ix = new Int32Array(schema.length).fill(-1);
  let position = 0;
  schema.forEach((f, i) => {
    if (f.name === corruptColumn) return;
    if (header === null) {
      ix[i] = position++;
      return;
    }
    const exact = header.indexOf(f.name);
    ix[i] = exact >= 0 ? exact : header.findIndex((h) => h.toLowerCase() === f.name.toLowerCase());
  });
  return ix;
}

function csvReader(schema: Schema, corruptColumn: string | null, csv: CsvSettings): FileReader {
  const convert = compileTextConverter(schema, corruptColumn, csv.nullValue);
  const dataColumns = schema.filter((f) => f.name !== corruptColumn).length;
  const positional = columnIndexes(schema, corruptColumn, null);
  const blank = (): Row => nullRow(schema);
  return async (path, out, length, range) => {
    if (range !== undefined) throw new Error('a csv file is read whole: its records may span lines');
    const data = await readWholeFile(path, length);
    const lines = new LineCounter(data);
    const slot: ProblemSlot = { problem: null };
    let header: string[] | null = null;
    let ix = positional;
    let width = dataColumns;
    const rows = out.rows;
    const bad = (start: number, end: number, reason: string, partial: Row | null): void => {
      const at = recordStart(data, start, csv.comment);
      out.malformed(path, lines.lineAt(at), reason, recordText(data, at, end), partial, blank);
    };
    forEachCsvRecord(data, csv, (fields, start, end) => {
      if (csv.header && header === null) {
        header = fields;
        ix = columnIndexes(schema, corruptColumn, header);
        width = header.length;
        return;
      }
      // A line of blanks is an empty line, not a record of one blank field.
      if (fields.length === 1 && width !== 1 && fields[0]!.trim() === '') return;
      const row = convert(fields, ix, slot);
      if (fields.length !== width) {
        slot.problem = null;
        bad(start, end, `it has ${fields.length} fields where the ${header ? 'header' : 'schema'} has ${width}`, row);
      } else if (slot.problem !== null) {
        const reason = slot.problem;
        slot.problem = null;
        bad(start, end, reason, row);
      } else {
        rows.push(row);
      }
    }, (start, end, reason) => bad(start, end, reason, null));
    return { bytes: data.length, lines: null };
  };
}
