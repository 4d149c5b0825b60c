import { fieldReadCode, literalKeyCode } from '../codec/fields.js';
import { AnalysisError } from '../common/errors.js';
import { Row, Schema, typeToString, Value } from '../common/schema.js';
import { decimalParams, isDecimalType } from '../common/decimal-type.js';
import { decimalOperandType, resolveColumn, typeOf } from '../plan/analyzer.js';
import { Expr, stripAlias } from '../plan/expressions.js';
import { FlatRowFunction, RowFunction, RowPredicate } from '../plan/logical.js';
import { argumentType, SCALAR_FUNCTIONS } from '../plan/scalar-functions.js';
import { runtime } from './runtime.js';

/**
 * The JavaScript text of an atomic literal. Numbers JSON cannot write (NaN, ±Infinity, -0) are
 * written as JavaScript, since JSON.stringify would make them null (or 0).
 */
function literalCode(value: string | number | boolean | null): string {
  if (typeof value !== 'number' || (Number.isFinite(value) && !Object.is(value, -0))) return JSON.stringify(value);
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : value < 0 ? '(-Infinity)' : '(-0)';
}

/** What compiled code may read besides the row: the batch's logged timestamp. */
export interface EvalContext { readonly batchTimestampMs: number }

export type CompiledExpr = (row: Row, ctx: EvalContext) => Value;

/**
 * Turns expressions into JavaScript source once per query, so a batch runs straight-line code
 * instead of walking an expression tree per row. Each sub-expression becomes a local; constants
 * that are not plain literals (sets, regexes, user functions) are passed in through `k`.
 */
class CodeBuilder {
  readonly constants: unknown[] = [];
  private counter = 0;

  temp(): string {
    return `t${this.counter++}`;
  }

  constant(value: unknown): string {
    this.constants.push(value);
    return `k[${this.constants.length - 1}]`;
  }

  /** Appends statements computing `expr` over row variable `row`; returns the local holding the value. */
  emit(expr: Expr, schema: Schema, row: string, out: string[]): string {
    const t = this.temp();
    out.push(`const ${t} = ${this.valueOf(expr, schema, row, out)};`);
    return t;
  }

