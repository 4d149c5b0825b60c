import { nameOf } from '../../plan/analyzer.js';
import { containsAggregate, Expr } from '../../plan/expressions.js';
import { FromItem, JoinKind, Position, Query, Select } from '../../sql/ast.js';
import { Column } from '../column.js';
import type { DataFrame } from '../dataframe.js';
import { at, SqlExpressions } from './expressions.js';

/** Finds the DataFrame a FROM clause names (a temporary view or a declared table). */
export type TableResolver = (name: string, position: Position) => DataFrame;

const JOIN_TYPES: Readonly<Record<JoinKind, string>> = {
  inner: 'inner', left: 'left', right: 'right', full: 'full', left_semi: 'left_semi', left_anti: 'left_anti',
};

/**
 * Builds DataFrames from parsed queries with the DataFrame API itself, so SQL and DataFrame code of
 * the same query share one logical plan, one set of checks and one execution.
 */
export class SqlPlanner {
  constructor(private readonly resolveTable: TableResolver) {}

  query(q: Query): DataFrame {
    let df = this.select(q.parts[0]!);
    for (const part of q.parts.slice(1)) df = df.union(this.select(part));
    if (q.orderBy.length > 0) {
      const x = new SqlExpressions();
      df = df.orderBy(...q.orderBy.map((o) => new Column({ kind: 'sortOrder', child: x.toExpr(o.expr), descending: o.descending })));
    }
    return q.limit === null ? df : df.limit(q.limit);
  }

  private select(s: Select): DataFrame {
    if (s.from === null) throw at(s.at, 'SELECT needs a FROM clause (a table or view to read)');
    const { df: input, relations } = this.from(s.from);
    const x = new SqlExpressions(new Set(relations.keys()));
    let df = s.where === null ? input : input.filter(new Column(x.toExpr(s.where)));
    const items: Expr[] = s.items.flatMap((item) => {
      if (item.expr.kind === 'star' && item.expr.qualifier !== null) {
        const relation = relations.get(item.expr.qualifier.toLowerCase());
        if (!relation) throw at(item.expr.at, `no relation named '${item.expr.qualifier}' in FROM`);
        return relation.columns.map((name): Expr => ({ kind: 'column', path: [name] }));
      }
      const e = x.toExpr(item.expr);
      return [item.alias === null ? e : { kind: 'alias', child: e, name: item.alias }];
    });
    const having = s.having === null ? null : x.toExpr(s.having);
    const aggregating = s.groupBy.length > 0 || having !== null || items.some(containsAggregate);
    if (aggregating) df = this.aggregate(df, s.groupBy.map((g) => x.toExpr(g)), items, having);
    // SELECT * alone keeps the relation as it is, as the DataFrame API does without a select().
    else if (!(items.length === 1 && items[0]!.kind === 'star')) df = df.select(...items.map((e) => new Column(e)));
    return s.distinct ? df.dropDuplicates() : df;
  }

  /**
   * GROUP BY: the groups and every aggregate of the SELECT list and HAVING go into one `groupBy().agg()`;
   * HAVING filters its output and the SELECT list is computed over it — unless the list is exactly the
   * groups and the aggregates, in order, which is the plan `groupBy(...).agg(...)` alone builds.
   */
  private aggregate(df: DataFrame, groups: readonly Expr[], items: readonly Expr[], having: Expr | null): DataFrame {
    const groupNames = groups.map(nameOf);
    const aggs: Expr[] = [];
    const nameByAggregate = new Map<string, string>();
    const add = (agg: Expr, name: string, aliased: boolean): string => {
      aggs.push(aliased ? { kind: 'alias', child: agg, name } : agg);
      const key = JSON.stringify(agg);
      if (!nameByAggregate.has(key)) nameByAggregate.set(key, name);
      return name;
    };
    // An aggregate inside a larger expression (or HAVING) reuses an equal one's column, or gets one of its own.
    const register = (agg: Expr): string => nameByAggregate.get(JSON.stringify(agg)) ?? add(agg, `_agg${aggs.length}`, true);
    const rewrite = (e: Expr): Expr => {
      const index = groups.findIndex((g) => JSON.stringify(g) === JSON.stringify(e));
      if (index >= 0) return { kind: 'column', path: [groupNames[index]!] };
      if (e.kind === 'aggregate') return { kind: 'column', path: [register(e)] };
      return mapChildren(e, rewrite);
    };
    const output = items.map((item) => {
      // An aggregate that is a whole SELECT item keeps its name (or alias) as the aggregation's column.
      const inner = item.kind === 'alias' ? item.child : item;
      if (inner.kind === 'aggregate') {
        const name = item.kind === 'alias' ? add(inner, item.name, true) : add(inner, nameOf(inner), false);
        return { kind: 'column', path: [name] } as Expr;
      }
      const rewritten = rewrite(inner);
      return item.kind === 'alias' ? { kind: 'alias', child: rewritten, name: item.name } as Expr : rewritten;
    });
    const condition = having === null ? null : rewrite(having);
    let result = df.groupBy(...groups.map((g) => new Column(g))).agg(...aggs.map((a) => new Column(a)));
    if (condition !== null) result = result.filter(new Column(condition));
    const plainOutput = output.every((e) => e.kind === 'column' && e.path.length === 1);
    const names = output.map((e) => (e.kind === 'column' ? e.path[0] : null));
    if (plainOutput && names.join('\u0000') === result.columns.join('\u0000')) return result;
    return result.select(...output.map((e) => new Column(e)));
  }

  /** A FROM clause as one DataFrame, with the names its relations can be qualified by. */
  private from(item: FromItem): { df: DataFrame; relations: Map<string, DataFrame> } {
    if (item.kind === 'join') {
      const left = this.from(item.left);
      const right = this.from(item.right);
      const relations = new Map([...left.relations, ...right.relations]);
      const how = JOIN_TYPES[item.type];
      const df = item.using !== null
        ? left.df.join(right.df, item.using, how)
        : left.df.join(right.df, new Column(new SqlExpressions(new Set(relations.keys())).toExpr(item.on!)), how);
      return { df, relations };
    }
    let df = item.kind === 'table' ? this.resolveTable(item.name, item.at) : this.query(item.query);
    if (item.watermark) df = df.withWatermark(item.watermark.column, item.watermark.delayMs);
    const name = item.alias ?? (item.kind === 'table' ? item.name : null);
    return { df, relations: new Map(name === null ? [] : [[name.toLowerCase(), df]]) };
  }
}

/** The expression with each direct child replaced by `f(child)`. */
function mapChildren(e: Expr, f: (child: Expr) => Expr): Expr {
  switch (e.kind) {
    case 'alias': case 'unary': case 'cast': case 'sortOrder': return { ...e, child: f(e.child) };
    case 'binary': return { ...e, left: f(e.left), right: f(e.right) };
    case 'call': return { ...e, args: e.args.map(f) };
    case 'in': return { ...e, child: f(e.child), list: e.list.map(f) };
    case 'case': return { ...e, branches: e.branches.map(([w, t]) => [f(w), f(t)] as const), otherwise: e.otherwise && f(e.otherwise) };
    case 'window': case 'sessionWindow': return { ...e, time: f(e.time) };
    default: return e;
  }
}
