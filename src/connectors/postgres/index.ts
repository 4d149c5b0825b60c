import { registerSink } from '../../sinks/registry.js';
import { DEAD_LETTER_PATH } from '../../sinks/rejected-rows.js';
import { DEAD_LETTER_TABLE } from './dead-letter-table.js';
import { PostgresSink } from './sink.js';

export { PostgresSink } from './sink.js';

/** The options the postgres sink reads. */
const POSTGRES_SINK_OPTIONS = ['url', 'table', 'createTable', DEAD_LETTER_PATH, DEAD_LETTER_TABLE];

registerSink('postgres', (spec) => new PostgresSink(spec), { options: POSTGRES_SINK_OPTIONS });
