import { registerSink } from '../../sinks/registry.js';
import { PostgresSink } from './sink.js';

export { PostgresSink } from './sink.js';

registerSink('postgres', (spec) => new PostgresSink(spec));
