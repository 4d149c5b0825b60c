import { Decimal } from '../../common/decimal.js';
import { AnalysisError } from '../../common/errors.js';
import { unknownNameError } from '../../common/nearest-name.js';
import { parseTypeName, Value } from '../../common/schema.js';
import { AggregateFunction, BinaryOp, Expr } from '../../plan/expressions.js';
import { SCALAR_FUNCTIONS } from '../../plan/scalar-functions.js';
import { structOf } from '../../plan/collection-functions.js';
import { Position, SqlExpr } from '../../sql/ast.js';
import { Column } from '../column.js';
import { generatorNames, isGeneratorName } from '../generators.js';
import { sessionWindow, window } from '../windows.js';
import { parseExpression } from '../../sql/parser.js';

/** Spark SQL's aggregate function names and weir's aggregates. */
const AGGREGATES: Readonly<Record<string, AggregateFunction>> = {
  count: 'count', sum: 'sum', avg: 'avg', mean: 'avg', min: 'min', max: 'max', first: 'first', last: 'last',
  collect_list: 'collectList', first_value: 'first', last_value: 'last', collect_set: 'collectSet',
  stddev: 'stddev', std: 'stddev', stddev_samp: 'stddevSamp', stddev_pop: 'stddevPop', variance: 'variance',
  var_samp: 'varSamp', var_pop: 'varPop', max_by: 'maxBy', min_by: 'minBy', count_if: 'countIf', bool_and: 'boolAnd',
  every: 'boolAnd', bool_or: 'boolOr', some: 'boolOr', any: 'boolOr', approx_count_distinct: 'approxCountDistinct',
  percentile_approx: 'percentileApprox', approx_percentile: 'percentileApprox',
};

const BINARY: Readonly<Record<string, BinaryOp>> = {
  '+': '+', '-': '-', '*': '*', '/': '/', '%': '%', '=': '=', '!=': '!=', '>': '>', '>=': '>=', '<': '<', '<=': '<=', '<=>': '<=>',
  and: 'and', or: 'or',
};

/** Every function name SQL accepts, for the "did you mean" of an unknown one. */
export function sqlFunctionNames(): string[] {
  return [...Object.keys(AGGREGATES), ...Object.keys(SCALAR_FUNCTIONS), ...generatorNames(), 'window', 'session_window', 'cast', 'struct'];
}

/**
 * Translates parsed SQL expressions into weir's expressions, the same nodes the DataFrame API builds
 * (so a SQL query and its DataFrame twin have the same plan). `qualifiers` are the names FROM gives its
 * relations: `t.amount` with `t` among them is the column `amount`; otherwise `a.b` is a struct field.
 */
export class SqlExpressions {
  constructor(private readonly qualifiers: ReadonlySet<string> = new Set()) {}

  toExpr(e: SqlExpr): Expr {
    switch (e.kind) {
      case 'column': {
        const path = e.path.length > 1 && this.qualifiers.has(e.path[0]!.toLowerCase()) ? e.path.slice(1) : e.path;
        return { kind: 'column', path };
      }
      case 'star':
        if (e.qualifier !== null) throw at(e.at, `${e.qualifier}.* is supported only as a whole SELECT item`);
        return { kind: 'star' };
      case 'literal': return { kind: 'literal', value: e.value };
      case 'interval': return { kind: 'literal', value: e.ms };
      case 'binary': return this.binary(e.op, e.left, e.right, e.at);
      case 'not': return { kind: 'unary', op: 'not', child: this.toExpr(e.child) };
      case 'negate': return { kind: 'unary', op: 'negate', child: this.toExpr(e.child) };
      case 'isNull': return { kind: 'unary', op: e.negated ? 'isNotNull' : 'isNull', child: this.toExpr(e.child) };
      case 'in': return negateIf(e.negated, { kind: 'in', child: this.toExpr(e.child), list: e.list.map((x) => this.toExpr(x)) });
      case 'between': {
        const child = this.toExpr(e.child);
        const range: Expr = { kind: 'binary', op: 'and',
          left: { kind: 'binary', op: '>=', left: child, right: this.toExpr(e.low) },
          right: { kind: 'binary', op: '<=', left: child, right: this.toExpr(e.high) } };
        return negateIf(e.negated, range);
      }
      case 'like':
        return negateIf(e.negated, { kind: 'call', fn: e.op, args: [this.toExpr(e.child), this.toExpr(e.pattern)] });
      case 'cast': return { kind: 'cast', child: this.toExpr(e.child), to: parseTypeName(e.type, `CAST at ${where(e.at)}`) };
      case 'case': {
        const operand = e.operand === null ? null : this.toExpr(e.operand);
        return {
          kind: 'case',
          branches: e.branches.map(([when, then]) => [
            operand === null ? this.toExpr(when) : { kind: 'binary', op: '=', left: operand, right: this.toExpr(when) },
            this.toExpr(then),
          ] as const),
          otherwise: e.otherwise === null ? null : this.toExpr(e.otherwise),
        };
      }
      case 'call': return this.call(e);
    }
  }

  private binary(op: string, left: SqlExpr, right: SqlExpr, position: Position): Expr {
    const l = this.toExpr(left);
    const r = this.toExpr(right);
    const binaryOp = BINARY[op];
    if (!binaryOp) throw at(position, `operator ${op} is not supported`);
    return { kind: 'binary', op: binaryOp, left: l, right: r };
  }

