import { Row, Schema } from '../common/schema.js';
import { Expr } from '../plan/expressions.js';
import { nameOf, schemaOf } from '../plan/analyzer.js';
import { pushDownFilters } from '../plan/filter-pushdown.js';
import { streamColumnsRead, streamFilters } from '../plan/scan-pushdown.js';
import { ScanPushdown } from '../sources/source.js';
import { analyzeJoin } from '../plan/join-analysis.js';
import { BatchInput, isStreaming, LogicalPlan, StreamInput } from '../plan/logical.js';
import { AggregateExec, aggregateSpec } from './aggregate.js';
import { LimitExec, ScanExec, SortExec, UnionExec, WatermarkExec, WholeStageExec } from './basic-operators.js';
import { compileExpression, StatelessStep } from './compile.js';
import { DeduplicateExec } from './deduplicate.js';
import { BatchJoinExec, JoinSpec, StreamStaticJoinExec, StreamStreamJoinExec } from './join.js';
import { PhysicalOperator, StatefulOperator } from './physical.js';
import { SessionWindowExec } from './session-window.js';

/** A plan ready to run batches: operators, the inputs they read, and the watermark and state nodes. */
export interface PhysicalPlan {
  readonly root: PhysicalOperator;
  readonly schema: Schema;
  /** Input leaves by index; batch i of leaf j is `ctx.inputs[j]`. */
  readonly leaves: readonly (StreamInput | BatchInput)[];
  /** What each stream leaf's source may skip (see ScanPushdown), by leaf index. */
  readonly pushdown: readonly ScanPushdown[];
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
    const schema = schemaOf(node);
    switch (node.kind) {
      case 'stream': case 'relation': {
        const index = leaves.push(node.input) - 1;
        return new ScanExec(schema, index, node.input.description, node.kind === 'stream');
      }
      case 'project': case 'filter': case 'mapRows': case 'flatMapRows': case 'filterRows': {
        const steps: StatelessStep[] = [];
        let below: LogicalPlan = node;
        for (let step = statelessStep(below); step; step = statelessStep(below)) {
          steps.unshift(step);
          below = (below as { child: LogicalPlan }).child;
        }
        return new WholeStageExec(schema, build(below), steps);
      }
      case 'union':
        return new UnionExec(schema, withTypes(build(node.left), schema), withTypes(build(node.right), schema));
      case 'join': {
        const left = schemaOf(node.left);
        const right = schemaOf(node.right);
        const spec: JoinSpec = {
          type: node.joinType, left, right, output: schema, using: 'using' in node.on ? node.on.using : null,
          analysis: analyzeJoin(left, right, node.on), description: describeJoin(node),
        };
        const [leftStreams, rightStreams] = [isStreaming(node.left), isStreaming(node.right)];
        if (leftStreams && rightStreams) {
          const op = new StreamStreamJoinExec(build(node.left), build(node.right), spec);
          stateful.push(op);
          return op;
        }
        if (leftStreams || rightStreams) {
          const staticSide = leftStreams ? node.right : node.left;
          return new StreamStaticJoinExec(build(leftStreams ? node.left : node.right), leftStreams ? 'left' : 'right',
            () => preloadedRows(staticSide), spec);
        }
        return new BatchJoinExec(build(node.left), build(node.right), spec);
      }
      case 'watermark': {
        const index = watermarks.push({ column: node.column, delayMs: node.delayMs }) - 1;
        return new WatermarkExec(schema, build(node.child), index, node.column, node.delayMs);
      }
      case 'aggregate': {
        const child = build(node.child);
        const spec = aggregateSpec(schemaOf(node.child), node.groups, node.aggs, schema);
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
      case 'sort':
        return new SortExec(build(node.child), node.orders);
      case 'limit':
        return new LimitExec(build(node.child), node.n);
    }
  };

  // Filters sit where Spark's optimizer puts them: below watermarks, inside join sides; then the scans take what they can.
  const pushed = pushDownFilters(plan);
  const root = build(pushed);
  return { root, schema: schemaOf(plan), leaves, pushdown: scanPushdown(pushed, leaves), watermarks, stateful };
}

function describeJoin(node: Extract<LogicalPlan, { kind: 'join' }>): string {
  return `${node.joinType}, ${'using' in node.on ? `using [${node.on.using.join(', ')}]` : nameOf(node.on.condition)}`;
}

/** Evaluation context of a pushed filter: its expressions never read the batch time (no function calls). */
const PUSHED_FILTER_CONTEXT = { batchTimestampMs: 0 };

function scanPushdown(plan: LogicalPlan, leaves: readonly (StreamInput | BatchInput)[]): ScanPushdown[] {
  const columns = streamColumnsRead(plan);
  const filters = streamFilters(plan);
  return leaves.map((leaf) => {
    const input = leaf as StreamInput;
    const condition = filters.get(input);
    const test = condition === undefined ? null : compileExpression(condition, input.schema);
    return {
      columns: columns.get(input) ?? null,
      filter: test === null ? null : (row: Row) => test(row, PUSHED_FILTER_CONTEXT) === true,
    };
  });
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

/**
 * A union side whose column types differ from the union's (a DECIMAL widened to hold both sides, or
 * made a double), cast to them by position, so every row of a column holds values of its one type.
 */
function withTypes(side: PhysicalOperator, union: Schema): PhysicalOperator {
  const input = side.schema;
  if (input.every((f, i) => f.type === union[i]!.type)) return side;
  const exprs = input.map((f, i): Expr => {
    const to = union[i]!.type;
    const column: Expr = { kind: 'column', path: [f.name] };
    return f.type === to || typeof to !== 'string' ? column : { kind: 'alias', child: { kind: 'cast', child: column, to }, name: f.name };
  });
  const output = input.map((f, i) => ({ ...f, type: union[i]!.type }));
  return new WholeStageExec(output, side, [{ kind: 'project', exprs, input, output }]);
}
