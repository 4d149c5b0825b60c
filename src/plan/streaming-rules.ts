import { AnalysisError } from '../common/errors.js';
import { fieldFor, schemaOf } from './analyzer.js';
import { analyzeJoin, JoinType, valueBounds } from './join-analysis.js';
import { Schema } from '../common/schema.js';
import { isStreaming, LogicalPlan, planChildren, postOrder } from './logical.js';

import { OutputMode } from '../common/output-mode.js';
export type { OutputMode };

/**
 * Spark's rules for which streaming plans each output mode can run, checked when the query
 * starts so that no batch runs a plan whose results would be wrong or unbounded.
 */
export function checkStreamingPlan(plan: LogicalPlan, mode: OutputMode): void {
  const nodes = postOrder(plan);
  const aggregates = nodes.filter((n): n is Extract<LogicalPlan, { kind: 'aggregate' }> => n.kind === 'aggregate');
  if (mode === 'complete' && aggregates.length === 0) {
    throw new AnalysisError("Output mode 'complete' needs a streaming aggregation (complete re-emits the whole " +
      "result table every batch). Use 'append' for a query without groupBy().", 'UNSUPPORTED_OUTPUT_MODE');
  }
  for (const aggregate of aggregates) {
    const input = schemaOf(aggregate.child);
    const hasEventTime = aggregate.groups.some((g) => fieldFor(g, input).eventTimeDelayMs !== undefined);
    const isSession = aggregate.groups.some((g) => g.kind === 'sessionWindow');
    if (mode === 'append' && !hasEventTime) {
      throw new AnalysisError("Output mode 'append' on a streaming aggregation needs a watermark: add " +
        "withWatermark('<time column>', '<delay>') and group by that column or a window over it, so weir knows when " +
        'a group is final (after another aggregation: group by its window column, or a window over ' +
        "window_time('window')). Or use outputMode 'update' or 'complete'.", 'UNSUPPORTED_OUTPUT_MODE');
    }
    if (mode === 'update' && isSession) {
      throw new AnalysisError("Session windows support output modes 'append' and 'complete', not 'update': a " +
        'session can merge with a later one, so an emitted update could not be corrected.', 'UNSUPPORTED_OUTPUT_MODE');
    }
  }
  checkChainedOperators(nodes, mode);
  for (const node of nodes) if (node.kind === 'join') checkStreamingJoin(node, mode);
  for (const node of nodes) {
    if (node.kind === 'sort' && !(mode === 'complete' && postOrder(node.child).some((n) => n.kind === 'aggregate'))) {
      throw new AnalysisError("Sorting a stream is only supported after an aggregation in output mode 'complete'.",
        'UNSUPPORTED_OPERATION');
    }
    if (node.kind === 'limit' && mode !== 'complete') {
      throw new AnalysisError("limit() on a stream is only supported in output mode 'complete'.", 'UNSUPPORTED_OPERATION');
    }
  }
}

/**
 * Spark 3.5's rules for several stateful operators in one query. Each operator gets the watermark
 * propagated from the one below it, which only holds in output mode 'append': an aggregation that
 * emits updates (or its whole table) emits rows older than the watermark, which the next operator would
 * drop as late. So no aggregation, stream-stream join or event-time deduplication may follow an
 * aggregation in another mode; and an event-time column is declared once, where rows enter.
 */
function checkChainedOperators(nodes: readonly LogicalPlan[], mode: OutputMode): void {
  for (const node of nodes) {
    // The subtree below is walked only for the nodes a rule concerns (one walk per node would be quadratic).
    const below = (): LogicalPlan[] => planChildren(node).flatMap((c) => postOrder(c));
    if (node.kind === 'watermark' && below().some((n) => n.kind === 'watermark')) {
      throw new AnalysisError(`withWatermark('${node.column}') is applied to rows that already have an event-time ` +
        'watermark (a withWatermark below it, possibly before a stateful operator). Redefining the watermark is not ' +
        'supported (as in Spark 3.5): declare it once, on the input, and let weir carry it through the operators.',
      'UNSUPPORTED_OPERATION');
    }
    if (mode === 'append' || !isChainedStateful(node)) continue;
    const aggregate = below().find((n) => n.kind === 'aggregate' && isStreaming(n));
    if (!aggregate) continue;
    const what = node.kind === 'aggregate' ? 'Multiple streaming aggregations are'
      : node.kind === 'join' ? 'A stream-stream join after a streaming aggregation is'
        : 'An event-time dropDuplicates after a streaming aggregation is';
    throw new AnalysisError(`${what} only supported in output mode 'append' (this query uses '${mode}'): in ` +
      `'${mode}' mode the aggregation emits rows older than the watermark, which the next stateful operator would drop ` +
      "as late (Spark's 'correctness issue due to global watermark'). Use outputMode('append') with a watermark on the " +
      'aggregation, or write the first aggregation to a sink and read it as a new stream.', 'UNSUPPORTED_OPERATION');
  }
}

