import { registerCheckpointStorage } from '../../checkpoint/registry.js';
import { registerSink } from '../../sinks/registry.js';
import { DEAD_LETTER_PATH } from '../../sinks/rejected-rows.js';
import { registerIngestLog } from '../../sources/ingest-log.js';
import { registerSource } from '../../sources/registry.js';
import { JetStreamIngestLog } from './ingest-log.js';
import { JetStreamStorage } from './jetstream-storage.js';
import { NatsSink } from './sink.js';
import { NatsSource } from './source.js';

export { NatsSink } from './sink.js';
export { NatsSource } from './source.js';

/** The options the nats source and sink read. */
const NATS_SOURCE_OPTIONS = ['url', 'stream', 'subject', 'maxRecordsPerTrigger', 'startingSequence', 'mode', 'failOnDataLoss'];
const NATS_SINK_OPTIONS = ['url', 'subject', 'stream', 'createStream', 'duplicateWindow', DEAD_LETTER_PATH];

registerSource('nats', (spec) => new NatsSource(spec), { options: NATS_SOURCE_OPTIONS });
registerSink('nats', (spec) => new NatsSink(spec), { options: NATS_SINK_OPTIONS });
// checkpointLocation 'nats://host:port[,host:port…]/<name>': the checkpoint on JetStream, replicated by the cluster.
registerCheckpointStorage('nats', (_url, raw) => new JetStreamStorage(raw));
// Option 'wal' of the http source, 'nats://host:port[,host:port…]/<name>': its ingest log on a replicated stream.
registerIngestLog('nats', (url, options) => JetStreamIngestLog.open(url, options));

export { JetStreamStorage } from './jetstream-storage.js';
