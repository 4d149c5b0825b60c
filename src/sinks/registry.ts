import { AnalysisError } from '../common/errors.js';
import { Sink, SinkSpec } from './sink.js';

/** Creates a sink for `writeStream.format(name)`. */
export type SinkFactory = (spec: SinkSpec) => Sink;

const sinks = new Map<string, SinkFactory>();

export function registerSink(format: string, factory: SinkFactory): void {
  sinks.set(format, factory);
}

export function createSink(spec: SinkSpec): Sink {
  const factory = sinks.get(spec.format);
  if (!factory) {
    throw new AnalysisError(`Unknown sink format '${spec.format}': use one of ${[...sinks.keys()].sort().join(', ')}, ` +
      `or foreachBatch(fn).`, 'UNKNOWN_FORMAT');
  }
  return factory(spec);
}
