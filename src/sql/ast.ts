/** The parsed form of weir's SQL: statements, queries and expressions, with source positions for errors. */
import { Value } from '../common/schema.js';

export interface Position { readonly line: number; readonly column: number }

export type SqlExpr =
  | { readonly kind: 'column'; readonly path: readonly string[]; readonly at: Position }
  | { readonly kind: 'star'; readonly qualifier: string | null; readonly at: Position }
  | { readonly kind: 'literal'; readonly value: Value; readonly at: Position }
  /** An interval literal, in milliseconds. */
  | { readonly kind: 'interval'; readonly ms: number; readonly at: Position }
  | { readonly kind: 'binary'; readonly op: string; readonly left: SqlExpr; readonly right: SqlExpr; readonly at: Position }
  | { readonly kind: 'not'; readonly child: SqlExpr; readonly at: Position }
  | { readonly kind: 'negate'; readonly child: SqlExpr; readonly at: Position }
  | { readonly kind: 'isNull'; readonly child: SqlExpr; readonly negated: boolean; readonly at: Position }
  | { readonly kind: 'in'; readonly child: SqlExpr; readonly list: readonly SqlExpr[]; readonly negated: boolean; readonly at: Position }
  | { readonly kind: 'between'; readonly child: SqlExpr; readonly low: SqlExpr; readonly high: SqlExpr; readonly negated: boolean;
      readonly at: Position }
  | { readonly kind: 'like'; readonly op: 'like' | 'rlike'; readonly child: SqlExpr; readonly pattern: SqlExpr;
      readonly negated: boolean; readonly at: Position }
  | { readonly kind: 'cast'; readonly child: SqlExpr; readonly type: string; readonly at: Position }
  | { readonly kind: 'case'; readonly operand: SqlExpr | null; readonly branches: readonly (readonly [SqlExpr, SqlExpr])[];
      readonly otherwise: SqlExpr | null; readonly at: Position }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly SqlExpr[]; readonly distinct: boolean;
      readonly at: Position };

export interface SelectItem { readonly expr: SqlExpr; readonly alias: string | null }

export type JoinKind = 'inner' | 'left' | 'right' | 'full' | 'left_semi' | 'left_anti';

export type FromItem =
  | { readonly kind: 'table'; readonly name: string; readonly alias: string | null; readonly watermark: Watermark | null;
      readonly at: Position }
  | { readonly kind: 'subquery'; readonly query: Query; readonly alias: string | null; readonly watermark: Watermark | null;
      readonly at: Position }
  | { readonly kind: 'join'; readonly left: FromItem; readonly right: FromItem; readonly type: JoinKind;
      readonly on: SqlExpr | null; readonly using: readonly string[] | null; readonly at: Position };

/** `WATERMARK ts DELAY OF INTERVAL 10 SECONDS` on a FROM item. */
export interface Watermark { readonly column: string; readonly delayMs: number }

export interface Select {
  readonly kind: 'select';
  readonly distinct: boolean;
  readonly items: readonly SelectItem[];
  readonly from: FromItem | null;
  readonly where: SqlExpr | null;
  readonly groupBy: readonly SqlExpr[];
  readonly having: SqlExpr | null;
  readonly at: Position;
}

export interface OrderItem { readonly expr: SqlExpr; readonly descending: boolean }

export interface Query {
  /** Parts joined by UNION ALL. */
  readonly parts: readonly Select[];
  readonly orderBy: readonly OrderItem[];
  readonly limit: number | null;
}

export interface ColumnDef { readonly name: string; readonly type: string }

export type Statement =
  | { readonly kind: 'query'; readonly query: Query }
  | { readonly kind: 'createView'; readonly name: string; readonly query: Query; readonly at: Position }
  /** Flink SQL's `CREATE TABLE name (cols, WATERMARK FOR ts AS ts - INTERVAL …) WITH ('k' = 'v', …)`. */
  | { readonly kind: 'createTable'; readonly name: string; readonly columns: readonly ColumnDef[];
      readonly watermark: Watermark | null; readonly options: ReadonlyMap<string, string>; readonly at: Position }
  | { readonly kind: 'insert'; readonly table: string; readonly query: Query; readonly at: Position };
