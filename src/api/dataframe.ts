import { Duration, parseDuration } from '../common/duration.js';
import { AnalysisError } from '../common/errors.js';
import { Row, Schema, SchemaLike, toSchema } from '../common/schema.js';
import { isResolvable, schemaOf } from '../plan/analyzer.js';
import { collectRows } from '../engine/batch-execution.js';
import { ExplainMode, explainText, explainUnplanned, operatorTree, parseExplainMode } from '../exec/explain.js';
import { planPhysical } from '../exec/planner.js';
import { Expr } from '../plan/expressions.js';
import { JoinOn, parseJoinType } from '../plan/join-analysis.js';
import { isStreaming, LogicalPlan } from '../plan/logical.js';
import { Column, ColumnLike, columnExpr } from './column.js';
import { generatorPlan } from './generators.js';
import { ViewCatalog } from './sql/catalog.js';
import { sqlColumn } from './sql/expressions.js';
import type { DataStreamWriter } from './writer.js';

/** What a DataFrame needs of the session that made it: its writers (injected, keeping this module free of sink code) and its views. */
export interface SessionContext {
  writer(df: DataFrame): DataStreamWriter;
  readonly views: ViewCatalog;
}

/**
 * A lazy, immutable query over a stream or a batch relation. Transformations build a plan and
 * check it at once (unknown columns, wrong types fail here, not in a batch); nothing runs until
 * `writeStream.start()` (streams) or `collect()` (batches).
 */
export class DataFrame<T extends Row = Row> {
  constructor(readonly plan: LogicalPlan, private readonly session: SessionContext) {
    if (isResolvable(plan)) schemaOf(plan);
  }

  get schema(): Schema {
    return schemaOf(this.plan);
  }

  get columns(): string[] {
    return this.schema.map((f) => f.name);
  }

  get isStreaming(): boolean {
    return isStreaming(this.plan);
  }

  get writeStream(): DataStreamWriter {
    if (!this.isStreaming) {
      throw new AnalysisError("writeStream needs a streaming DataFrame (from readStream or memoryStream); " +
        'for a batch DataFrame use collect().', 'NOT_STREAMING');
    }
    return this.session.writer(this);
  }

  /** Columns or expressions; one of them may be a generator (`explode(col('tags'))`), giving a row per element. */
  select(...columns: ColumnLike[]): DataFrame {
    const exprs = columns.map(columnExpr);
    return this.derive(generatorPlan(this.plan, exprs) ?? { kind: 'project', child: this.plan, exprs });
  }

  /** Keeps rows where the condition is true (null counts as false); or, with a function, where it returns true. */
  filter(condition: Column | ((row: T) => boolean)): DataFrame<T> {
    if (condition instanceof Column) return this.derive({ kind: 'filter', child: this.plan, condition: condition.expr });
    return this.derive({ kind: 'filterRows', child: this.plan, fn: condition as unknown as (row: Row) => boolean });
  }

  where(condition: Column | ((row: T) => boolean)): DataFrame<T> {
    return this.filter(condition);
  }

  withColumn(name: string, column: Column): DataFrame {
    const exprs: Expr[] = this.columns.map((c): Expr => (c === name ? { kind: 'alias', child: column.expr, name }
      : { kind: 'column', path: [c] }));
    if (!this.columns.includes(name)) exprs.push({ kind: 'alias', child: column.expr, name });
    return this.derive(generatorPlan(this.plan, exprs) ?? { kind: 'project', child: this.plan, exprs });
  }

  withColumnRenamed(existing: string, renamed: string): DataFrame {
    if (!this.columns.includes(existing)) return this as DataFrame;
    return this.derive({
      kind: 'project', child: this.plan,
      exprs: this.columns.map((c): Expr => (c === existing
        ? { kind: 'alias', child: { kind: 'column', path: [c] }, name: renamed } : { kind: 'column', path: [c] })),
    });
  }

  drop(...names: string[]): DataFrame {
    return this.derive({
      kind: 'project', child: this.plan,
      exprs: this.columns.filter((c) => !names.includes(c)).map((c): Expr => ({ kind: 'column', path: [c] })),
    });
  }

  /** Rows of both inputs, columns matched by position (as Spark's union). */
  union(other: DataFrame): DataFrame<T> {
    return this.derive({ kind: 'union', left: this.plan, right: other.plan });
  }

  /** Applies a function to each row. Give the output schema when it differs from the input's. */
  map<U extends Row>(fn: (row: T) => U, schema?: SchemaLike): DataFrame<U> {
    return this.derive({ kind: 'mapRows', child: this.plan, fn: fn as unknown as (row: Row) => Row, schema: this.outputSchema(schema) });
  }

  flatMap<U extends Row>(fn: (row: T) => Iterable<U>, schema?: SchemaLike): DataFrame<U> {
    return this.derive({
      kind: 'flatMapRows', child: this.plan, fn: fn as unknown as (row: Row) => Iterable<Row>, schema: this.outputSchema(schema),
    });
  }