/** The stateful operators Spark checks for a non-append aggregation below them (a dedup only when it evicts by event time). */
function isChainedStateful(node: LogicalPlan): boolean {
  switch (node.kind) {
    case 'aggregate': return isStreaming(node);
    case 'join': return isStreaming(node.left) && isStreaming(node.right);
    case 'dedup': {
      if (!isStreaming(node) || node.withinWatermark) return isStreaming(node);
      const keys = node.keys && node.keys.length > 0 ? node.keys : null;
      return schemaOf(node.child).some((f) => f.eventTimeDelayMs !== undefined && (keys === null || keys.includes(f.name)));
    }
    default: return false;
  }
}

/** The grouping columns that identify a result row (for update-mode sinks); empty without aggregation. */
export function resultKeyColumns(plan: LogicalPlan): string[] {
  const aggregate = postOrder(plan).find((n): n is Extract<LogicalPlan, { kind: 'aggregate' }> => n.kind === 'aggregate');
  if (!aggregate) return [];
  const output = new Set(schemaOf(plan).map((f) => f.name));
  return schemaOf(aggregate).slice(0, aggregate.groups.length).map((f) => f.name).filter((n) => output.has(n));
}

const JOIN_NAMES: Readonly<Record<JoinType, string>> = {
  inner: 'An inner join', left: 'A left outer join', right: 'A right outer join', full: 'A full outer join',
  semi: 'A left semi join', anti: 'A left anti join',
};

/** Spark's rules for joins with streams: what the buffered state and the NULL-padded rows need. */
function checkStreamingJoin(node: Extract<LogicalPlan, { kind: 'join' }>, mode: OutputMode): void {
  const [leftStreams, rightStreams] = [isStreaming(node.left), isStreaming(node.right)];
  const what = JOIN_NAMES[node.joinType];
  if (leftStreams && rightStreams) {
    if (node.joinType === 'anti') {
      throw new AnalysisError('A left anti join of two streams is not supported (as in Spark): a row could only be ' +
        'emitted once no future row can match it. Join with a static DataFrame, or use a left outer join and keep the ' +
        "rows whose right columns are null: .filter(col('<right column>').isNull()).", 'UNSUPPORTED_JOIN');
    }
    if (mode !== 'append') {
      throw new AnalysisError(`A join of two streams supports only output mode 'append' (a joined row, once emitted, ` +
        `is final); this query uses '${mode}'.`, 'UNSUPPORTED_OUTPUT_MODE');
    }
    const [left, right] = [schemaOf(node.left), schemaOf(node.right)];
    const analysis = analyzeJoin(left, right, node.on);
    // Spark's checker: an outer or semi join needs a watermarked join key, or a range condition that
    // bounds the preserved side's event time by the other side's watermark (either side for a full join).
    const conditions = 'condition' in node.on ? [node.on.condition] : [];
    const bounded = (own: Schema, other: Schema): boolean => valueBounds(own, other, conditions).length > 0;
    const watermarkOk = analysis.watermarkInKeys || (node.joinType === 'inner') ||
      (node.joinType === 'left' || node.joinType === 'semi' ? bounded(left, right)
        : node.joinType === 'right' ? bounded(right, left) : bounded(left, right) || bounded(right, left));
    if (!watermarkOk) {
      throw new AnalysisError(`${what} of two streams needs a watermark in the join keys, or withWatermark() on both sides ` +
        'and a join condition that bounds how far apart the two event times can be, so weir knows when a row can no ' +
        "longer match (and, for an outer join, when to emit it with NULLs). For example: col('clickTime').geq(" +
        "col('impressionTime')).and(col('clickTime').leq(col('impressionTime').plus(3_600_000))), or a join on a " +
        'watermarked window column.', 'UNSUPPORTED_JOIN');
    }
    if (analysis.leftKeys.length === 0) {
      throw new AnalysisError('Stream-stream join without equality predicate is not supported: each side is buffered by ' +
        "the values of an equality between the two sides, e.g. col('adId').equalTo(col('clickAdId')) or eqNullSafe; " +
        'add one to the join condition.', 'UNSUPPORTED_JOIN');
    }
    return;
  }
  if (!leftStreams && !rightStreams) return;
  // A static side's unmatched rows would have to be padded once per batch, so outer joins keep only the stream's side.
  const streamSide = leftStreams ? 'left' : 'right';
  const allowed: readonly JoinType[] = streamSide === 'left' ? ['inner', 'left', 'semi', 'anti'] : ['inner', 'right'];
  if (!allowed.includes(node.joinType)) {
    throw new AnalysisError(`${what} between a stream (on the ${streamSide}) and a static DataFrame is not supported: ` +
      `with the stream on the ${streamSide}, use ${allowed.join(', ')}.`, 'UNSUPPORTED_JOIN');
  }
}
