import { registerSink } from '../../sinks/registry.js';
import { registerSource } from '../../sources/registry.js';
import { NatsSink } from './sink.js';
import { NatsSource } from './source.js';

export { NatsSink } from './sink.js';
export { NatsSource } from './source.js';

registerSource('nats', (spec) => new NatsSource(spec));
registerSink('nats', (spec) => new NatsSink(spec));
