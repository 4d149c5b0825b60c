import { registerSink } from '../../sinks/registry.js';
import { PostgresSink } from './sink.js';

export { PostgresSink } from './sink.js';

/** The options the postgres sink reads. */
const POSTGRES_SINK_OPTIONS = ['url', 'table', 'createTable'];

registerSink('postgres', (spec) => new PostgresSink(spec), { options: POSTGRES_SINK_OPTIONS });
