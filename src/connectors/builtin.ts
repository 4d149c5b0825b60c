// Registers the connectors that ship with weir: one import per connector folder.
import './console/index.js';
import './file/index.js';
import './http/index.js';
import './kafka/index.js';
import './nats/index.js';
import './postgres/index.js';
import './rate/index.js';
