/**
 * Spark's optimizer pushes a filter as far towards the inputs as it can, and a watermark's event
 * times are taken from the rows that reach its node: a filter moved below `withWatermark` removes
 * rows before they count for the watermark (and before they reach a join's or aggregation's state).
 * These rewrites place filters where Spark does, so the watermark, the state and the output match:
 * - a filter above `withWatermark` moves below it, except the conjuncts that read the event-time column;
 * - a filter moves through a projection whose columns it reads are plain (possibly renamed) columns;
 * - the one-side conjuncts of a join condition move into that side when the join type allows (inner and
 *   left semi: both sides; left outer: the right side; right outer: the left side; full outer: none),
 *   and so do the one-side conjuncts of a filter above a join (inner: both; left outer, semi: the left;
 *   right outer: the right); an inner join with a condition takes a filter's two-side conjuncts into it.
 * - a join over a stream filters, on the sides whose unmatched rows it drops, what Spark infers from its
 *   condition: rows whose compared columns are null, and conditions carried over a column equality.
 * Row functions (map, flatMap, filter with a function) are opaque: nothing moves across them.
 */
import { Expr, walk } from './expressions.js';
import { referencedSide } from './join-analysis.js';
import { isStreaming, LogicalPlan } from './logical.js';
import { schemaOf } from './analyzer.js';

export function pushDownFilters(plan: LogicalPlan): LogicalPlan {
  switch (plan.kind) {
    case 'stream': case 'relation': return plan;
    case 'filter': return pushFilter(conjuncts(plan.condition), pushDownFilters(plan.child));
    case 'union': return { ...plan, left: pushDownFilters(plan.left), right: pushDownFilters(plan.right) };
    case 'join': return pushJoinCondition(inferFilters({ ...plan, left: pushDownFilters(plan.left), right: pushDownFilters(plan.right) }));
    default: return { ...plan, child: pushDownFilters(plan.child) } as LogicalPlan;
  }
}

/** `conditions` (a conjunction) over `child`, pushed down as far as they go; the rest stays above. */
function pushFilter(conditions: readonly Expr[], child: LogicalPlan): LogicalPlan {
  if (conditions.length === 0) return child;
  const stay: Expr[] = [];
  let below: LogicalPlan = child;
  switch (child.kind) {
    case 'filter':
      return pushFilter([...conditions, ...conjuncts(child.condition)], child.child);
    case 'watermark': {
      const moving = conditions.filter((c) => !columnsOf(c).has(child.column));
      stay.push(...conditions.filter((c) => columnsOf(c).has(child.column)));
      below = { ...child, child: pushFilter(moving, child.child) };
      break;
    }
    case 'project': {
      const sources = passThroughColumns(child);
      const moving: Expr[] = [];
      for (const c of conditions) {
        const renamed = [...columnsOf(c)].every((name) => sources.has(name)) ? renameColumns(c, sources) : null;
        if (renamed) moving.push(renamed);
        else stay.push(c);
      }
      below = moving.length === 0 ? child : { ...child, child: pushFilter(moving, child.child) };
      break;
    }
    case 'join': {
      const left = schemaOf(child.left);
      const right = schemaOf(child.right);
      const toLeft: Expr[] = [];
      const toRight: Expr[] = [];
      const type = child.joinType;
      const toJoin: Expr[] = [];
      for (const c of conditions) {
        const side = referencedSide(c, left, right);
        if (side === 'left' && opensTo(child, 'left') && (type === 'inner' || type === 'left' || type === 'semi' || type === 'anti')) toLeft.push(c);
        else if (side === 'right' && opensTo(child, 'right') && (type === 'inner' || type === 'right')) toRight.push(c);
        else if (side === 'both' && type === 'inner' && 'condition' in child.on) toJoin.push(c);
        else stay.push(c);
      }
      // An inner join takes a filter over both sides into its condition (where a time range bounds its state).
      const on = toJoin.length === 0 || !('condition' in child.on) ? child.on : { condition: and([child.on.condition, ...toJoin]) };
      below = { ...child, on, left: pushFilter(toLeft, child.left), right: pushFilter(toRight, child.right) };
      break;
    }
    default:
      stay.push(...conditions);
  }
  return stay.length === 0 ? below : { kind: 'filter', child: below, condition: and(stay) };
}

