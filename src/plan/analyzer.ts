import { Decimal } from '../common/decimal.js';
import {
  arithmeticType, avgType, DecimalType, decimalType, INT_DECIMAL, integerLiteralType, isDecimalType, LONG_DECIMAL, sumType, widerDecimal,
} from '../common/decimal-type.js';
import { AnalysisError } from '../common/errors.js';
import { DataType, Field, isNumeric, isWindowType, Schema, typeToString, WINDOW_TYPE } from '../common/schema.js';
import { BinaryOp, children, Expr, stripAlias, walk } from './expressions.js';
import { checkPercentileParameters, DEFAULT_ACCURACY, hllPrecision } from './aggregate-parameters.js';
import { joinSchema } from './join-analysis.js';
import { LogicalPlan } from './logical.js';
import { argumentType, SCALAR_FUNCTIONS } from './scalar-functions.js';

const schemas = new WeakMap<LogicalPlan, Schema>();

/** The output columns of a plan node, resolving names and types (cached per node). */
export function schemaOf(plan: LogicalPlan): Schema {
  const cached = schemas.get(plan);
  if (cached) return cached;
  const schema = computeSchema(plan);
  schemas.set(plan, schema);
  return schema;
}

/** True when every input's schema is known, so the plan can be analyzed now. */
export function isResolvable(plan: LogicalPlan): boolean {
  if (plan.kind === 'relation') return plan.input.schema !== null;
  if (plan.kind === 'stream') return true;
  if (plan.kind === 'union' || plan.kind === 'join') return isResolvable(plan.left) && isResolvable(plan.right);
  return isResolvable(plan.child);
}

function computeSchema(plan: LogicalPlan): Schema {
  switch (plan.kind) {
    case 'stream': return plan.input.schema;
    case 'relation': {
      if (!plan.input.schema) throw new AnalysisError(`The schema of ${plan.input.description} is not known yet.`);
      return plan.input.schema;
    }
    case 'project': {
      const input = schemaOf(plan.child);
      const fields = plan.exprs.flatMap((e) => (stripAlias(e).kind === 'star' ? input : [fieldFor(e, input)]));
      for (const e of plan.exprs) rejectAggregates(e, 'select');
      return fields;
    }
    case 'filter': {
      const input = schemaOf(plan.child);
      rejectAggregates(plan.condition, 'filter');
      const t = typeOf(plan.condition, input);
      if (t !== 'boolean') {
        throw new AnalysisError(`The filter condition ${nameOf(plan.condition)} is ${typeToString(t)}, not boolean.`,
          'TYPE_MISMATCH');
      }
      return input;
    }
    case 'mapRows': case 'flatMapRows': return plan.schema;
    case 'filterRows': case 'sort': case 'limit': case 'dedup': {
      const input = schemaOf(plan.child);
      if (plan.kind === 'sort') for (const o of plan.orders) typeOf(o, input);
      if (plan.kind === 'dedup') checkDedupKeys(plan.keys, input, plan.withinWatermark);
      return input;
    }
    case 'union': {
      const left = schemaOf(plan.left);
      const right = schemaOf(plan.right);
      if (left.length !== right.length || left.some((f, i) => f.type !== right[i]!.type && !(isNumeric(f.type) && isNumeric(right[i]!.type)))) {
        throw new AnalysisError(`union needs inputs with the same column types by position: ` +
          `[${describe(left)}] vs [${describe(right)}]. Select matching columns first.`, 'UNION_MISMATCH');
      }
      // By position, as Spark's union; the left side names the columns; event time survives if both carry it.
      return left.map((f, i) => {
        const r = right[i]!;
        const delay = f.eventTimeDelayMs !== undefined && r.eventTimeDelayMs !== undefined
          ? Math.max(f.eventTimeDelayMs, r.eventTimeDelayMs) : undefined;
        return withEventTime({ ...f, type: unionType(f.type, r.type), nullable: f.nullable || r.nullable }, delay);
      });
    }
    case 'join': {
      const left = schemaOf(plan.left);
      const right = schemaOf(plan.right);
      const schema = joinSchema(left, right, plan.on, plan.joinType);
      if ('condition' in plan.on) {
        rejectAggregates(plan.on.condition, 'a join condition');
        const t = typeOf(plan.on.condition, [...left, ...right]);
        if (t !== 'boolean') {
          throw new AnalysisError(`The join condition ${nameOf(plan.on.condition)} is ${typeToString(t)}, not boolean.`,
            'TYPE_MISMATCH');
        }
      }
      return schema;
    }
    case 'watermark': {
      const input = schemaOf(plan.child);
      const field = input.find((f) => f.name === plan.column);
      if (!field) throw unknownColumn(plan.column, input, 'withWatermark');
      if (field.type !== 'timestamp') {
        throw new AnalysisError(`withWatermark('${plan.column}') needs a timestamp column, but '${plan.column}' is ` +
          `${typeToString(field.type)}. Cast it first, e.g. col('${plan.column}').cast('timestamp').`, 'TYPE_MISMATCH');
      }
      return input.map((f) => (f.name === plan.column ? { ...f, eventTimeDelayMs: plan.delayMs } : f));
    }
    case 'aggregate': {
      const input = schemaOf(plan.child);
      const fields: Field[] = plan.groups.map((g) => fieldFor(g, input));
      for (const g of plan.groups) rejectAggregates(g, 'groupBy');
      for (const a of plan.aggs) {
        if (!stripAliasIsAggregate(a)) {
          throw new AnalysisError(`agg() takes aggregate functions such as count, sum, avg; ${nameOf(a)} is not one. ` +
            `Group by it instead, or wrap it in first().`, 'NOT_AN_AGGREGATE');
        }
        fields.push(fieldFor(a, input));
      }
      checkUniqueNames(fields, 'groupBy().agg()');
      return fields;
    }
  }
}

