import { AnalysisError } from '../common/errors.js';
import { Options, OptionValue } from '../common/options.js';
import { Schema, SchemaLike, toSchema } from '../common/schema.js';
import { batchReaderFor, createSource } from '../sources/registry.js';
import { SourceSpec } from '../sources/source.js';
import { DataFrame, SessionContext } from './dataframe.js';

/** Shared builder state of `readStream` and `read`. */
abstract class ReaderBase<Self> {
  protected sourceFormat = '';
  protected userSchema: Schema | null = null;
  protected readonly optionValues = new Map<string, string>();

  constructor(protected readonly session: SessionContext) {}

  format(format: string): Self {
    this.sourceFormat = format;
    return this as unknown as Self;
  }

  /** A DDL string (`'ts TIMESTAMP, user STRING'`), an object (`{ ts: 'timestamp' }`) or a field list. */
  schema(schema: SchemaLike): Self {
    this.userSchema = toSchema(schema);
    return this as unknown as Self;
  }

  option(name: string, value: OptionValue): Self {
    this.optionValues.set(name, String(value));
    return this as unknown as Self;
  }

  options(values: Record<string, OptionValue>): Self {
    for (const [k, v] of Object.entries(values)) this.option(k, v);
    return this as unknown as Self;
  }

  protected spec(path: string | undefined): SourceSpec {
    if (!this.sourceFormat) {
      throw new AnalysisError("No source format given: call .format('json' | 'csv' | 'text' | 'rate' | …) before load().",
        'MISSING_FORMAT');
    }
    return {
      format: this.sourceFormat, options: new Options(this.optionValues, `${this.sourceFormat} source`),
      schema: this.userSchema, path: path ?? this.optionValues.get('path') ?? null,
    };
  }
}

/** `weir.readStream`: a streaming input (Spark's `DataStreamReader`). */
export class DataStreamReader extends ReaderBase<DataStreamReader> {
  load(path?: string): DataFrame {
    const spec = this.spec(path);
    // Build one source now to validate options and learn the schema; each query start builds its own.
    const probe = createSource(spec);
    return new DataFrame({
      kind: 'stream',
      input: { description: probe.description, schema: probe.schema, create: () => createSource(spec) },
    }, this.session);
  }
}

/** `weir.read`: a batch input (Spark's `DataFrameReader`); reading a file sink's folder sees committed files only. */
export class DataFrameReader extends ReaderBase<DataFrameReader> {
  load(path?: string): DataFrame {
    const spec = this.spec(path);
    const reader = batchReaderFor(spec.format);
    return new DataFrame({
      kind: 'relation',
      input: { description: `${spec.format}[${spec.path ?? ''}]`, schema: spec.schema, load: () => reader(spec) },
    }, this.session);
  }
}
