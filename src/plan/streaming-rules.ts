import { AnalysisError } from '../common/errors.js';
import { fieldFor, schemaOf } from './analyzer.js';
import { LogicalPlan, postOrder } from './logical.js';

import { OutputMode } from '../sinks/sink.js';
export type { OutputMode };

/**
 * Spark's rules for which streaming plans each output mode can run, checked when the query
 * starts so that no batch runs a plan whose results would be wrong or unbounded.
 */
export function checkStreamingPlan(plan: LogicalPlan, mode: OutputMode): void {
  const nodes = postOrder(plan);
  const aggregates = nodes.filter((n): n is Extract<LogicalPlan, { kind: 'aggregate' }> => n.kind === 'aggregate');
  if (aggregates.length > 1) {
    throw new AnalysisError('Multiple streaming aggregations are not supported: aggregate once per query, or write ' +
      'the first aggregation to a sink and read it as a new stream.', 'UNSUPPORTED_OPERATION');
  }
  const aggregate = aggregates[0];
  if (mode === 'complete' && !aggregate) {
    throw new AnalysisError("Output mode 'complete' needs a streaming aggregation (complete re-emits the whole " +
      "result table every batch). Use 'append' for a query without groupBy().", 'UNSUPPORTED_OUTPUT_MODE');
  }
  if (aggregate) {
    const input = schemaOf(aggregate.child);
    const hasEventTime = aggregate.groups.some((g) => fieldFor(g, input).eventTimeDelayMs !== undefined);
    const isSession = aggregate.groups.some((g) => g.kind === 'sessionWindow');
    if (mode === 'append' && !hasEventTime) {
      throw new AnalysisError("Output mode 'append' on a streaming aggregation needs a watermark: add " +
        "withWatermark('<time column>', '<delay>') and group by that column or a window over it, so weir knows when " +
        "a group is final. Or use outputMode 'update' or 'complete'.", 'UNSUPPORTED_OUTPUT_MODE');
    }
    if (mode === 'update' && isSession) {
      throw new AnalysisError("Session windows support output modes 'append' and 'complete', not 'update': a " +
        'session can merge with a later one, so an emitted update could not be corrected.', 'UNSUPPORTED_OUTPUT_MODE');
    }
  }
  for (const node of nodes) {
    if (node.kind === 'sort' && !(mode === 'complete' && aggregate && postOrder(node.child).includes(aggregate))) {
      throw new AnalysisError("Sorting a stream is only supported after an aggregation in output mode 'complete'.",
        'UNSUPPORTED_OPERATION');
    }
    if (node.kind === 'limit' && mode !== 'complete') {
      throw new AnalysisError("limit() on a stream is only supported in output mode 'complete'.", 'UNSUPPORTED_OPERATION');
    }
  }
}

/** The grouping columns that identify a result row (for update-mode sinks); empty without aggregation. */
export function resultKeyColumns(plan: LogicalPlan): string[] {
  const aggregate = postOrder(plan).find((n): n is Extract<LogicalPlan, { kind: 'aggregate' }> => n.kind === 'aggregate');
  if (!aggregate) return [];
  const output = new Set(schemaOf(plan).map((f) => f.name));
  return schemaOf(aggregate).slice(0, aggregate.groups.length).map((f) => f.name).filter((n) => output.has(n));
}
