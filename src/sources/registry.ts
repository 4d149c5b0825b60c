import { AnalysisError } from '../common/errors.js';
import { unknownNameError } from '../common/nearest-name.js';
import { ConnectorDeclaration } from '../common/options.js';
import { Row, Schema } from '../common/schema.js';
import { Source, SourceSpec } from './source.js';

/** Creates a streaming source for `readStream.format(name)`; called once per query start (and once at load()). */
export type SourceFactory = (spec: SourceSpec) => Source;
/** Reads a whole relation for `read.format(name)` (batch reads). */
export type BatchReader = (spec: SourceSpec) => Promise<{ schema: Schema; rows: Row[] }>;

interface Registration<F> {
  readonly create: F;
  /** Null: the connector declared no options, so any option passes unchecked. */
  readonly options: readonly string[] | null;
}

const streamingSources = new Map<string, Registration<SourceFactory>>();
const batchReaders = new Map<string, Registration<BatchReader>>();

export function registerSource(format: string, factory: SourceFactory, declaration: ConnectorDeclaration = {}): void {
  register(streamingSources, 'streaming source', format, factory, declaration);
}

export function registerBatchReader(format: string, reader: BatchReader, declaration: ConnectorDeclaration = {}): void {
  register(batchReaders, 'batch source', format, reader, declaration);
}

/** Checks the format and its options, then creates the source. */
export function createSource(spec: SourceSpec): Source {
  const { create, options } = lookUp(streamingSources, 'streaming source', spec.format,
    'Register your own with Weir.registerSource(name, factory).');
  return create(checked(spec, options));
}

/** Checks the format and its options now (at load()); the returned function reads the relation. */
export function prepareBatchRead(spec: SourceSpec): () => Promise<{ schema: Schema; rows: Row[] }> {
  const { create, options } = lookUp(batchReaders, 'batch source', spec.format);
  const checkedSpec = checked(spec, options);
  return () => create(checkedSpec);
}

function checked(spec: SourceSpec, options: readonly string[] | null): SourceSpec {
  return options === null ? spec : { ...spec, options: spec.options.declare(['path', ...options]) };
}

function register<F>(registry: Map<string, Registration<F>>, what: string, format: string, create: F,
  declaration: ConnectorDeclaration): void {
  if (format === '') throw new AnalysisError(`A ${what} needs a non-empty format name to register under.`, 'INVALID_FORMAT');
  if (registry.has(format)) {
    throw new AnalysisError(`A ${what} named '${format}' is already registered: register yours under another name.`,
      'DUPLICATE_FORMAT');
  }
  registry.set(format, { create, options: declaration.options ?? null });
}

function lookUp<F>(registry: Map<string, Registration<F>>, what: string, format: string, advice?: string): Registration<F> {
  const registration = registry.get(format);
  if (!registration) {
    throw unknownNameError({ what: `${what} format`, given: format, known: registry.keys(), code: 'UNKNOWN_FORMAT', advice });
  }
  return registration;
}
