import { Row, Schema } from '../common/schema.js';
import { Source } from '../sources/source.js';
import { Expr } from './expressions.js';
import { JoinOn, JoinType } from './join-analysis.js';

/** A streaming input: creates a fresh Source each time a query starts. */
export interface StreamInput {
  readonly description: string;
  readonly schema: Schema;
  create(): Source;
}

/** A batch input: its rows (and schema, when not known up front) are read when the plan runs. */
export interface BatchInput {
  readonly description: string;
  readonly schema: Schema | null;
  load(): Promise<{ schema: Schema; rows: Row[] }>;
  /** Rows read before planning: a static side of a stream join is loaded when its query starts. */
  readonly rows?: readonly Row[];
}

export type RowFunction = (row: Row) => Row;
export type FlatRowFunction = (row: Row) => Iterable<Row>;
export type RowPredicate = (row: Row) => boolean;

/** The logical plan: what a DataFrame computes, independent of how batches run it. */
export type LogicalPlan =
  | { readonly kind: 'stream'; readonly input: StreamInput }
  | { readonly kind: 'relation'; readonly input: BatchInput }
  | { readonly kind: 'project'; readonly child: LogicalPlan; readonly exprs: readonly Expr[] }
  | { readonly kind: 'filter'; readonly child: LogicalPlan; readonly condition: Expr }
  | { readonly kind: 'mapRows'; readonly child: LogicalPlan; readonly fn: RowFunction; readonly schema: Schema }
  | { readonly kind: 'flatMapRows'; readonly child: LogicalPlan; readonly fn: FlatRowFunction; readonly schema: Schema }
  | { readonly kind: 'filterRows'; readonly child: LogicalPlan; readonly fn: RowPredicate }
  | { readonly kind: 'union'; readonly left: LogicalPlan; readonly right: LogicalPlan }
  | { readonly kind: 'join'; readonly left: LogicalPlan; readonly right: LogicalPlan; readonly on: JoinOn; readonly joinType: JoinType }
  | { readonly kind: 'watermark'; readonly child: LogicalPlan; readonly column: string; readonly delayMs: number }
  | { readonly kind: 'aggregate'; readonly child: LogicalPlan; readonly groups: readonly Expr[]; readonly aggs: readonly Expr[] }
  | { readonly kind: 'dedup'; readonly child: LogicalPlan; readonly keys: readonly string[] | null; readonly withinWatermark: boolean }
  | { readonly kind: 'sort'; readonly child: LogicalPlan; readonly orders: readonly Expr[] }
  | { readonly kind: 'limit'; readonly child: LogicalPlan; readonly n: number };

export function planChildren(plan: LogicalPlan): readonly LogicalPlan[] {
  switch (plan.kind) {
    case 'stream': case 'relation': return [];
    case 'union': case 'join': return [plan.left, plan.right];
    default: return [plan.child];
  }
}

/** Nodes in execution order: children before parents, left before right. */
export function postOrder(plan: LogicalPlan): LogicalPlan[] {
  const out: LogicalPlan[] = [];
  const visit = (p: LogicalPlan): void => {
    for (const c of planChildren(p)) visit(c);
    out.push(p);
  };
  visit(plan);
  return out;
}

export function isStreaming(plan: LogicalPlan): boolean {
  return postOrder(plan).some((p) => p.kind === 'stream');
}
