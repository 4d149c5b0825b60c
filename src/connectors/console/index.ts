import { registerSink } from '../../sinks/registry.js';
import { createConsoleSink } from './sink.js';

/** The options the console sink reads. */
const CONSOLE_SINK_OPTIONS = ['numRows', 'truncate'];

registerSink('console', createConsoleSink, { options: CONSOLE_SINK_OPTIONS });
