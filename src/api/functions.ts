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

export function lit(value: Value): Column {
  return new Column({ kind: 'literal', value });
}

export function when(condition: Column, value: Operand): Column {
  return new Column({ kind: 'case', branches: [[condition.expr, toExpr(value)]], otherwise: null });
}

/** A Spark SQL expression as a Column: `expr('amount * 2')`, `expr('upper(name) AS name')`. */
export function expr(sql: string): Column {
  return sqlColumn(sql);
}

function aggregate(fn: AggregateFunction, input: ColumnLike | null): Column {
  return new Column({ kind: 'aggregate', fn, child: input === null ? null : columnExpr(input) });
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
export const first = (input: ColumnLike): Column => aggregate('first', input);
export const last = (input: ColumnLike): Column => aggregate('last', input);
export const collectList = (input: ColumnLike): Column => aggregate('collectList', input);

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
export const length = (c: ColumnLike): Column => call('length', c);
export const trim = (c: ColumnLike): Column => call('trim', c);
export const ltrim = (c: ColumnLike): Column => call('ltrim', c);
export const rtrim = (c: ColumnLike): Column => call('rtrim', c);
export const concat = (...cs: ColumnLike[]): Column => call('concat', ...cs);
export const substring = (c: ColumnLike, pos: number, len: number): Column => callWithLiterals('substring', c, pos, len);
export const regexp_replace = (c: ColumnLike, pattern: string, replacement: string): Column =>
  callWithLiterals('regexp_replace', c, pattern, replacement);
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
export const current_timestamp = (): Column => call('current_timestamp');
export const to_timestamp = (c: ColumnLike): Column => call('to_timestamp', c);
export const unix_timestamp = (c: ColumnLike): Column => call('unix_timestamp', c);
export const from_unixtime = (c: ColumnLike): Column => call('from_unixtime', c);
export const date_trunc = (unit: string, c: ColumnLike): Column => new Column({
  kind: 'call', fn: 'date_trunc', args: [{ kind: 'literal', value: unit }, columnExpr(c)],
});
export const year = (c: ColumnLike): Column => call('year', c);
export const month = (c: ColumnLike): Column => call('month', c);
export const dayofmonth = (c: ColumnLike): Column => call('dayofmonth', c);
export const hour = (c: ColumnLike): Column => call('hour', c);
export const minute = (c: ColumnLike): Column => call('minute', c);
export const second = (c: ColumnLike): Column => call('second', c);

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
