// Registers the sinks that ship with weir. One line per connector module.
import './console.js';
import './postgres/index.js';
import './nats/index.js';
import './file/index.js';
