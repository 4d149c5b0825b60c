import { AtomicType, parseTypeName, Value } from '../common/schema.js';
import { BinaryOp, columnRef, Expr } from '../plan/expressions.js';

/** A column name or a Column, wherever a column is expected. */
export type ColumnLike = string | Column;
/** An operand: a Column, or a plain value taken as a literal. */
export type Operand = Column | Value;

/**
 * An expression over the columns of a DataFrame. Methods carry Spark's Java names (`plus`, `gt`,
 * `equalTo`, …) since TypeScript has no operator overloading.
 */
export class Column {
  constructor(readonly expr: Expr) {}

  plus(other: Operand): Column { return this.binary('+', other); }
  minus(other: Operand): Column { return this.binary('-', other); }
  multiply(other: Operand): Column { return this.binary('*', other); }
  divide(other: Operand): Column { return this.binary('/', other); }
  mod(other: Operand): Column { return this.binary('%', other); }
  equalTo(other: Operand): Column { return this.binary('=', other); }
  /** Null-safe equality (SQL `<=>`): true when both are null, false when one is; never null. */
  eqNullSafe(other: Operand): Column { return this.binary('<=>', other); }
  notEqual(other: Operand): Column { return this.binary('!=', other); }
  gt(other: Operand): Column { return this.binary('>', other); }
  geq(other: Operand): Column { return this.binary('>=', other); }
  lt(other: Operand): Column { return this.binary('<', other); }
  leq(other: Operand): Column { return this.binary('<=', other); }
  and(other: Operand): Column { return this.binary('and', other); }
  or(other: Operand): Column { return this.binary('or', other); }
  not(): Column { return new Column({ kind: 'unary', op: 'not', child: this.expr }); }
  negate(): Column { return new Column({ kind: 'unary', op: 'negate', child: this.expr }); }
  isNull(): Column { return new Column({ kind: 'unary', op: 'isNull', child: this.expr }); }
  isNotNull(): Column { return new Column({ kind: 'unary', op: 'isNotNull', child: this.expr }); }

  isin(...values: Operand[]): Column {
    return new Column({ kind: 'in', child: this.expr, list: values.map(toExpr) });
  }

  between(lower: Operand, upper: Operand): Column {
    return this.geq(lower).and(this.leq(upper));
  }

  cast(to: AtomicType | string): Column {
    return new Column({ kind: 'cast', child: this.expr, to: parseTypeName(to, 'cast') });
  }

  as(name: string): Column { return new Column({ kind: 'alias', child: this.expr, name }); }
  alias(name: string): Column { return this.as(name); }
  asc(): Column { return new Column({ kind: 'sortOrder', child: this.expr, descending: false }); }
  desc(): Column { return new Column({ kind: 'sortOrder', child: this.expr, descending: true }); }

  contains(text: Operand): Column { return this.call('contains', text); }
  startsWith(text: Operand): Column { return this.call('startswith', text); }
  endsWith(text: Operand): Column { return this.call('endswith', text); }
  like(pattern: string): Column { return this.call('like', pattern); }
  rlike(pattern: string): Column { return this.call('rlike', pattern); }
  substr(position: number, length: number): Column { return this.call('substring', position, length); }

  /** A field of a struct column, e.g. `col('window').getField('start')`. */
  getField(name: string): Column {
    if (this.expr.kind !== 'column') throw new TypeError('getField applies to a column reference; use col("a.b")');
    return new Column({ kind: 'column', path: [...this.expr.path, name] });
  }

  /** CASE WHEN continuation: `when(cond, a).when(cond2, b).otherwise(c)`. */
  when(condition: Column, value: Operand): Column {
    if (this.expr.kind !== 'case' || this.expr.otherwise) {
      throw new TypeError('when() can only follow when(); start with the when() function');
    }
    return new Column({ ...this.expr, branches: [...this.expr.branches, [condition.expr, toExpr(value)]] });
  }

  otherwise(value: Operand): Column {
    if (this.expr.kind !== 'case' || this.expr.otherwise) {
      throw new TypeError('otherwise() can only follow when(); start with the when() function');
    }
    return new Column({ ...this.expr, otherwise: toExpr(value) });
  }

  private binary(op: BinaryOp, other: Operand): Column {
    return new Column({ kind: 'binary', op, left: this.expr, right: toExpr(other) });
  }

  private call(fn: string, ...args: Operand[]): Column {
    return new Column({ kind: 'call', fn, args: [this.expr, ...args.map(toExpr)] });
  }
}

/** A Column's expression, or a literal for a plain value. */
export function toExpr(value: Operand): Expr {
  return value instanceof Column ? value.expr : { kind: 'literal', value };
}

/** A column name becomes a reference; a Column stays itself. */
export function columnExpr(value: ColumnLike): Expr {
  return typeof value === 'string' ? columnRef(value) : value.expr;
}
