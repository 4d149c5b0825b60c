/**
 * Which plans run on worker threads, and how such a plan is cut: the map side (every node below the
 * stateful operator: scan, filters, projections, watermarks, stream-static joins) runs on each
 * worker over its slice of the batch; the exchange sends each row to the worker that owns its state
 * partition; the reduce side (the aggregation and the filters and projections above it) runs there
 * once per owned partition. The cut plans cross to the workers as plain data: a plan holding a
 * JavaScript function cannot, and runs on one thread.
 */
import { isDecimalType } from '../../common/decimal-type.js';
import { DataType, Row, Schema } from '../../common/schema.js';
import { hasDecimals } from '../../codec/json-values.js';
import { schemaOf } from '../../plan/analyzer.js';
import { Expr, stripAlias } from '../../plan/expressions.js';
import { isStreaming, LogicalPlan, planChildren } from '../../plan/logical.js';

/** A plan cut for the workers; every part is structured-clone data. */
export interface ParallelShape {
  /** Below the exchange; its one stream leaf reads the worker's slice of the batch. */
  readonly mapSide: LogicalPlan;
  /** From the stateful operator up, reading the exchanged rows through a stream leaf; null for a stateless plan. */
  readonly reduceSide: LogicalPlan | null;
  /** Nodes at the bottom of the reduce side that stand for the exchange (its leaf, and the watermark copied above it). */
  readonly exchangeNodes: number;
  /** What the exchange hashes to pick a row's partition: the grouping expressions that are not a time window. */
  readonly exchangeKeys: readonly Expr[];
  /** The map side's output columns (what crosses the exchange). */
  readonly exchangeSchema: Schema;
}

export type ShapeResult = { readonly shape: ParallelShape } | { readonly refused: string };

const ABOVE_STATE = new Set(['project', 'filter']);
const USER_CALLS = { mapRows: 'map()', flatMapRows: 'flatMap()', filterRows: 'filter() with a function' } as const;

/** The plan cut for the workers, or why it runs on one thread. */
export function parallelShape(plan: LogicalPlan): ShapeResult {
  const decimals = decimalRefusal(plan);
  if (decimals) return { refused: decimals };
  let top: LogicalPlan = plan;
  while (ABOVE_STATE.has(top.kind)) top = (top as { child: LogicalPlan }).child;
  if (top.kind !== 'aggregate') {
    const refused = mapSideRefusal(plan);
    return refused ? { refused } : {
      shape: { mapSide: asData(plan), reduceSide: null, exchangeNodes: 0, exchangeKeys: [], exchangeSchema: schemaOf(plan) },
    };
  }
  if (top.groups.some((g) => stripAlias(g).kind === 'sessionWindow')) return { refused: 'a session window is not run on worker threads yet' };
  const refused = mapSideRefusal(top.child);
  if (refused) return { refused };
  const exchangeSchema = schemaOf(top.child);
  if (exchangeSchema.some((f) => nestedDecimal(f.type))) return { refused: NESTED_DECIMAL };
  const exchanged: LogicalPlan = { kind: 'stream', input: { description: 'Exchange', schema: exchangeSchema, create: unreadable } };
  // The aggregation takes its late and eviction watermarks from the watermark below it, which is on the map side.
  const watermark = findWatermark(top.child);
  const leaf: LogicalPlan = watermark ? { ...watermark, child: exchanged } : exchanged;
  return {
    shape: {
      mapSide: asData(top.child),
      reduceSide: asData(replaceNode(plan, top, { ...top, child: leaf })),
      exchangeNodes: watermark ? 2 : 1,
      exchangeKeys: top.groups.map(stripAlias).filter((g) => g.kind !== 'window'),
      exchangeSchema,
    },
  };
}

