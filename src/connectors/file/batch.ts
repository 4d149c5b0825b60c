import { randomBytes } from 'node:crypto';
import { AnalysisError } from '../../common/errors.js';
import { Row, Schema } from '../../common/schema.js';
import { writtenSchema } from './manifest.js';
import { SourceSpec } from '../../sources/source.js';
import { FileFormat, fileReader } from './formats.js';
import { inferCsvSchema, inferJsonSchema } from './infer.js';
import { InputFiles } from './paths.js';
import { RowCollector, writeBadRecords } from './records.js';
import { corruptColumnOf, FileSettings, fileSettings } from './settings.js';

/**
 * `read.format('json' | 'csv' | 'text').load(path)`: reads a file, a folder or a glob once. Without
 * `.schema(...)` the schema is inferred (see infer.ts), except for a json file sink's output folder,
 * which reads back with the schema its manifests recorded. A file sink's output folder yields only the
 * files its manifests list: a batch's files appear all at once, when the batch commits, and files
 * left by a crashed attempt are never read. Malformed records follow option `mode` as in streaming;
 * with `badRecordsPath` they are also written to `<badRecordsPath>/read-<time>-<random>.json`.
 */
export async function readFiles(spec: SourceSpec, format: FileFormat): Promise<{ schema: Schema; rows: Row[] }> {
  const settings = fileSettings(spec, format, false);
  const input = new InputFiles(settings.path, spec.options);
  if (await input.kind() === 'missing') {
    throw new AnalysisError(`Path does not exist: ${input.base} (the ${format} reader's path '${settings.path}'). ` +
      'Check the path, or create the folder first.', 'PATH_NOT_FOUND');
  }
  const listed = await input.list();
  const manifests = await input.sinkManifests();
  // A sink's manifests are already in batch order; other listings are read in name order.
  const paths = manifests !== null ? listed : [...listed].sort();
  // JSON output of a file sink reads back with the types it was written with (its manifests record them).
  const written = manifests !== null && format === 'json' ? writtenSchema(manifests) : null;
  const schema = settings.schema ?? written ?? await infer(paths, settings, input.base);
  const out = new RowCollector({
    mode: settings.mode, corruptColumn: corruptColumnOf(schema, settings), keepBadRecords: settings.badRecordsPath !== null,
  });
  const read = fileReader({ format, schema, corruptColumn: corruptColumnOf(schema, settings), csv: settings.csv });
  for (const path of paths) await read(path, out);
  if (settings.badRecordsPath !== null) {
    const name = `read-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}.json`;
    await writeBadRecords(settings.badRecordsPath, name, out.badRecords);
  }
  return { schema, rows: out.rows };
}

async function infer(paths: readonly string[], settings: FileSettings, base: string): Promise<Schema> {
  const { format } = settings;
  if (paths.length === 0) {
    throw new AnalysisError(`Unable to infer a schema for ${format} at ${base}: it has no files to read. Give the ` +
      "schema with .schema('name TYPE, …').", 'MISSING_SCHEMA');
  }
  return format === 'csv'
    ? inferCsvSchema(paths, settings.csv, settings.inferSchema)
    : inferJsonSchema(paths, settings.mode === 'PERMISSIVE' ? settings.corruptColumnName : null, settings.inferTimestamp);
}