function stripAliasIsAggregate(e: Expr): boolean {
  const inner = stripAlias(e);
  if (inner.kind !== 'aggregate') return false;
  for (const input of children(inner)) rejectAggregates(input, 'an aggregate function');
  return true;
}

function rejectAggregates(expr: Expr, where: string): void {
  walk(expr, (e) => {
    if (e.kind === 'aggregate') {
      throw new AnalysisError(`Aggregate function ${nameOf(e)} is not allowed in ${where}; ` +
        `use groupBy(...).agg(...) to aggregate.`, 'MISPLACED_AGGREGATE');
    }
  });
}

function checkDedupKeys(keys: readonly string[] | null, input: Schema, withinWatermark: boolean): void {
  for (const k of keys ?? []) if (!input.some((f) => f.name === k)) throw unknownColumn(k, input, 'dropDuplicates');
  if (withinWatermark && !input.some((f) => f.eventTimeDelayMs !== undefined)) {
    throw new AnalysisError('dropDuplicatesWithinWatermark needs a watermark: call withWatermark(column, delay) ' +
      'before it.', 'MISSING_WATERMARK');
  }
}

function checkUniqueNames(fields: readonly Field[], where: string): void {
  const seen = new Set<string>();
  for (const f of fields) {
    if (seen.has(f.name)) {
      throw new AnalysisError(`${where} produces two columns named '${f.name}'; give one a different name with .as().`,
        'DUPLICATE_COLUMN');
    }
    seen.add(f.name);
  }
}

function withEventTime(field: Field, delayMs: number | undefined): Field {
  const { eventTimeDelayMs: _, ...rest } = field;
  return delayMs === undefined ? rest : { ...rest, eventTimeDelayMs: delayMs };
}

/** The field an expression produces over the given input. */
export function fieldFor(expr: Expr, input: Schema): Field {
  const type = typeOf(expr, input);
  return withEventTime({ name: nameOf(expr), type, nullable: true }, eventTimeDelayOf(expr, input));
}

/** The watermark delay an expression inherits: a reference to an event-time column, or a window over one. */
export function eventTimeDelayOf(expr: Expr, input: Schema): number | undefined {
  const e = stripAlias(expr);
  if (e.kind === 'column' && e.path.length === 1) return input.find((f) => f.name === e.path[0])?.eventTimeDelayMs;
  if (e.kind === 'window' || e.kind === 'sessionWindow') return eventTimeDelayOf(e.time, input);
  // A window's event time keeps its watermark, so the next operator can window it again (Spark 3.5).
  if (e.kind === 'call' && e.fn === 'window_time') return eventTimeDelayOf(e.args[0]!, input);
  return undefined;
}

export function resolveColumn(path: readonly string[], input: Schema): Field {
  const top = input.find((f) => f.name === path[0]);
  if (!top) throw unknownColumn(path.join('.'), input, 'an expression');
  let field: Field = top;
  for (const part of path.slice(1)) {
    const t = field.type;
    // A map's entry reads as a field, as in Spark (`col('attrs.color')`); a missing key is null.
    const next = typeof t !== 'object' ? undefined : t.kind === 'struct' ? t.fields.find((f) => f.name === part)
      : t.kind === 'map' ? { name: part, type: t.value, nullable: true } : undefined;
    if (!next) {
      throw new AnalysisError(`Column '${path.join('.')}' does not exist: '${field.name}' has no field '${part}'.`,
        'UNKNOWN_COLUMN');
    }
    field = next;
  }
  return field;
}

