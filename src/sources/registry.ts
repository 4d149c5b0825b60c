import { AnalysisError } from '../common/errors.js';
import { Row, Schema } from '../common/schema.js';
import { Source, SourceSpec } from './source.js';

/** Creates a streaming source for `readStream.format(name)`. */
export type SourceFactory = (spec: SourceSpec) => Source;
/** Reads a whole relation for `read.format(name)` (batch reads). */
export type BatchReader = (spec: SourceSpec) => Promise<{ schema: Schema; rows: Row[] }>;

const streamingSources = new Map<string, SourceFactory>();
const batchReaders = new Map<string, BatchReader>();

export function registerSource(format: string, factory: SourceFactory): void {
  streamingSources.set(format, factory);
}

export function registerBatchReader(format: string, reader: BatchReader): void {
  batchReaders.set(format, reader);
}

export function createSource(spec: SourceSpec): Source {
  const factory = streamingSources.get(spec.format);
  if (!factory) throw unknownFormat(spec.format, 'streaming source', [...streamingSources.keys()]);
  return factory(spec);
}

export function batchReaderFor(format: string): BatchReader {
  const reader = batchReaders.get(format);
  if (!reader) throw unknownFormat(format, 'batch source', [...batchReaders.keys()]);
  return reader;
}

function unknownFormat(format: string, what: string, known: string[]): AnalysisError {
  return new AnalysisError(`Unknown ${what} format '${format}': use one of ${known.sort().join(', ')}.`, 'UNKNOWN_FORMAT');
}