  private valueOf(expr: Expr, schema: Schema, row: string, out: string[]): string {
    switch (expr.kind) {
      case 'column': {
        resolveColumn(expr.path, schema);
        let access = fieldReadCode(row, expr.path[0]!);
        for (const part of expr.path.slice(1)) access = `(${access} == null ? null : ${fieldReadCode(access, part)})`;
        return `(${access} ?? null)`;
      }
      case 'literal':
        return expr.value === null || typeof expr.value !== 'object' ? literalCode(expr.value) : this.constant(expr.value);
      case 'alias': case 'sortOrder':
        return this.valueOf(expr.child, schema, row, out);
      case 'binary': {
        const decimal = this.decimalBinary(expr, schema, row, out);
        if (decimal !== undefined) return decimal;
        const l = this.emit(expr.left, schema, row, out);
        const r = this.emit(expr.right, schema, row, out);
        switch (expr.op) {
          case 'and': return `(${l} === false || ${r} === false ? false : ${l} === null || ${r} === null ? null : true)`;
          case 'or': return `(${l} === true || ${r} === true ? true : ${l} === null || ${r} === null ? null : false)`;
          case '/': return `(${l} === null || ${r} === null || ${r} === 0 ? null : ${l} / ${r})`;
          case '%': return `(${l} === null || ${r} === null || ${r} === 0 ? null : ${l} % ${r})`;
          // Spark's NaN equals NaN (its own rule, unlike IEEE and JavaScript).
          case '=': return `(${l} === null || ${r} === null ? null : ${sameValue(l, r)})`;
          case '!=': return `(${l} === null || ${r} === null ? null : !${sameValue(l, r)})`;
          // Null-safe equality: never null; two nulls are equal.
          case '<=>': return `(${l} === null || ${r} === null ? ${l} === ${r} : ${sameValue(l, r)})`;
          default:
            // Strings order by UTF-8 bytes, as in Spark, which JavaScript's UTF-16 comparison does not give.
            if (typeOf(expr.left, schema) === 'string' && typeOf(expr.right, schema) === 'string') {
              return `(${l} === null || ${r} === null ? null : rt.compareText(${l}, ${r}) ${expr.op} 0)`;
            }
            return `(${l} === null || ${r} === null ? null : ${l} ${expr.op} ${r})`;
        }
      }
      case 'unary': {
        const v = this.emit(expr.child, schema, row, out);
        switch (expr.op) {
          case 'not': return `(${v} === null ? null : !${v})`;
          case 'negate': return `(${v} === null ? null : ${isDecimalType(typeOf(expr.child, schema)) ? `${v}.negate()` : `-${v}`})`;
          case 'isNull': return `(${v} === null)`;
          case 'isNotNull': return `(${v} !== null)`;
        }
        break;
      }
      case 'cast': {
        const v = this.emit(expr.child, schema, row, out);
        const from = typeOf(expr.child, schema);
        if (from === expr.to) return v;
        return `rt.cast(${v}, ${JSON.stringify(from)}, ${JSON.stringify(expr.to)})`;
      }
      case 'call': {
        const fn = SCALAR_FUNCTIONS[expr.fn]!;
        const types = expr.args.map((a) => typeOf(a, schema));
        const argTypes = types.map((t) => argumentType(expr.fn, t));
        const args = expr.args.map((a, i) => {
          const v = this.emit(a, schema, row, out);
          if (argTypes[i] === types[i]) return v;
          const d = this.temp();
          out.push(`const ${d} = ${v} === null ? null : ${v}.toNumber();`);
          return d;
        });
        const code = fn.emit(args, argTypes);
        if (fn.handlesNull || args.length === 0) return `(${code})`;
        return `(${args.map((a) => `${a} === null`).join(' || ')} ? null : ${code})`;
      }
      case 'in': {
        const v = this.emit(expr.child, schema, row, out);
        const childType = typeOf(expr.child, schema);
        if (isDecimalType(childType)) {
          const items = expr.list.map((e) => this.asDecimal(e, schema, row, out));
          return `(${v} === null ? null : rt.decimalIn(${v}, [${items.join(', ')}]))`;
        }
        if (expr.list.every((e) => e.kind === 'literal' && e.value !== null)) {
          const set = this.constant(new Set(expr.list.map((e) => (e.kind === 'literal' ? e.value : null))));
          return `(${v} === null ? null : ${set}.has(${v}))`;
        }
        const items = expr.list.map((e) => this.emit(e, schema, row, out));
        return `(${v} === null ? null : [${items.join(', ')}].includes(${v}) ? true : ` +
          `[${items.join(', ')}].includes(null) ? null : false)`;
      }
      case 'case': {
        // A DECIMAL result holds every branch at its own precision and scale (Spark casts each branch to it).
        const result = typeOf(expr, schema);
        const branch = (e: Expr): string => {
          const v = this.emit(e, schema, row, out);
          const t = typeOf(e, schema);
          if (!isDecimalType(result) || t === result) return v;
          const { precision, scale } = decimalParams(result);
          return `rt.castToDecimal(${v}, ${JSON.stringify(t)}, ${precision}, ${scale})`;
        };
        let code = expr.otherwise ? branch(expr.otherwise) : 'null';
        for (const [cond, value] of [...expr.branches].reverse()) {
          const c = this.emit(cond, schema, row, out);
          const v = branch(value);
          code = `(${c} === true ? ${v} : ${code})`;
        }
        return code;
      }
      case 'window': {
        if (expr.slideMs !== expr.sizeMs) {
          throw new AnalysisError('A sliding window puts a row in several windows; use it in groupBy(), not in select().',
            'SLIDING_WINDOW_IN_SELECT');
        }
        const ts = this.emit(expr.time, schema, row, out);
        const start = this.temp();
        out.push(`const ${start} = ${ts} === null ? 0 : ${ts} - ((((${ts} - ${expr.startMs}) % ${expr.sizeMs}) + ${expr.sizeMs}) % ${expr.sizeMs});`);
        return `(${ts} === null ? null : { start: ${start}, end: ${start} + ${expr.sizeMs} })`;
      }
      case 'aggregate': case 'sessionWindow': case 'star':
        throw new AnalysisError(`${expr.kind} cannot be evaluated per row here.`, 'UNSUPPORTED_EXPRESSION');
    }
    return 'null';
  }