/** Moves the one-side conjuncts of a join's condition into the side the join type lets them go. */
function pushJoinCondition(join: Extract<LogicalPlan, { kind: 'join' }>): LogicalPlan {
  if (!('condition' in join.on)) return join;
  const left = schemaOf(join.left);
  const right = schemaOf(join.right);
  const type = join.joinType;
  const toLeft: Expr[] = [];
  const toRight: Expr[] = [];
  const stay: Expr[] = [];
  for (const c of conjuncts(join.on.condition)) {
    const side = referencedSide(c, left, right);
    const leftOk = opensTo(join, 'left') && (type === 'inner' || type === 'semi' || type === 'right');
    const rightOk = opensTo(join, 'right') && (type === 'inner' || type === 'semi' || type === 'left' || type === 'anti');
    if ((side === 'left' || side === 'none') && leftOk) toLeft.push(c);
    else if (side === 'right' && rightOk) toRight.push(c);
    else stay.push(c);
  }
  if (toLeft.length === 0 && toRight.length === 0) return join;
  return {
    ...join,
    left: pushFilter(toLeft, join.left),
    right: pushFilter(toRight, join.right),
    on: { condition: stay.length === 0 ? { kind: 'literal', value: true } : and(stay) },
  };
}

/**
 * Spark's InferFiltersFromConstraints for a join over a stream, on the sides that are not preserved
 * (inner and semi: both; left outer and anti: the right; right outer: the left; full outer: none):
 * a condition known on one side (a filter below the join, or a conjunct of the join condition) holds on
 * the other through a column equality of the condition (`a = b` and `b % 2 = 0` give `a % 2 = 0`), and
 * `isnotnull(c)` holds for each nullable column c that a null-intolerant condition reads.
 */
function inferFilters(join: Extract<LogicalPlan, { kind: 'join' }>): Extract<LogicalPlan, { kind: 'join' }> {
  if (!isStreaming(join.left) && !isStreaming(join.right)) return join;
  const type = join.joinType;
  const joinConditions = 'condition' in join.on ? conjuncts(join.on.condition)
    : join.on.using.map((name): Expr => ({ kind: 'binary', op: '=', left: { kind: 'column', path: [name] }, right: { kind: 'column', path: [name] } }));
  const known = [...constraintsOf(join.left), ...constraintsOf(join.right), ...joinConditions];
  const inferred: Expr[] = [];
  for (const eq of joinConditions) {
    if (eq.kind !== 'binary' || eq.op !== '=' || eq.left.kind !== 'column' || eq.right.kind !== 'column') continue;
    const [a, b] = [eq.left.path, eq.right.path];
    if (a.length !== 1 || b.length !== 1 || a[0] === b[0]) continue;
    for (const c of known) {
      if (c === eq) continue;
      const cols = columnsOf(c);
      if (cols.has(a[0]!) && !cols.has(b[0]!)) inferred.push(renameColumns(c, new Map([[a[0]!, b[0]!]]), true));
      if (cols.has(b[0]!) && !cols.has(a[0]!)) inferred.push(renameColumns(c, new Map([[b[0]!, a[0]!]]), true));
    }
  }
  const notNullColumns = new Set([...known, ...inferred].flatMap(nullIntolerantColumns));
  const onSide = (plan: LogicalPlan, apply: boolean): LogicalPlan => {
    if (!apply) return plan;
    const schema = schemaOf(plan);
    const names = new Set(schema.map((f) => f.name));
    const has = new Set(constraintsOf(plan).map((c) => JSON.stringify(c)));
    const wanted: Expr[] = [];
    const add = (c: Expr): void => {
      const text = JSON.stringify(c);
      if (has.has(text)) return;
      has.add(text);
      wanted.push(c);
    };
    for (const f of schema) {
      if (f.nullable && notNullColumns.has(f.name)) add({ kind: 'unary', op: 'isNotNull', child: { kind: 'column', path: [f.name] } });
    }
    for (const c of inferred) if ([...columnsOf(c)].every((n) => names.has(n))) add(c);
    return pushFilter(wanted, plan);
  };
  return {
    ...join,
    left: onSide(join.left, opensTo(join, 'left') && (type === 'inner' || type === 'semi' || type === 'right')),
    right: onSide(join.right, opensTo(join, 'right') && type !== 'right' && type !== 'full'),
  };
}