/** Why the part of a plan below its stateful operator cannot run on a worker; null when it can. */
function mapSideRefusal(plan: LogicalPlan): string | null {
  let streams = 0;
  const visit = (node: LogicalPlan): string | null => {
    switch (node.kind) {
      case 'stream': streams++; return null;
      case 'relation': return node.input.rows ? null : 'a batch relation is read by the planner, not by a worker';
      case 'project': case 'filter': case 'watermark': return visit(node.child);
      case 'mapRows': case 'flatMapRows': case 'filterRows':
        return `${USER_CALLS[node.kind]} runs a JavaScript function, which cannot cross to a worker thread`;
      case 'join':
        if (isStreaming(node.left) && isStreaming(node.right)) return 'a stream-stream join is not run on worker threads yet';
        return visit(node.left) ?? visit(node.right);
      case 'aggregate': case 'dedup': return 'a plan with more than one stateful operator is not run on worker threads yet';
      case 'union': return 'a union of inputs is not run on worker threads yet';
      case 'sort': case 'limit': return `${node.kind} is not run on worker threads`;
    }
  };
  const refused = visit(plan);
  if (refused) return refused;
  return streams === 1 ? null : 'the plan reads several streams';
}

const NESTED_DECIMAL = 'a decimal inside a struct, array or map does not cross threads yet';

/**
 * Why decimals keep a plan on one thread, or null. Rows cross threads as columns, where a top-level
 * decimal column keeps its class; a decimal nested in another value, or in a static table's rows
 * (structured clone), would arrive as a plain object.
 */
function decimalRefusal(plan: LogicalPlan): string | null {
  const visit = (node: LogicalPlan): string | null => {
    if (node.kind === 'relation') {
      return (node.input.schema ?? []).some((f) => hasDecimals(f.type)) ? 'a static table with decimal columns is not sent to worker threads yet' : null;
    }
    if (node.kind === 'stream') return node.input.schema.some((f) => nestedDecimal(f.type)) ? NESTED_DECIMAL : null;
    return planChildren(node).map(visit).find((r) => r !== null) ?? null;
  };
  return visit(plan) ?? (schemaOf(plan).some((f) => nestedDecimal(f.type)) ? NESTED_DECIMAL : null);
}

function nestedDecimal(t: DataType): boolean {
  return !isDecimalType(t) && hasDecimals(t);
}

/** The plan's watermark node (a plan run on workers reads one stream, so it has at most one). */
function findWatermark(plan: LogicalPlan): Extract<LogicalPlan, { kind: 'watermark' }> | null {
  if (plan.kind === 'watermark') return plan;
  for (const child of planChildren(plan)) {
    const found = findWatermark(child);
    if (found) return found;
  }
  return null;
}

function unreadable(): never {
  throw new Error('a worker thread plan leaf is read from its batch input, never opened as a source');
}

/** `plan` with node `from` (by identity) replaced by `to`. */
function replaceNode(plan: LogicalPlan, from: LogicalPlan, to: LogicalPlan): LogicalPlan {
  if (plan === from) return to;
  if (plan.kind === 'stream' || plan.kind === 'relation') return plan;
  if (plan.kind === 'union' || plan.kind === 'join') {
    return { ...plan, left: replaceNode(plan.left, from, to), right: replaceNode(plan.right, from, to) };
  }
  return { ...plan, child: replaceNode(plan.child, from, to) } as LogicalPlan;
}

/** The plan with its leaves' functions dropped, so structured clone copies it; `fromData` gives them back. */
function asData(plan: LogicalPlan): LogicalPlan {
  switch (plan.kind) {
    case 'stream': return { kind: 'stream', input: { description: plan.input.description, schema: plan.input.schema } as never };
    case 'relation': {
      const { description, schema, rows } = plan.input;
      return { kind: 'relation', input: { description, schema, rows } as never };
    }
    case 'union': case 'join': return { ...plan, left: asData(plan.left), right: asData(plan.right) };
    default: return { ...plan, child: asData((plan as { child: LogicalPlan }).child) } as LogicalPlan;
  }
}

/** A plan received by a worker, its leaves made whole again (a stream leaf is never opened there). */
export function fromData(plan: LogicalPlan): LogicalPlan {
  switch (plan.kind) {
    case 'stream': return { kind: 'stream', input: { ...plan.input, create: unreadable } };
    case 'relation': {
      const rows = (plan.input.rows ?? []) as Row[];
      const schema = plan.input.schema ?? [];
      return { kind: 'relation', input: { ...plan.input, load: async () => ({ schema, rows }) } };
    }
    case 'union': case 'join': return { ...plan, left: fromData(plan.left), right: fromData(plan.right) };
    default: return { ...plan, child: fromData((plan as { child: LogicalPlan }).child) } as LogicalPlan;
  }
}