  /**
   * Arithmetic and comparisons with a decimal operand, as Spark evaluates them: with a double, the
   * decimal is converted to a double; otherwise an integer operand becomes a decimal and the decimal
   * result (rounded to the analyzed type, null on overflow) or order is exact. Undefined: no decimal here.
   */
  private decimalBinary(expr: Extract<Expr, { kind: 'binary' }>, schema: Schema, row: string, out: string[]): string | undefined {
    if (expr.op === 'and' || expr.op === 'or') return undefined;
    const lt = typeOf(expr.left, schema);
    const rt = typeOf(expr.right, schema);
    if (!isDecimalType(lt) && !isDecimalType(rt)) return undefined;
    const nulls = (l: string, r: string): string => `${l} === null || ${r} === null ? null`;
    if (lt === 'double' || rt === 'double') {
      const l = this.emit(expr.left, schema, row, out);
      const r = this.emit(expr.right, schema, row, out);
      const num = (v: string, t: typeof lt): string => (isDecimalType(t) ? `${v}.toNumber()` : v);
      if (expr.op === '<=>') return `(${l} === null || ${r} === null ? ${l} === ${r} : ${num(l, lt)} === ${num(r, rt)})`;
      const value = `${num(l, lt)} ${jsOperator(expr.op)} ${num(r, rt)}`;
      return `(${nulls(l, r)} : ${expr.op === '/' || expr.op === '%' ? `${num(r, rt)} === 0 ? null : ${value}` : value})`;
    }
    const l = this.asDecimal(expr.left, schema, row, out);
    const r = this.asDecimal(expr.right, schema, row, out);
    switch (expr.op) {
      case '+': case '-': case '*': case '/': case '%': {
        const result = typeOf(expr, schema);
        if (!isDecimalType(result)) return undefined;
        const { precision, scale } = decimalParams(result);
        return `(${nulls(l, r)} : rt.decimalArithmetic('${expr.op}', ${l}, ${r}, ${precision}, ${scale}))`;
      }
      case '<=>': return `(${l} === null || ${r} === null ? ${l} === ${r} : ${l}.compare(${r}) === 0)`;
      default: return `(${nulls(l, r)} : ${l}.compare(${r}) ${jsOperator(expr.op)} 0)`;
    }
  }

  /** A local holding `e` as a decimal (an integer operand converted); null stays null. */
  private asDecimal(e: Expr, schema: Schema, row: string, out: string[]): string {
    const v = this.emit(e, schema, row, out);
    const t = typeOf(e, schema);
    if (isDecimalType(t)) return v;
    if (decimalOperandType(e, t) === undefined) {
      throw new AnalysisError(`Cannot compare or combine ${typeToString(t)} with a decimal; cast it first, e.g. .cast('decimal(10,2)').`,
        'TYPE_MISMATCH');
    }
    const d = this.temp();
    out.push(`const ${d} = ${v} === null ? null : rt.decimalOf(${v});`);
    return d;
  }
}

/** One expression as a function of a row (for keys, aggregate inputs, sort keys). */
export function compileExpression(expr: Expr, schema: Schema): CompiledExpr {
  const b = new CodeBuilder();
  const lines: string[] = [];
  const result = b.emit(stripAlias(expr), schema, 'r', lines);
  const body = `return function compiledExpression(r, ctx) {\n${lines.join('\n')}\nreturn ${result};\n};`;
  return new Function('k', 'rt', body)(b.constants, runtime) as CompiledExpr;
}