function unknownColumn(name: string, input: Schema, where: string): AnalysisError {
  return new AnalysisError(`Column '${name}' used in ${where} does not exist. Available columns: ` +
    `${input.map((f) => f.name).join(', ') || '(none)'}.`, 'UNKNOWN_COLUMN');
}

const ARITHMETIC = new Set<BinaryOp>(['+', '-', '*', '/', '%']);

export function typeOf(expr: Expr, input: Schema): DataType {
  switch (expr.kind) {
    case 'column': return resolveColumn(expr.path, input).type;
    case 'literal': {
      const v = expr.value;
      // An integer beyond 2^53 is not exact in JavaScript: it is a double, not a long that was rounded.
      if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) <= 2147483647 ? 'integer' : Number.isSafeInteger(v) ? 'long' : 'double';
      if (typeof v === 'boolean') return 'boolean';
      if (v instanceof Uint8Array) return 'binary';
      if (v instanceof Decimal) return decimalType(v.precision, v.scale, `the literal ${v.toString()} (round it to at most 38 digits)`);
      return 'string';
    }
    case 'alias': case 'sortOrder': return typeOf(expr.child, input);
    case 'binary': {
      const l = typeOf(expr.left, input);
      const r = typeOf(expr.right, input);
      if (!ARITHMETIC.has(expr.op)) {
        if ((expr.op === 'and' || expr.op === 'or') && (l !== 'boolean' || r !== 'boolean')) {
          throw new AnalysisError(`${nameOf(expr)} combines ${typeToString(l)} and ${typeToString(r)}; ` +
            `${expr.op.toUpperCase()} needs booleans.`, 'TYPE_MISMATCH');
        }
        return 'boolean';
      }
      if (isDecimalType(l) || isDecimalType(r)) return decimalArithmeticType(expr, l, r);
      if (l === 'timestamp' && (expr.op === '+' || expr.op === '-') && isNumeric(r)) return 'timestamp';
      if (!isNumeric(l) && l !== 'timestamp' || !isNumeric(r) && r !== 'timestamp') {
        throw new AnalysisError(`${nameOf(expr)} needs numbers, but its operands are ${typeToString(l)} and ` +
          `${typeToString(r)}. Cast them first, e.g. .cast('double').`, 'TYPE_MISMATCH');
      }
      if (expr.op === '/' || l === 'double' || r === 'double') return 'double';
      return l === 'long' || r === 'long' || l === 'timestamp' || r === 'timestamp' ? 'long' : 'integer';
    }
    case 'unary': {
      const t = typeOf(expr.child, input);
      return expr.op === 'negate' ? t : 'boolean';
    }
    case 'cast': typeOf(expr.child, input); return expr.to;
    case 'call': {
      const fn = SCALAR_FUNCTIONS[expr.fn];
      if (!fn) throw new AnalysisError(`Unknown function '${expr.fn}'.`, 'UNKNOWN_FUNCTION');
      if (expr.args.length < fn.minArgs || expr.args.length > fn.maxArgs) {
        throw new AnalysisError(`${fn.sqlName} takes ${fn.minArgs}${fn.maxArgs > fn.minArgs ? `..${fn.maxArgs}` : ''} ` +
          `arguments, got ${expr.args.length}.`, 'WRONG_ARGUMENTS');
      }
      const literals = expr.args.map((a) => (a.kind === 'literal' ? a.value : undefined));
      fn.checkLiterals?.(literals);
      return fn.resultType(expr.args.map((a) => argumentType(expr.fn, typeOf(a, input))), literals);
    }
    case 'in': for (const e of [expr.child, ...expr.list]) typeOf(e, input); return 'boolean';
    case 'case': {
      for (const [c] of expr.branches) typeOf(c, input);
      const types = [...expr.branches.map(([, v]) => v), ...(expr.otherwise ? [expr.otherwise] : [])]
        .filter((v) => !(v.kind === 'literal' && v.value === null)).map((v) => typeOf(v, input));
      if (types.includes('double')) return 'double';
      if (types.some(isDecimalType)) return widestDecimal(types) ?? types[0]!;
      return types[0] ?? 'string';
    }
    case 'aggregate': {
      const t = expr.child ? typeOf(expr.child, input) : 'long';
      switch (expr.fn) {
        case 'count': case 'countDistinct': return 'long';
        case 'avg': requireNumeric(expr, t); return isDecimalType(t) ? avgType(t) : 'double';
        case 'sum': requireNumeric(expr, t); return isDecimalType(t) ? sumType(t) : t === 'double' ? 'double' : 'long';
        case 'collectList': case 'collectSet': return { kind: 'array', element: t };
        case 'stddev': case 'stddevSamp': case 'stddevPop': case 'variance': case 'varSamp': case 'varPop':
          requireNumeric(expr, t); return 'double';
        case 'countIf': requireBoolean(expr, t); return 'long';
        case 'boolAnd': case 'boolOr': requireBoolean(expr, t); return 'boolean';
        case 'approxCountDistinct': {
          const rsd = expr.params?.[0];
          if (rsd !== undefined && typeof rsd !== 'number') {
            throw new AnalysisError(`${nameOf(expr)}: the relative standard deviation must be a number, got ${JSON.stringify(rsd)}.`,
              'WRONG_ARGUMENTS');
          }
          if (rsd !== undefined) hllPrecision(rsd);
          return 'long';
        }
        case 'percentileApprox': {
          checkPercentileParameters(nameOf(expr), expr.params?.[0], expr.params?.[1]);
          if (!isNumeric(t) && t !== 'timestamp' && t !== 'date') {
            throw new AnalysisError(`${nameOf(expr)} needs a numeric, date or timestamp column, got ${typeToString(t)}.`, 'TYPE_MISMATCH');
          }
          // Computed in doubles (exec/aggregate.ts), so a decimal column gives doubles here.
          const element = isDecimalType(t) ? 'double' : t;
          return Array.isArray(expr.params?.[0]) ? { kind: 'array', element } : element;
        }
        case 'maxBy': case 'minBy': {
          const by = expr.by ? typeOf(expr.by, input) : undefined;
          if (by === undefined || typeof by !== 'string' || by === 'binary') {
            throw new AnalysisError(`${nameOf(expr)} needs an ordering of an orderable type (number, string, timestamp, ` +
              `boolean)${by === undefined ? '' : `, got ${typeToString(by)}`}.`, 'TYPE_MISMATCH');
          }
          return t;
        }
        default: return t;
      }
    }
    case 'window': case 'sessionWindow': {
      const t = typeOf(expr.time, input);
      // A window over a window column windows its event time (window_time), as Spark's does.
      if (expr.kind === 'window' && isWindowType(t)) return WINDOW_TYPE;
      if (t !== 'timestamp') {
        throw new AnalysisError(`${expr.kind === 'window' ? 'window' : 'sessionWindow'}() needs a timestamp column, ` +
          `but ${nameOf(expr.time)} is ${typeToString(t)}. Cast it with .cast('timestamp').`, 'TYPE_MISMATCH');
      }
      return WINDOW_TYPE;
    }
    case 'star': throw new AnalysisError(`'*' can only be used alone in select() or in count('*').`, 'MISPLACED_STAR');
  }
}

