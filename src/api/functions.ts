import { sparkTimestampText } from '../codec/spark-text.js';
import { AnalysisError } from '../common/errors.js';
import { Value } from '../common/schema.js';
import { structOf } from '../plan/collection-functions.js';
import { AggregateFunction, columnRef, Expr } from '../plan/expressions.js';
import { Column, ColumnLike, columnExpr, Operand, toExpr } from './column.js';
import { sqlColumn } from './sql/expressions.js';
import { sessionWindow } from './windows.js';

export function col(name: string): Column {
  return new Column(columnRef(name));
}
export const column = col;

/**
 * A literal Column. Numbers keep NaN and ±Infinity (as doubles); a Date is a timestamp (named as Spark
 * names one, `TIMESTAMP '2024-01-01 00:00:00'`); a Column is returned as it is, as in PySpark.
 */
export function lit(value: Value | Date | Column): Column {
  if (value instanceof Column) return value;
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new AnalysisError('lit() got an invalid Date; pass a Date whose getTime() is a number.', 'WRONG_ARGUMENTS');
    const timestamp: Expr = { kind: 'cast', child: { kind: 'literal', value: ms / 1000 }, to: 'timestamp' };
    return new Column({ kind: 'alias', child: timestamp, name: `TIMESTAMP '${sparkTimestampText(ms)}'` });
  }
  return new Column({ kind: 'literal', value });
}

export function when(condition: Column, value: Operand): Column {
  return new Column({ kind: 'case', branches: [[condition.expr, toExpr(value)]], otherwise: null });
}

/** A Spark SQL expression as a Column: `expr('amount * 2')`, `expr('upper(name) AS name')`. */
export function expr(sql: string): Column {
  return sqlColumn(sql);
}

function aggregate(fn: AggregateFunction, input: ColumnLike | null, extra: { by?: ColumnLike; params?: Value[] } = {}): Column {
  return new Column({
    kind: 'aggregate', fn, child: input === null ? null : columnExpr(input),
    ...(extra.by === undefined ? {} : { by: columnExpr(extra.by) }), ...(extra.params ? { params: extra.params } : {}),
  });
}

/** `count('*')` counts rows (named `count(1)` as in Spark); `count(col)` counts non-null values. */
export function count(input: ColumnLike = '*'): Column {
  return aggregate('count', input === '*' ? null : input);
}
export const sum = (input: ColumnLike): Column => aggregate('sum', input);
export const avg = (input: ColumnLike): Column => aggregate('avg', input);
export const mean = avg;
export const min = (input: ColumnLike): Column => aggregate('min', input);
export const max = (input: ColumnLike): Column => aggregate('max', input);
export const countDistinct = (input: ColumnLike): Column => aggregate('countDistinct', input);
export const count_distinct = countDistinct;
export const first = (input: ColumnLike): Column => aggregate('first', input);
export const last = (input: ColumnLike): Column => aggregate('last', input);
export const collectList = (input: ColumnLike): Column => aggregate('collectList', input);
export const collect_list = collectList;
export const collectSet = (input: ColumnLike): Column => aggregate('collectSet', input);
export const collect_set = collectSet;
/** Sample standard deviation (null for one value), as Spark's stddev and stddev_samp. */
export const stddev = (input: ColumnLike): Column => aggregate('stddev', input);
export const stddevSamp = (input: ColumnLike): Column => aggregate('stddevSamp', input);
export const stddev_samp = stddevSamp;
export const stddevPop = (input: ColumnLike): Column => aggregate('stddevPop', input);
export const stddev_pop = stddevPop;
/** Sample variance (null for one value), as Spark's variance and var_samp. */
export const variance = (input: ColumnLike): Column => aggregate('variance', input);
export const varSamp = (input: ColumnLike): Column => aggregate('varSamp', input);
export const var_samp = varSamp;
export const varPop = (input: ColumnLike): Column => aggregate('varPop', input);
export const var_pop = varPop;
/** The value of `input` in the row with the largest `ordering` (rows with a null ordering are skipped). */
export const maxBy = (input: ColumnLike, ordering: ColumnLike): Column => aggregate('maxBy', input, { by: ordering });
export const max_by = maxBy;
export const minBy = (input: ColumnLike, ordering: ColumnLike): Column => aggregate('minBy', input, { by: ordering });
export const min_by = minBy;
/** The number of rows where the condition is true. */
export const countIf = (condition: ColumnLike): Column => aggregate('countIf', condition);
export const count_if = countIf;
export const boolAnd = (condition: ColumnLike): Column => aggregate('boolAnd', condition);
export const bool_and = boolAnd;
export const every = boolAnd;
export const boolOr = (condition: ColumnLike): Column => aggregate('boolOr', condition);
export const bool_or = boolOr;
export const some = boolOr;
/** HyperLogLog estimate of the number of distinct values; `rsd` is the relative standard deviation (Spark's default 0.05). */
export const approxCountDistinct = (input: ColumnLike, rsd?: number): Column =>
  aggregate('approxCountDistinct', input, rsd === undefined ? {} : { params: [rsd] });
