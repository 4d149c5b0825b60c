import { registerSink } from '../../sinks/registry.js';
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

for (const format of ['json', 'csv', 'text'] as const satisfies readonly FileFormat[]) {
  registerSource(format, (spec) => new FileSource(spec, format));
  registerBatchReader(format, (spec) => readFiles(spec, format));
}
registerSink('json', (spec) => new FileSink(spec, 'json'));
registerSink('csv', (spec) => new FileSink(spec, 'csv'));