  withWatermark(eventTime: string, delay: Duration): DataFrame<T> {
    const delayMs = parseDuration(delay, `withWatermark('${eventTime}')`);
    return this.derive({ kind: 'watermark', child: this.plan, column: eventTime, delayMs });
  }

  groupBy(...columns: ColumnLike[]): GroupedData {
    return new GroupedData(this, columns.map(columnExpr));
  }

  /** Keeps the first row per key (all columns when none are given). */
  dropDuplicates(columns?: readonly string[]): DataFrame<T> {
    return this.derive({ kind: 'dedup', child: this.plan, keys: columns && columns.length > 0 ? columns : null,
      withinWatermark: false });
  }

  /** Keeps the first row per key until its event time plus the watermark delay passes the watermark. */
  dropDuplicatesWithinWatermark(columns?: readonly string[]): DataFrame<T> {
    return this.derive({ kind: 'dedup', child: this.plan, keys: columns && columns.length > 0 ? columns : null,
      withinWatermark: true });
  }

  orderBy(...columns: ColumnLike[]): DataFrame<T> {
    return this.derive({ kind: 'sort', child: this.plan, orders: columns.map(columnExpr) });
  }

  sort(...columns: ColumnLike[]): DataFrame<T> {
    return this.orderBy(...columns);
  }

  limit(n: number): DataFrame<T> {
    return this.derive({ kind: 'limit', child: this.plan, n });
  }

  /**
   * The plan as text, in one of Spark's explain modes: `simple` (the physical plan, the default),
   * `extended` (also the logical plan; `true` says the same), `formatted` (an outline, then each
   * operator's output and arguments) or `codegen` (the JavaScript compiled for each operator).
   */
  explain(mode: ExplainMode | boolean = 'simple'): string {
    const parsed = parseExplainMode(mode);
    if (!isResolvable(this.plan)) return explainUnplanned(this.plan);
    const { root } = planPhysical(this.plan);
    return explainText(this.plan, root, operatorTree(root, false), parsed);
  }

  /** Runs a batch DataFrame and returns its rows. */
  async collect(): Promise<T[]> {
    if (this.isStreaming) {
      throw new AnalysisError('Queries with streaming sources must be run with writeStream.start(), not collect().',
        'STREAMING_COLLECT');
    }
    return (await collectRows(this.plan)).rows as T[];
  }

  /**
   * Joins with another DataFrame, as Spark's `join`: `on` is a column name or names (an equi-join whose
   * keys appear once, first) or a boolean condition; `how` is inner, left, right, full or left_semi
   * (with Spark's aliases). Either side may be a stream; see the README for what each combination supports.
   */
  join(other: DataFrame, on: string | readonly string[] | Column, how = 'inner'): DataFrame {
    const joinOn: JoinOn = on instanceof Column ? { condition: on.expr } : { using: typeof on === 'string' ? [on] : [...on] };
    return this.derive({ kind: 'join', left: this.plan, right: other.plan, on: joinOn, joinType: parseJoinType(how) });
  }

  /** Spark's `selectExpr`: SQL expressions, each with an optional alias (`'amount * 2 AS doubled'`). */
  selectExpr(...expressions: string[]): DataFrame {
    return this.select(...expressions.map(sqlColumn));
  }

  /** Registers this DataFrame as a temporary view of its session, for `weir.sql()` and `weir.table()`. */
  createOrReplaceTempView(name: string): void {
    this.session.views.set(name, this);
  }

  /** Builds a DataFrame over another plan node with this one's writer factory. */
  derive<U extends Row = T>(plan: LogicalPlan): DataFrame<U> {
    return new DataFrame<U>(plan, this.session);
  }

  private outputSchema(schema: SchemaLike | undefined): Schema {
    return schema === undefined ? this.schema : toSchema(schema);
  }
}

/** `groupBy(...)`: add aggregates with `agg`, or use a shorthand. */
export class GroupedData {
  constructor(private readonly df: DataFrame<Row>, private readonly groups: readonly Expr[]) {}

  agg(...aggregates: Column[]): DataFrame {
    return this.df.derive({ kind: 'aggregate', child: this.df.plan, groups: this.groups, aggs: aggregates.map((a) => a.expr) });
  }

  /** Rows per group, in a column named `count`. */
  count(): DataFrame {
    return this.agg(new Column({ kind: 'alias', child: { kind: 'aggregate', fn: 'count', child: null }, name: 'count' }));
  }

  sum(...columns: string[]): DataFrame { return this.shorthand('sum', columns); }
  avg(...columns: string[]): DataFrame { return this.shorthand('avg', columns); }
  min(...columns: string[]): DataFrame { return this.shorthand('min', columns); }
  max(...columns: string[]): DataFrame { return this.shorthand('max', columns); }

  private shorthand(fn: 'sum' | 'avg' | 'min' | 'max', columns: readonly string[]): DataFrame {
    return this.agg(...columns.map((c) => new Column({ kind: 'aggregate', fn, child: { kind: 'column', path: [c] } })));
  }
}