/** A step of a stateless chain, fused with its neighbours into one loop. */
export type StatelessStep =
  | { readonly kind: 'filter'; readonly condition: Expr; readonly input: Schema }
  | { readonly kind: 'project'; readonly exprs: readonly Expr[]; readonly input: Schema; readonly output: Schema }
  | { readonly kind: 'map'; readonly fn: RowFunction }
  | { readonly kind: 'flatMap'; readonly fn: FlatRowFunction }
  | { readonly kind: 'filterFn'; readonly fn: RowPredicate };

export type CompiledSteps = (rows: readonly Row[], ctx: EvalContext) => Row[];

/**
 * Compiles a chain of filters, projections and user functions into a single loop: one pass over
 * the batch, no intermediate arrays, and an output row is allocated only when a projection builds it.
 */
export function compileSteps(steps: readonly StatelessStep[]): CompiledSteps {
  const b = new CodeBuilder();
  const lines: string[] = ['const out = [];', 'for (let i = 0, n = rows.length; i < n; i++) {', 'const r0 = rows[i];'];
  let row = 'r0';
  let rowCount = 0;
  let openLoops = 0;
  for (const step of steps) {
    const next = `r${++rowCount}`;
    switch (step.kind) {
      case 'filter': {
        const c = b.emit(step.condition, step.input, row, lines);
        lines.push(`if (${c} !== true) continue;`);
        continue;
      }
      case 'project': {
        const exprs = step.exprs.flatMap((e): Expr[] => (stripAlias(e).kind === 'star'
          ? step.input.map((f): Expr => ({ kind: 'column', path: [f.name] })) : [e]));
        // Output names come from the analyzed schema, position by position.
        const values = exprs.map((e) => b.emit(e, step.input, row, lines));
        lines.push(`const ${next} = { ${step.output.map((f, i) => `${literalKeyCode(f.name)}: ${values[i]}`).join(', ')} };`);
        break;
      }
      case 'map':
        lines.push(`const ${next} = ${b.constant(step.fn)}(${row});`);
        break;
      case 'filterFn':
        lines.push(`if (${b.constant(step.fn)}(${row}) !== true) continue;`);
        continue;
      case 'flatMap':
        lines.push(`for (const ${next} of ${b.constant(step.fn)}(${row})) {`);
        openLoops++;
        break;
    }
    row = next;
  }
  lines.push(`out.push(${row});`, '}'.repeat(openLoops), '}', 'return out;');
  const body = `return function compiledSteps(rows, ctx) {\n${lines.join('\n')}\n};`;
  return new Function('k', 'rt', body)(b.constants, runtime) as CompiledSteps;
}

/**
 * Compiles `function(rows, ...params)` that loops over `rows`, evaluates `inputs` over each row `r`
 * into locals and runs `body(values)`, the caller's statements (stateful operators inline their
 * per-row updates this way). `prologue` runs once before the loop.
 */
export function compileRowLoop<F>(params: readonly string[], inputs: readonly Expr[], schema: Schema,
  prologue: string, body: (values: readonly string[]) => string): F {
  const b = new CodeBuilder();
  const lines: string[] = [];
  const values = inputs.map((e) => b.emit(stripAlias(e), schema, 'r', lines));
  const source = `return function compiledRowLoop(rows, ${params.join(', ')}) {\n${prologue}\n` +
    `for (let i = 0, n = rows.length; i < n; i++) {\nconst r = rows[i];\n${lines.join('\n')}\n${body(values)}\n}\n};`;
  return new Function('k', 'rt', source)(b.constants, runtime) as F;
}

/** JavaScript's operator for a binary operator on two non-null values (`=` is `===`). */
function jsOperator(op: string): string {
  return op === '=' ? '===' : op === '!=' ? '!==' : op;
}

/** Code for Spark's equality of two non-null values: JavaScript's, except that NaN equals NaN. */
function sameValue(l: string, r: string): string {
  return `(${l} === ${r} || (${l} !== ${l} && ${r} !== ${r}))`;
}