export const approx_count_distinct = approxCountDistinct;
/**
 * The smallest value with no more than `percentage` of the values below or equal to it (Spark's definition),
 * within a rank error of count/accuracy; an array of percentages gives an array.
 */
export const percentileApprox = (input: ColumnLike, percentage: number | number[], accuracy?: number): Column =>
  aggregate('percentileApprox', input, { params: accuracy === undefined ? [percentage] : [percentage, accuracy] });
export const percentile_approx = percentileApprox;

export { sessionWindow, window } from './windows.js';
export const session_window = sessionWindow;

function call(fn: string, ...args: Operand[]): Column {
  return new Column({ kind: 'call', fn, args: args.map((a) => (typeof a === 'string' ? columnRef(a) : toExpr(a))) });
}

function callWithLiterals(fn: string, input: ColumnLike, ...literals: Value[]): Column {
  const args: Expr[] = [columnExpr(input), ...literals.map((value): Expr => ({ kind: 'literal', value }))];
  return new Column({ kind: 'call', fn, args });
}

export const upper = (c: ColumnLike): Column => call('upper', c);
export const lower = (c: ColumnLike): Column => call('lower', c);
/** Characters (code points): length('🦆🦆 duck') is 7. */
export const length = (c: ColumnLike): Column => call('length', c);
/** Spark's trim removes spaces only; `chars` removes any of those characters instead (TRIM(BOTH chars FROM c)). */
export const trim = (c: ColumnLike, chars?: string): Column => trimCall('trim', c, chars);
export const btrim = (c: ColumnLike, chars?: string): Column => trimCall('btrim', c, chars);
export const ltrim = (c: ColumnLike, chars?: string): Column => trimCall('ltrim', c, chars);
export const rtrim = (c: ColumnLike, chars?: string): Column => trimCall('rtrim', c, chars);
/** Pads on the left to `len` characters with `pad` repeated, or cuts to `len` characters. */
export const lpad = (c: ColumnLike, len: number, pad = ' '): Column => callWithLiterals('lpad', c, len, pad);
export const rpad = (c: ColumnLike, len: number, pad = ' '): Column => callWithLiterals('rpad', c, len, pad);
export const concat = (...cs: ColumnLike[]): Column => call('concat', ...cs);
export const substring = (c: ColumnLike, pos: number, len: number): Column => callWithLiterals('substring', c, pos, len);
export const regexpReplace = (c: ColumnLike, pattern: string, replacement: string): Column =>
  callWithLiterals('regexp_replace', c, pattern, replacement);