/** The conditions known to hold on every row of a plan: its filters, through watermarks and plain projections. */
function constraintsOf(plan: LogicalPlan): Expr[] {
  switch (plan.kind) {
    case 'filter': return [...conjuncts(plan.condition), ...constraintsOf(plan.child)];
    case 'watermark': return constraintsOf(plan.child);
    case 'project': {
      const outputOf = new Map<string, string>();
      for (const [output, source] of passThroughColumns(plan)) if (!outputOf.has(source)) outputOf.set(source, output);
      return constraintsOf(plan.child).flatMap((c) => ([...columnsOf(c)].every((n) => outputOf.has(n)) ? [renameColumns(c, outputOf)] : []));
    }
    default: return [];
  }
}

/** A join side a filter may move into: the static side of a stream-static join stays its bare input (read once). */
function opensTo(join: Extract<LogicalPlan, { kind: 'join' }>, side: 'left' | 'right'): boolean {
  const [own, other] = side === 'left' ? [join.left, join.right] : [join.right, join.left];
  return isStreaming(own) || !isStreaming(other);
}

const NULL_INTOLERANT = new Set(['+', '-', '*', '/', '%', '=', '!=', '<', '<=', '>', '>=']);

/** The columns an expression is null whenever one of them is null (through null-intolerant operators only). */
function nullIntolerantColumns(e: Expr): string[] {
  switch (e.kind) {
    case 'column': return [e.path[0]!];
    case 'binary': return NULL_INTOLERANT.has(e.op) ? [...nullIntolerantColumns(e.left), ...nullIntolerantColumns(e.right)] : [];
    case 'unary': return e.op === 'not' || e.op === 'negate' ? nullIntolerantColumns(e.child) : [];
    case 'cast': case 'alias': return nullIntolerantColumns(e.child);
    default: return [];
  }
}

/** The output columns of a projection that are input columns (kept or renamed), by output name. */
function passThroughColumns(project: Extract<LogicalPlan, { kind: 'project' }>): Map<string, string> {
  const sources = new Map<string, string>();
  for (const e of project.exprs) {
    if (e.kind === 'star') for (const f of schemaOf(project.child)) sources.set(f.name, f.name);
    else if (e.kind === 'column' && e.path.length === 1) sources.set(e.path[0]!, e.path[0]!);
    else if (e.kind === 'alias' && e.child.kind === 'column' && e.child.path.length === 1) sources.set(e.name, e.child.path[0]!);
  }
  return sources;
}

/** `e` with columns renamed by `names` (every column it reads must be there, unless `partial`). */
function renameColumns(e: Expr, names: ReadonlyMap<string, string>, partial = false): Expr {
  const rename = (x: Expr): Expr => {
    if (x.kind === 'column') {
      const to = names.get(x.path[0]!);
      return to === undefined && partial ? x : { ...x, path: [to!, ...x.path.slice(1)] };
    }
    return mapChildren(x, rename);
  };
  return rename(e);
}

function mapChildren(e: Expr, f: (x: Expr) => Expr): Expr {
  switch (e.kind) {
    case 'alias': case 'unary': case 'cast': case 'sortOrder': return { ...e, child: f(e.child) };
    case 'binary': return { ...e, left: f(e.left), right: f(e.right) };
    case 'call': return { ...e, args: e.args.map(f) };
    case 'in': return { ...e, child: f(e.child), list: e.list.map(f) };
    case 'case': return { ...e, branches: e.branches.map(([w, t]) => [f(w), f(t)] as const), otherwise: e.otherwise ? f(e.otherwise) : null };
    case 'aggregate': return { ...e, child: e.child ? f(e.child) : null, ...(e.by ? { by: f(e.by) } : {}) };
    case 'window': case 'sessionWindow': return { ...e, time: f(e.time) };
    default: return e;
  }
}

function columnsOf(e: Expr): Set<string> {
  const names = new Set<string>();
  walk(e, (x) => { if (x.kind === 'column') names.add(x.path[0]!); });
  return names;
}

function conjuncts(e: Expr): Expr[] {
  return e.kind === 'binary' && e.op === 'and' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

function and(list: readonly Expr[]): Expr {
  return list.reduce((acc, e): Expr => ({ kind: 'binary', op: 'and', left: acc, right: e }));
}
