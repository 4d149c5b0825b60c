import { registerSink } from '../../sinks/registry.js';
import { DEAD_LETTER_PATH } from '../../sinks/rejected-rows.js';
import { registerBatchReader, registerSource } from '../../sources/registry.js';
import { readFiles } from './batch.js';
import { FileFormat } from './formats.js';
import { FileSink } from './sink.js';
import { FileSource } from './source.js';

export { FileSource } from './source.js';
export type { FileOffset } from './source.js';
export { readFiles } from './batch.js';
export { isIgnoredName } from './paths.js';
export type { FileFormat } from './formats.js';
export type { ParseMode, BadRecord } from './records.js';
export { FileSink } from './sink.js';
export type { FileSinkFormat } from './sink.js';
export { CommittedManifests, METADATA_FOLDER } from './manifest.js';
export type { Manifest, ManifestFile } from './manifest.js';

/** The options the file readers read, batch and streaming, for all three formats (as Spark, json ignores csv's). */
const FILE_READER_OPTIONS = [
  'mode', 'columnNameOfCorruptRecord', 'badRecordsPath', 'inferSchema', 'inferTimestamp', 'recursiveFileLookup', 'pathGlobFilter',
  'header', 'sep', 'delimiter', 'quote', 'escape', 'comment', 'nullValue',
];
const FILE_SOURCE_OPTIONS = [...FILE_READER_OPTIONS, 'maxFilesPerTrigger', 'compactInterval', 'relistIntervalMs'];
const FILE_SINK_OPTIONS = [
  'maxRecordsPerFile', 'compactInterval', 'ignoreNullFields', 'header', 'sep', 'delimiter', 'quote', 'nullValue', DEAD_LETTER_PATH,
];

for (const format of ['json', 'csv', 'text'] as const satisfies readonly FileFormat[]) {
  registerSource(format, (spec) => new FileSource(spec, format), { options: FILE_SOURCE_OPTIONS });
  registerBatchReader(format, (spec) => readFiles(spec, format), { options: FILE_READER_OPTIONS });
}
registerSink('json', (spec) => new FileSink(spec, 'json'), { options: FILE_SINK_OPTIONS });
registerSink('csv', (spec) => new FileSink(spec, 'csv'), { options: FILE_SINK_OPTIONS });