/**
 * The type of arithmetic with a decimal operand, as Spark types it: with a double the decimal is
 * converted and the result is a double; an int or long operand is widened to DECIMAL(10,0) or
 * DECIMAL(20,0) (an integer literal to just its digits), and the result follows DecimalPrecision.
 */
function decimalArithmeticType(expr: Extract<Expr, { kind: 'binary' }>, l: DataType, r: DataType): DataType {
  if (l === 'double' || r === 'double') return 'double';
  const left = decimalOperandType(expr.left, l);
  const right = decimalOperandType(expr.right, r);
  if (left === undefined || right === undefined) {
    throw new AnalysisError(`${nameOf(expr)} needs numbers, but its operands are ${typeToString(l)} and ` +
      `${typeToString(r)}. Cast them first, e.g. .cast('decimal(10,2)').`, 'TYPE_MISMATCH');
  }
  return arithmeticType(expr.op as '+' | '-' | '*' | '/' | '%', left, right);
}

/**
 * The type of a union column whose sides have types `a` and `b`: with a decimal, Spark's widening (a
 * double side makes it double, else the decimal type holding both; the planner casts each side to it).
 */
function unionType(a: DataType, b: DataType): DataType {
  if (a === b || (!isDecimalType(a) && !isDecimalType(b))) return a;
  return a === 'double' || b === 'double' ? 'double' : widestDecimal([a, b]) ?? a;
}

/**
 * The decimal type holding every value of `types` (decimals, ints as DECIMAL(10,0), longs as DECIMAL(20,0)),
 * as Spark widens the branches of CASE; undefined when one is not a number.
 */
