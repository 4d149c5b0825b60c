import { AtomicType, Value } from '../common/schema.js';

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '=' | '!=' | '>' | '>=' | '<' | '<=' | '<=>' | 'and' | 'or';
export type UnaryOp = 'not' | 'negate' | 'isNull' | 'isNotNull';
export type AggregateFunction =
  | 'count' | 'sum' | 'avg' | 'min' | 'max' | 'countDistinct' | 'first' | 'last' | 'collectList'
  | 'collectSet' | 'stddev' | 'stddevSamp' | 'stddevPop' | 'variance' | 'varSamp' | 'varPop'
  | 'maxBy' | 'minBy' | 'countIf' | 'boolAnd' | 'boolOr' | 'approxCountDistinct' | 'percentileApprox';

/** Expressions as the analyzer and the compiler see them: plain data, no behaviour. */
export type Expr =
  | { readonly kind: 'column'; readonly path: readonly string[] }
  | { readonly kind: 'literal'; readonly value: Value }
  | { readonly kind: 'alias'; readonly child: Expr; readonly name: string }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'unary'; readonly op: UnaryOp; readonly child: Expr }
  | { readonly kind: 'cast'; readonly child: Expr; readonly to: AtomicType }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Expr[] }
  | { readonly kind: 'in'; readonly child: Expr; readonly list: readonly Expr[] }
  | { readonly kind: 'case'; readonly branches: readonly (readonly [Expr, Expr])[]; readonly otherwise: Expr | null }
  | {
    readonly kind: 'aggregate'; readonly fn: AggregateFunction; readonly child: Expr | null;
    /** The ordering input of max_by/min_by. */
    readonly by?: Expr;
    /** Literal parameters: approx_count_distinct's relative standard deviation, percentile_approx's percentage and accuracy. */
    readonly params?: readonly Value[];
  }
  | { readonly kind: 'window'; readonly time: Expr; readonly sizeMs: number; readonly slideMs: number; readonly startMs: number }
  | { readonly kind: 'sessionWindow'; readonly time: Expr; readonly gapMs: number }
  | { readonly kind: 'sortOrder'; readonly child: Expr; readonly descending: boolean }
  | { readonly kind: 'star' };

export function columnRef(name: string): Expr {
  if (name === '*') return { kind: 'star' };
  return { kind: 'column', path: name.split('.') };
}

/** Calls `visit` on every node of the tree, parents first. */
export function walk(expr: Expr, visit: (e: Expr) => void): void {
  visit(expr);
  for (const child of children(expr)) walk(child, visit);
}

export function children(expr: Expr): readonly Expr[] {
  switch (expr.kind) {
    case 'alias': case 'unary': case 'cast': case 'sortOrder': return [expr.child];
    case 'binary': return [expr.left, expr.right];
    case 'call': return expr.args;
    case 'in': return [expr.child, ...expr.list];
    case 'case': return [...expr.branches.flat(), ...(expr.otherwise ? [expr.otherwise] : [])];
    case 'aggregate': return [...(expr.child ? [expr.child] : []), ...(expr.by ? [expr.by] : [])];
    case 'window': case 'sessionWindow': return [expr.time];
    default: return [];
  }
}

export function containsAggregate(expr: Expr): boolean {
  let found = false;
  walk(expr, (e) => { if (e.kind === 'aggregate') found = true; });
  return found;
}

/** Removes a top-level alias. */
export function stripAlias(expr: Expr): Expr {
  return expr.kind === 'alias' ? stripAlias(expr.child) : expr;
}
