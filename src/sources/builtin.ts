// Registers the connectors that ship with weir. One line per connector module.
import './rate.js';
import './nats/index.js';
import './http/index.js';
import './file/index.js';