function widestDecimal(types: readonly DataType[]): DecimalType | undefined {
  let wide: DecimalType | undefined;
  for (const t of types) {
    const d = isDecimalType(t) ? t : integralDecimal(t);
    if (d === undefined) return undefined;
    wide = wide === undefined ? d : widerDecimal(wide, d);
  }
  return wide;
}

/** The decimal type an operand takes in decimal arithmetic; undefined when it is not a number. */
export function decimalOperandType(e: Expr, t: DataType): DecimalType | undefined {
  if (isDecimalType(t)) return t;
  const inner = stripAlias(e);
  if (inner.kind === 'literal' && typeof inner.value === 'number' && Number.isSafeInteger(inner.value)) {
    return integerLiteralType(inner.value);
  }
  return integralDecimal(t);
}

/** The decimal type an int or long widens to when it meets a decimal (Spark's IntDecimal, LongDecimal); undefined for other types. */
function integralDecimal(t: DataType): DecimalType | undefined {
  return t === 'integer' ? INT_DECIMAL : t === 'long' ? LONG_DECIMAL : undefined;
}

function requireBoolean(expr: Expr, t: DataType): void {
  if (t !== 'boolean') {
    throw new AnalysisError(`${nameOf(expr)} needs a boolean column (a condition), got ${typeToString(t)}.`, 'TYPE_MISMATCH');
  }
}

function requireNumeric(expr: Expr, t: DataType): void {
  if (!isNumeric(t)) {
    throw new AnalysisError(`${nameOf(expr)} needs a numeric column, got ${typeToString(t)}.`, 'TYPE_MISMATCH');
  }
}

const OP_SQL: Record<BinaryOp, string> = {
  '+': '+', '-': '-', '*': '*', '/': '/', '%': '%', '=': '=', '!=': '!=', '>': '>', '>=': '>=', '<': '<', '<=': '<=',
  '<=>': '<=>', and: 'AND', or: 'OR',
};

/** The column name Spark gives an expression that has no alias. */
export function nameOf(expr: Expr): string {
  switch (expr.kind) {
    case 'column': return expr.path[expr.path.length - 1]!;
    case 'literal': return expr.value === null ? 'NULL' : String(expr.value);
    case 'alias': return expr.name;
    case 'binary':
      if (expr.op === '!=') return `(NOT (${nameOf(expr.left)} = ${nameOf(expr.right)}))`;
      return `(${nameOf(expr.left)} ${OP_SQL[expr.op]} ${nameOf(expr.right)})`;
    case 'unary':
      switch (expr.op) {
        case 'not': return `(NOT ${nameOf(expr.child)})`;
        case 'negate': return `(- ${nameOf(expr.child)})`;
        case 'isNull': return `(${nameOf(expr.child)} IS NULL)`;
        case 'isNotNull': return `(${nameOf(expr.child)} IS NOT NULL)`;
      }
      break;
    case 'cast':
      return expr.child.kind === 'column' ? nameOf(expr.child) : `CAST(${nameOf(expr.child)} AS ${expr.to.toUpperCase()})`;
    case 'call': return `${SCALAR_FUNCTIONS[expr.fn]?.sqlName ?? expr.fn}(${expr.args.map(nameOf).join(', ')})`;
    case 'in': return `(${nameOf(expr.child)} IN (${expr.list.map(nameOf).join(', ')}))`;
    case 'case':
      return `CASE ${expr.branches.map(([c, v]) => `WHEN ${nameOf(c)} THEN ${nameOf(v)}`).join(' ')}` +
        `${expr.otherwise ? ` ELSE ${nameOf(expr.otherwise)}` : ''} END`;
    case 'aggregate': {
      const arg = expr.child ? nameOf(expr.child) : '1';
      if (expr.fn === 'countDistinct') return `count(DISTINCT ${arg})`;
      const args = [arg, ...(expr.by ? [nameOf(expr.by)] : [])];
      if (expr.fn === 'percentileApprox') {
        const [percentage, accuracy = DEFAULT_ACCURACY] = expr.params ?? [];
        args.push(Array.isArray(percentage) ? `array(${percentage.join(', ')})` : String(percentage), String(accuracy));
      }
      // Spark's SQL names: collectList is collect_list, maxBy max_by.
      return `${expr.fn.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}(${args.join(', ')})`;
    }
    case 'window': return 'window';
    case 'sessionWindow': return 'session_window';
    case 'sortOrder': return `${nameOf(expr.child)} ${expr.descending ? 'DESC' : 'ASC'}`;
    case 'star': return '*';
  }
  return '?';
}

function describe(schema: Schema): string {
  return schema.map((f) => `${f.name}: ${typeToString(f.type)}`).join(', ');
}
