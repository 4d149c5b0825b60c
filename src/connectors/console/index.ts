import { registerSink } from '../../sinks/registry.js';
import { createConsoleSink } from './sink.js';

registerSink('console', createConsoleSink);
