import { AnalysisError } from '../common/errors.js';
import { unknownNameError } from '../common/nearest-name.js';
import { ConnectorDeclaration } from '../common/options.js';
import { Sink, SinkSpec } from './sink.js';

/** Creates a sink for `writeStream.format(name)`; called once per query start. */
export type SinkFactory = (spec: SinkSpec) => Sink;

interface Registration {
  readonly create: SinkFactory;
  /** Null: the sink declared no options, so any option passes unchecked. */
  readonly options: readonly string[] | null;
}

const sinks = new Map<string, Registration>();

export function registerSink(format: string, factory: SinkFactory, declaration: ConnectorDeclaration = {}): void {
  if (format === '') throw new AnalysisError('A sink needs a non-empty format name to register under.', 'INVALID_FORMAT');
  if (sinks.has(format)) {
    throw new AnalysisError(`A sink named '${format}' is already registered: register yours under another name.`,
      'DUPLICATE_FORMAT');
  }
  sinks.set(format, { create: factory, options: declaration.options ?? null });
}

/**
 * Checks the format and its options, then creates the sink. `queryOptions` are the writer's own
 * (`checkpointLocation`, …): the sink sees them too, as in Spark, so they are known to every sink;
 * `otherFormats` are the writer's own formats (`memory`), for the message about an unknown one.
 */
export function createSink(spec: SinkSpec, queryOptions: readonly string[] = [], otherFormats: readonly string[] = []): Sink {
  const registration = sinks.get(spec.format);
  if (!registration) {
    throw unknownNameError({ what: 'sink format', given: spec.format, known: [...sinks.keys(), ...otherFormats],
      code: 'UNKNOWN_FORMAT', advice: 'Or write each batch with foreachBatch(fn), or register a sink with Weir.registerSink(name, factory).' });
  }
  const { create, options } = registration;
  return create(options === null ? spec : { ...spec, options: spec.options.declare(['path', ...queryOptions, ...options]) });
}
