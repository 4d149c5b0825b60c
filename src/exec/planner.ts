import { Row, Schema, Value } from '../common/schema.js';
import { schemaOf } from '../plan/analyzer.js';
import { Expr } from '../plan/expressions.js';
import { analyzeJoin } from '../plan/join-analysis.js';
import { BatchInput, isStreaming, LogicalPlan, StreamInput } from '../plan/logical.js';
import { AggregateExec, aggregateSpec } from './aggregate.js';
import { compileExpression, compileSteps, StatelessStep } from './compile.js';
import { DeduplicateExec } from './deduplicate.js';
import { BatchJoinExec, JoinSpec, StreamStaticJoinExec, StreamStreamJoinExec } from './join.js';
import { emptyEventTimeStats, ExecContext, PhysicalOperator, StatefulOperator } from './physical.js';
import { SessionWindowExec } from './session-window.js';
import { ownValue } from '../codec/fields.js';
import { compareUtf8 } from '../common/spark-strings.js';

/** A plan ready to run batches: operators, the inputs they read, and the watermark and state nodes. */
export interface PhysicalPlan {
  readonly root: PhysicalOperator;
  readonly schema: Schema;
  /** Input leaves by index; batch i of leaf j is `ctx.inputs[j]`. */
  readonly leaves: readonly (StreamInput | BatchInput)[];
  /** Each `withWatermark` node's delay, by index. */
  readonly watermarks: readonly { readonly column: string; readonly delayMs: number }[];
  /** Stateful operators, by operator id (their state folder is `state/<id>/`). */
  readonly stateful: readonly StatefulOperator[];
}

export function planPhysical(plan: LogicalPlan): PhysicalPlan {
  const leaves: (StreamInput | BatchInput)[] = [];
  const watermarks: { column: string; delayMs: number }[] = [];
  const stateful: StatefulOperator[] = [];

  const build = (node: LogicalPlan): PhysicalOperator => {
    switch (node.kind) {
      case 'stream': case 'relation': {
        const index = leaves.push(node.input) - 1;
        return { execute: (ctx) => ctx.inputs[index] as Row[] };
      }
      case 'project': case 'filter': case 'mapRows': case 'flatMapRows': case 'filterRows': {
        const steps: StatelessStep[] = [];
        let below: LogicalPlan = node;
        for (let step = statelessStep(below); step; step = statelessStep(below)) {
          steps.unshift(step);
          below = (below as { child: LogicalPlan }).child;
        }
        const child = build(below);
        const run = compileSteps(steps);
        return { execute: (ctx) => run(child.execute(ctx), ctx) };
      }
      case 'union': {
        const left = build(node.left);
        const right = build(node.right);
        // Columns match by position and the left side names them, so right rows are renamed when names differ.
        const names = schemaOf(node).map((f) => f.name);
        const rightNames = schemaOf(node.right).map((f) => f.name);
        if (rightNames.every((n, i) => n === names[i])) {
          return { execute: (ctx) => left.execute(ctx).concat(right.execute(ctx)) };
        }
        const rename = (row: Row): Row => Object.fromEntries(names.map((n, i) => [n, ownValue(row, rightNames[i]!) ?? null]));
        return { execute: (ctx) => left.execute(ctx).concat(right.execute(ctx).map(rename)) };
      }
      case 'join': {
        const left = schemaOf(node.left);
        const right = schemaOf(node.right);
        const spec: JoinSpec = {
          type: node.joinType, left, right, output: schemaOf(node), using: 'using' in node.on ? node.on.using : null,
          analysis: analyzeJoin(left, right, node.on),
        };
        const [leftStreams, rightStreams] = [isStreaming(node.left), isStreaming(node.right)];
        if (leftStreams && rightStreams) {
          const op = new StreamStreamJoinExec(build(node.left), build(node.right), spec);
          stateful.push(op);
          return op;
        }
        if (leftStreams || rightStreams) {
          return new StreamStaticJoinExec(build(leftStreams ? node.left : node.right), leftStreams ? 'left' : 'right',
            preloadedRows(leftStreams ? node.right : node.left), spec);
        }
        return new BatchJoinExec(build(node.left), build(node.right), spec);
      }
      case 'watermark': {
        const child = build(node.child);
        const index = watermarks.push({ column: node.column, delayMs: node.delayMs }) - 1;
        const column = node.column;
        return {
          execute: (ctx) => {
            const rows = child.execute(ctx);
            const stats = ctx.eventTimes[index] ?? (ctx.eventTimes[index] = emptyEventTimeStats());
            for (const row of rows) {
              const t = ownValue(row, column);
              if (typeof t !== 'number') continue;
              if (t > stats.max) stats.max = t;
              if (t < stats.min) stats.min = t;
              stats.sum += t;
              stats.count++;
            }
            return rows;
          },
        };
      }
      case 'aggregate': {
        const child = build(node.child);
        const spec = aggregateSpec(schemaOf(node.child), node.groups, node.aggs, schemaOf(node));
        const op = spec.groups.some((g) => g.kind === 'sessionWindow') ? new SessionWindowExec(child, spec)
          : new AggregateExec(child, spec);
        stateful.push(op);
        return op;
      }
      case 'dedup': {
        const op = new DeduplicateExec(build(node.child), schemaOf(node.child), node.keys, node.withinWatermark);
        stateful.push(op);
        return op;
      }
      case 'sort': {
        const child = build(node.child);
        const compare = comparator(node.orders, schemaOf(node.child));
        return { execute: (ctx) => child.execute(ctx).sort((a, b) => compare(a, b, ctx)) };
      }
      case 'limit': {
        const child = build(node.child);
        return { execute: (ctx) => child.execute(ctx).slice(0, node.n) };
      }
    }
  };

  const root = build(plan);
  return { root, schema: schemaOf(plan), leaves, watermarks, stateful };
}

/** The rows of a stream join's static side, read when the query started (see loadStaticJoinSides). */
function preloadedRows(plan: LogicalPlan): readonly Row[] {
  if (plan.kind !== 'relation' || !plan.input.rows) throw new Error('the static side of a stream join was not loaded before planning');
  return plan.input.rows;
}

function statelessStep(node: LogicalPlan): StatelessStep | null {
  switch (node.kind) {
    case 'filter': return { kind: 'filter', condition: node.condition, input: schemaOf(node.child) };
    case 'project': return { kind: 'project', exprs: node.exprs, input: schemaOf(node.child), output: schemaOf(node) };
    case 'mapRows': return { kind: 'map', fn: node.fn };
    case 'flatMapRows': return { kind: 'flatMap', fn: node.fn };
    case 'filterRows': return { kind: 'filterFn', fn: node.fn };
    default: return null;
  }
}

/** Spark's ordering: ascending puts nulls first, descending puts them last. */
function comparator(orders: readonly Expr[], schema: Schema): (a: Row, b: Row, ctx: ExecContext) => number {
  const keys = orders.map((o) => ({
    value: compileExpression(o.kind === 'sortOrder' ? o.child : o, schema),
    sign: o.kind === 'sortOrder' && o.descending ? -1 : 1,
  }));
  return (a, b, ctx) => {
    for (const key of keys) {
      const c = compareValues(key.value(a, ctx), key.value(b, ctx));
      if (c !== 0) return c * key.sign;
    }
    return 0;
  };
}

export function compareValues(x: Value, y: Value): number {
  if (x === y) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  if (typeof x === 'object' || typeof y === 'object') return compareValues(JSON.stringify(x), JSON.stringify(y));
  if (typeof x === 'string' && typeof y === 'string') return compareUtf8(x, y);
  return x < y ? -1 : x > y ? 1 : 0;
}