export const regexp_replace = regexpReplace;
export const split = (c: ColumnLike, pattern: string): Column => callWithLiterals('split', c, pattern);
export const size = (c: ColumnLike): Column => call('size', c);
export const coalesce = (...cs: ColumnLike[]): Column => call('coalesce', ...cs);
export const abs = (c: ColumnLike): Column => call('abs', c);
export const round = (c: ColumnLike, scale = 0): Column => callWithLiterals('round', c, scale);
export const floor = (c: ColumnLike): Column => call('floor', c);
export const ceil = (c: ColumnLike): Column => call('ceil', c);
export const sqrt = (c: ColumnLike): Column => call('sqrt', c);
export const pow = (c: ColumnLike, e: Operand): Column => call('pow', c, e);
export const greatest = (...cs: ColumnLike[]): Column => call('greatest', ...cs);
export const least = (...cs: ColumnLike[]): Column => call('least', ...cs);
export const hash = (...cs: ColumnLike[]): Column => call('hash', ...cs);
export const currentTimestamp = (): Column => call('current_timestamp');
export const current_timestamp = currentTimestamp;
export const toTimestamp = (c: ColumnLike): Column => call('to_timestamp', c);
export const to_timestamp = toTimestamp;
export const unixTimestamp = (c: ColumnLike): Column => call('unix_timestamp', c);
export const unix_timestamp = unixTimestamp;
export const fromUnixtime = (c: ColumnLike): Column => call('from_unixtime', c);
export const from_unixtime = fromUnixtime;
export const dateTrunc = (unit: string, c: ColumnLike): Column => new Column({
  kind: 'call', fn: 'date_trunc', args: [{ kind: 'literal', value: unit }, columnExpr(c)],
});
export const date_trunc = dateTrunc;
/** A window's event time (its end minus 1 ms), so a next aggregation can window it again; Spark's window_time. */
export const windowTime = (windowColumn: ColumnLike): Column => call('window_time', windowColumn);
export const window_time = windowTime;
export const year = (c: ColumnLike): Column => call('year', c);
export const month = (c: ColumnLike): Column => call('month', c);
export const dayofmonth = (c: ColumnLike): Column => call('dayofmonth', c);
export const hour = (c: ColumnLike): Column => call('hour', c);
export const minute = (c: ColumnLike): Column => call('minute', c);
export const second = (c: ColumnLike): Column => call('second', c);

function trimCall(fn: string, c: ColumnLike, chars: string | undefined): Column {
  return chars === undefined ? call(fn, c) : callWithLiterals(fn, c, chars);
}

// Nested types (plan/collection-functions.ts). A value argument that is not a Column is a literal, as in Spark.
export const element_at = (c: ColumnLike, key: Operand): Column =>
  new Column({ kind: 'call', fn: 'element_at', args: [columnExpr(c), toExpr(key)] });
export const array = (...cs: ColumnLike[]): Column => call('array', ...cs);
export const struct = (...cs: ColumnLike[]): Column => new Column(structOf(cs.map(columnExpr)));
export const array_contains = (c: ColumnLike, value: Operand): Column =>
  new Column({ kind: 'call', fn: 'array_contains', args: [columnExpr(c), toExpr(value)] });
export const map_keys = (c: ColumnLike): Column => call('map_keys', c);
export const map_values = (c: ColumnLike): Column => call('map_values', c);
export const to_json = (c: ColumnLike): Column => call('to_json', c);
/** JSON text as a struct of the DDL schema: `from_json(col('value').cast('string'), 'a INT, b STRING')`. */
export const from_json = (c: ColumnLike, schemaDDL: string): Column => callWithLiterals('from_json', c, schemaDDL);

// Generators, for select() (api/generators.ts).
export const explode = (c: ColumnLike): Column => call('explode', c);
export const explode_outer = (c: ColumnLike): Column => call('explode_outer', c);
export const posexplode = (c: ColumnLike): Column => call('posexplode', c);
export const posexplode_outer = (c: ColumnLike): Column => call('posexplode_outer', c);