  private call(e: Extract<SqlExpr, { kind: 'call' }>): Expr {
    const name = e.name;
    const aggregate = AGGREGATES[name];
    if (aggregate) {
      const star = e.args.length === 1 && e.args[0]!.kind === 'star';
      if (e.distinct) {
        if (name !== 'count' || e.args.length !== 1 || star) throw at(e.at, 'DISTINCT is supported in count(DISTINCT column)');
        return { kind: 'aggregate', fn: 'countDistinct', child: this.toExpr(e.args[0]!) };
      }
      if (name === 'count' && (star || (e.args.length === 1 && isLiteralOne(e.args[0]!)))) {
        return { kind: 'aggregate', fn: 'count', child: null };
      }
      if (aggregate === 'maxBy' || aggregate === 'minBy') {
        if (e.args.length !== 2) throw at(e.at, `${name} takes (value, ordering), got ${e.args.length} argument(s)`);
        return { kind: 'aggregate', fn: aggregate, child: this.toExpr(e.args[0]!), by: this.toExpr(e.args[1]!) };
      }
      if ((aggregate === 'approxCountDistinct' && e.args.length === 2) || aggregate === 'percentileApprox') {
        const [input, ...params] = e.args;
        if (!input || params.length > 2) throw at(e.at, `${name} takes (column, parameters...), at most 3 arguments`);
        return { kind: 'aggregate', fn: aggregate, child: this.toExpr(input), params: params.map((p) => literalParameter(p, name)) };
      }
      if (e.args.length !== 1) throw at(e.at, `${name} takes one argument, got ${e.args.length}`);
      return { kind: 'aggregate', fn: aggregate, child: this.toExpr(e.args[0]!) };
    }
    if (e.distinct) throw at(e.at, `DISTINCT applies to aggregate functions, not to ${name}`);
    if (name === 'window') {
      if (e.args.length < 2 || e.args.length > 4) throw at(e.at, 'window takes (time, duration[, slide[, start]])');
      const [time, ...durations] = e.args;
      const [size, slide, start] = durations.map((d) => durationOf(d, 'window'));
      return window(new Column(this.toExpr(time!)), size!, slide, start).expr;
    }
    if (name === 'session_window') {
      if (e.args.length !== 2) throw at(e.at, 'session_window takes (time, gap)');
      return sessionWindow(new Column(this.toExpr(e.args[0]!)), durationOf(e.args[1]!, 'session_window')).expr;
    }
    if (name === 'struct') return structOf(e.args.map((a) => this.toExpr(a)));
    // explode and friends: the select that holds the call turns it into one row per element.
    if (isGeneratorName(name)) return { kind: 'call', fn: name, args: e.args.map((a) => this.toExpr(a)) };
    const scalar = SCALAR_FUNCTIONS[name];
    if (!scalar) {
      throw unknownNameError({ what: 'function', given: name, known: sqlFunctionNames(), where: `at ${where(e.at)}`,
        code: 'UNKNOWN_FUNCTION' });
    }
    if (e.args.length < scalar.minArgs || e.args.length > scalar.maxArgs) {
      const arity = scalar.minArgs === scalar.maxArgs ? `${scalar.minArgs}` : `${scalar.minArgs} to ${scalar.maxArgs}`;
      throw at(e.at, `${name} takes ${arity} argument(s), got ${e.args.length}`);
    }
    return { kind: 'call', fn: name, args: e.args.map((a) => this.toExpr(a)) };
  }
}

/** A literal parameter of an aggregate: a number, or array(numbers...) for percentile_approx's percentages. */
function literalParameter(e: SqlExpr, fn: string): Value {
  // A parameter such as 0.05 is a DECIMAL literal in SQL; the parameters are plain numbers (Spark casts them to double).
  const numeric = (v: Value): Value => (v instanceof Decimal ? v.toNumber() : v);
  if (e.kind === 'literal') return numeric(e.value);
  if (e.kind === 'call' && e.name === 'array' && e.args.every((a) => a.kind === 'literal')) {
    return e.args.map((a) => (a.kind === 'literal' ? numeric(a.value) : null));
  }
  throw at(e.at, `${fn}'s parameters must be literals (a number, or array(0.25, 0.5) for percentages)`);
}

function negateIf(negated: boolean, e: Expr): Expr {
  return negated ? { kind: 'unary', op: 'not', child: e } : e;
}

function isLiteralOne(e: SqlExpr): boolean {
  return e.kind === 'literal' && e.value === 1;
}

/** A duration argument: an interval, a string such as '10 seconds', or milliseconds. */
function durationOf(e: SqlExpr, fn: string): string | number {
  if (e.kind === 'interval') return e.ms;
  if (e.kind === 'literal' && (typeof e.value === 'string' || typeof e.value === 'number')) return e.value as string | number;
  if (e.kind === 'literal' && e.value instanceof Decimal) return e.value.toNumber();
  throw at(e.at, `${fn} needs a duration here: an interval (INTERVAL 10 SECONDS) or a string ('10 seconds')`);
}

export function where(p: Position): string {
  return `line ${p.line}, column ${p.column}`;
}

export function at(p: Position, problem: string): AnalysisError {
  return new AnalysisError(`SQL at ${where(p)}: ${problem}.`, 'SQL_ANALYSIS');
}

/** A SQL expression text, with an optional alias, as a Column (`expr()`, `selectExpr()`). */
export function sqlColumn(sql: string): Column {
  const { expr, alias } = parseExpression(sql);
  const e = new SqlExpressions().toExpr(expr);
  return new Column(alias === null ? e : { kind: 'alias', child: e, name: alias });
}
