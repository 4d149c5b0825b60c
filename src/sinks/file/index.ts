import { registerSink } from '../registry.js';
import { FileSink } from './sink.js';

export { FileSink } from './sink.js';
export type { FileSinkFormat } from './sink.js';
export { CommittedManifests, METADATA_FOLDER } from './manifest.js';
export type { Manifest, ManifestFile } from './manifest.js';

registerSink('json', (spec) => new FileSink(spec, 'json'));
registerSink('csv', (spec) => new FileSink(spec, 'csv'));
