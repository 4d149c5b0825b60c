import { Expr, walk } from './expressions.js';
import { isStreaming, LogicalPlan, planChildren, StreamInput } from './logical.js';
import { schemaOf } from './analyzer.js';

/** Column names a subtree must produce; null: every column (a row function or the sink sees whole rows). */
type Needed = ReadonlySet<string> | null;

/** Top-level column names an expression reads; null when it reads whole rows (`*`). */
function referenced(exprs: readonly Expr[]): Set<string> | null {
  const names = new Set<string>();
  let star = false;
  for (const expr of exprs) {
    walk(expr, (e) => {
      if (e.kind === 'column') names.add(e.path[0]!);
      else if (e.kind === 'star') star = true;
    });
  }
  return star ? null : names;
}

function both(a: Needed, b: Needed): Needed {
  return a === null || b === null ? null : new Set([...a, ...b]);
}

/** Whether a condition can be evaluated on a row alone, any time: columns, literals, operators, casts; no function calls. */
function pushable(expr: Expr): boolean {
  let ok = true;
  walk(expr, (e) => {
    if (!['column', 'literal', 'binary', 'unary', 'cast', 'in'].includes(e.kind)) ok = false;
  });
  return ok;
}

/**
 * The filters each stream leaf's rows can be tested with as the source reads them (Spark's JSON filter
 * pushdown): the condition of a filter right above the leaf, when it reads the row alone. Only for a
 * leaf the plan uses once (another use would lose the rows it drops); the filter still runs above.
 */
export function streamFilters(plan: LogicalPlan): Map<StreamInput, Expr> {
  const uses = new Map<StreamInput, number>();
  const filters = new Map<StreamInput, Expr>();
  const visit = (node: LogicalPlan): void => {
    if (node.kind === 'stream') uses.set(node.input, (uses.get(node.input) ?? 0) + 1);
    if (node.kind === 'filter' && node.child.kind === 'stream' && pushable(node.condition)) filters.set(node.child.input, node.condition);
    for (const child of planChildren(node)) visit(child);
  };
  visit(plan);
  for (const input of filters.keys()) if (uses.get(input) !== 1) filters.delete(input);
  return filters;
}

/**
 * The columns each stream leaf of `plan` must read, as Spark's column pruning pushes a query's
 * required schema into its scans: a source told of them may leave the other columns null (the JSON
 * reader then does not convert or check them). Walks down from the sink, which sees every output
 * column; operators add what their expressions read; row functions (map, flatMap, filter by
 * function), unions, deduplication, stream-stream joins and `*` need every column below them. A leaf absent from the map, or null, reads all.
 */
export function streamColumnsRead(plan: LogicalPlan): Map<StreamInput, Needed> {
  const read = new Map<StreamInput, Needed>();
  const visit = (node: LogicalPlan, needed: Needed): void => {
    switch (node.kind) {
      case 'stream': {
        const known = read.has(node.input) ? read.get(node.input)! : new Set<string>();
        read.set(node.input, both(known, needed));
        return;
      }
      case 'relation': return;
      case 'project': return visit(node.child, referenced(node.exprs));
      case 'filter': return visit(node.child, both(needed, referenced([node.condition])));
      case 'watermark': return visit(node.child, both(needed, new Set([node.column])));
      case 'aggregate': return visit(node.child, referenced([...node.groups, ...node.aggs]));
      case 'sort': return visit(node.child, both(needed, referenced(node.orders)));
      case 'limit': return visit(node.child, needed);
      // Deduplication reads the event-time column for eviction, a stream-stream join its sides' event
      // times for theirs: both keep whole rows rather than track which column that is.
      case 'dedup': return visit(node.child, null);
      case 'join': {
        const on = 'using' in node.on ? new Set(node.on.using) : referenced([node.on.condition]);
        const all = isStreaming(node.left) && isStreaming(node.right) ? null : both(needed, on);
        const side = (child: LogicalPlan): Needed => {
          if (all === null) return null;
          const names = new Set(schemaOf(child).map((f) => f.name));
          return new Set([...all].filter((n) => names.has(n)));
        };
        visit(node.left, side(node.left));
        visit(node.right, side(node.right));
        return;
      }
      case 'union':
        visit(node.left, null);
        visit(node.right, null);
        return;
      case 'mapRows': case 'flatMapRows': case 'filterRows':
        return visit(node.child, null);
    }
  };
  visit(plan, null);
  return read;
}
