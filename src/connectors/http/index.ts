import { registerSource } from '../../sources/registry.js';
import { HttpSource } from './source.js';

export { HttpSource } from './source.js';

/** The options the http source reads. */
const HTTP_SOURCE_OPTIONS = [
  'port', 'host', 'authToken', 'maxBodyBytes', 'maxBacklogRecords', 'maxRecordsPerTrigger', 'segmentBytes',
  'idempotencyKeys', 'idempotencyWindow', 'authenticateHealth', 'maxConnections', 'headersTimeout', 'requestTimeout', 'wal',
];

registerSource('http', (spec) => new HttpSource(spec), { options: HTTP_SOURCE_OPTIONS });
