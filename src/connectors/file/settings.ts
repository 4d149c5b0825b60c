import { AnalysisError } from '../../common/errors.js';
import { Options } from '../../common/options.js';
import { Schema, typeToString } from '../../common/schema.js';
import { SourceSpec } from '../../sources/source.js';
import { CsvSettings, FileFormat } from './formats.js';
import { PARSE_MODES, ParseMode } from './records.js';

/** The options of the json, csv and text file sources, checked once when the source is created. */
export interface FileSettings {
  readonly format: FileFormat;
  readonly path: string;
  readonly options: Options;
  /** Null only for a batch read of json/csv without a schema: it is then inferred from the files. */
  readonly schema: Schema | null;
  readonly mode: ParseMode;
  /** Spark's `columnNameOfCorruptRecord` (default `_corrupt_record`): filled only if the schema has it. */
  readonly corruptColumnName: string;
  readonly badRecordsPath: string | null;
  readonly inferSchema: boolean;
  /** Spark's json option: infer timestamp text as TIMESTAMP rather than STRING (off by default, as in Spark). */
  readonly inferTimestamp: boolean;
  readonly csv: CsvSettings;
}

const TEXT_SCHEMA: Schema = [{ name: 'value', type: 'string', nullable: true }];

export function fileSettings(spec: SourceSpec, format: FileFormat, streaming: boolean): FileSettings {
  const { options } = spec;
  const what = `${format} ${streaming ? 'source' : 'reader'}`;
  const path = spec.path ?? '';
  if (path === '') {
    throw new AnalysisError(`The ${what} needs a path: call .load('data/events') or set option 'path' ` +
      `(a folder${streaming ? '' : ', a file'} or a glob such as 'data/*.${format}').`, 'MISSING_PATH');
  }
  const corruptColumnName = options.string('columnNameOfCorruptRecord', '_corrupt_record');
  const csv: CsvSettings = {
    header: options.boolean('header', true),
    delimiter: nonEmpty(options, options.has('sep') ? 'sep' : 'delimiter', ','),
    quote: nonEmpty(options, 'quote', '"'),
    escape: nonEmpty(options, 'escape', '"'),
    comment: options.string('comment') || null,
    nullValue: options.string('nullValue', ''),
  };
  return {
    format, path, options, corruptColumnName, csv,
    schema: resolveSchema(spec.schema, format, path, streaming, corruptColumnName),
    mode: options.oneOf('mode', PARSE_MODES, 'PERMISSIVE'),
    badRecordsPath: options.string('badRecordsPath') || null,
    inferSchema: options.boolean('inferSchema', false),
    inferTimestamp: options.boolean('inferTimestamp', false),
  };
}

function nonEmpty(options: Options, name: string, fallback: string): string {
  const value = options.string(name, fallback);
  if (value === '') throw new AnalysisError(`Option '${name}' of the csv source must not be empty.`, 'INVALID_OPTION');
  return value;
}

function resolveSchema(schema: Schema | null, format: FileFormat, path: string, streaming: boolean,
  corruptColumnName: string): Schema | null {
  if (format === 'text') {
    if (schema === null) return TEXT_SCHEMA;
    if (schema.length !== 1 || schema[0]!.type !== 'string') {
      throw new AnalysisError(`The text source for '${path}' has the fixed schema 'value STRING' (one row per line); ` +
        `it cannot read it as '${schema.map((f) => `${f.name} ${typeToString(f.type)}`).join(', ')}'. Drop .schema(...), ` +
        `or read format('csv') or format('json') to split lines into columns.`, 'INVALID_SCHEMA');
    }
    return schema;
  }
  if (schema === null) {
    if (!streaming) return null;
    throw new AnalysisError(`The ${format} source for '${path}' needs a schema: streaming file sources do not infer ` +
      `one. Call .schema('ts TIMESTAMP, user STRING, amount DOUBLE') (your columns) before load().`, 'MISSING_SCHEMA');
  }
  const corrupt = schema.find((f) => f.name === corruptColumnName);
  if (corrupt && corrupt.type !== 'string') {
    throw new AnalysisError(`Column '${corruptColumnName}' of the ${format} source for '${path}' receives the raw text of ` +
      `malformed records, so it must be a string, not ${typeToString(corrupt.type)}.`, 'INVALID_SCHEMA');
  }
  if (format === 'csv') {
    const nested = schema.filter((f) => typeof f.type !== 'string');
    if (nested.length > 0) {
      throw new AnalysisError(`The csv source for '${path}' cannot read column(s) ${nested.map((f) => `'${f.name}'`).join(', ')} ` +
        'of a struct or array type: CSV fields are flat. Read them as strings, or use format(\'json\').', 'INVALID_SCHEMA');
    }
  }
  return schema;
}

/** The corrupt-record column of a schema: the configured name if the schema has it, otherwise none. */
export function corruptColumnOf(schema: Schema, settings: FileSettings): string | null {
  return settings.format !== 'text' && schema.some((f) => f.name === settings.corruptColumnName)
    ? settings.corruptColumnName : null;
}
