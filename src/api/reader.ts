import { AnalysisError } from '../common/errors.js';
import { Options, OptionValue } from '../common/options.js';
import { Schema, SchemaLike, toSchema } from '../common/schema.js';
import { createSource, prepareBatchRead } from '../sources/registry.js';
import { oneQueryAtATime } from '../sources/one-query-at-a-time.js';
import { Source, SourceSpec } from '../sources/source.js';
import { DataFrame, SessionContext } from './dataframe.js';

/** Shared builder state of `readStream` and `read`. */
abstract class ReaderBase<Self> {
  /** How options name their owner in messages. */
  protected abstract readonly kind: string;
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
    const options = new Options(this.optionValues, `${this.sourceFormat} ${this.kind}`);
    return {
      format: this.sourceFormat, options, schema: this.userSchema, path: path ?? options.string('path') ?? null,
    };
  }
}

/** `weir.readStream`: a streaming input (Spark's `DataStreamReader`). */
export class DataStreamReader extends ReaderBase<DataStreamReader> {
  protected readonly kind = 'source';
  private sourceObject: Source | null = null;

  /**
   * A source format (`json`, `rate`, … or one registered with `Weir.registerSource`), or a source
   * object. An object brings its own schema and takes no path or options; it serves the queries
   * started on the DataFrame one at a time (each stops it before the next may open it).
   */
  override format(format: string | Source): DataStreamReader {
    this.sourceObject = typeof format === 'string' ? null : format;
    return typeof format === 'string' ? super.format(format) : this;
  }

  load(path?: string): DataFrame {
    if (this.sourceObject) return this.loadObject(this.sourceObject, path);
    const spec = this.spec(path);
    // Build one source now to validate options and learn the schema; each query start builds its own.
    const probe = createSource(spec);
    return new DataFrame({
      kind: 'stream',
      input: { description: probe.description, schema: probe.schema, create: () => createSource(spec) },
    }, this.session);
  }

  private loadObject(source: Source, path: string | undefined): DataFrame {
    const given = [path !== undefined ? 'a path' : '', this.userSchema ? 'a schema' : '', this.optionValues.size > 0 ? 'options' : '']
      .filter((g) => g !== '');
    if (given.length > 0) {
      throw new AnalysisError(`The source object ${source.description} takes no ${given.join(', ')}: it has its own schema ` +
        'and settings. To configure a source per query, register a factory with Weir.registerSource(name, factory).',
        'INVALID_OPTION');
    }
    return new DataFrame({
      kind: 'stream', input: { description: source.description, schema: source.schema, create: oneQueryAtATime(source) },
    }, this.session);
  }
}

/** `weir.read`: a batch input (Spark's `DataFrameReader`); reading a file sink's folder sees committed files only. */
export class DataFrameReader extends ReaderBase<DataFrameReader> {
  protected readonly kind = 'reader';

  load(path?: string): DataFrame {
    const spec = this.spec(path);
    const read = prepareBatchRead(spec);
    return new DataFrame({
      kind: 'relation',
      input: { description: `${spec.format}[${spec.path ?? ''}]`, schema: spec.schema, load: read },
    }, this.session);
  }
}
