/**
 * What a join needs beyond its output schema: the equality keys that route rows to buckets, the
 * rest of the condition, and — for stream-stream joins — how long a buffered row can still find a
 * partner, derived from the event-time range the condition allows (Spark's state watermark).
 */
import { AnalysisError } from '../common/errors.js';
import { Field, Schema, typeToString } from '../common/schema.js';
import { BinaryOp, Expr, stripAlias, walk } from './expressions.js';

export type JoinType = 'inner' | 'left' | 'right' | 'full' | 'semi' | 'anti';

const JOIN_TYPES: Readonly<Record<string, JoinType>> = {
  inner: 'inner',
  left: 'left', leftouter: 'left', left_outer: 'left',
  right: 'right', rightouter: 'right', right_outer: 'right',
  full: 'full', outer: 'full', fullouter: 'full', full_outer: 'full',
  semi: 'semi', leftsemi: 'semi', left_semi: 'semi',
  anti: 'anti', leftanti: 'anti', left_anti: 'anti',
};

export function parseJoinType(how: string): JoinType {
  const type = JOIN_TYPES[how.toLowerCase()];
  if (!type) {
    throw new AnalysisError(`Unsupported join type '${how}'. Use one of: inner, left (left_outer), right (right_outer), ` +
      'full (full_outer, outer), left_semi (semi), left_anti (anti).', 'UNSUPPORTED_JOIN');
  }
  return type;
}

/** The join's `on`: column names (an equi-join whose keys appear once) or a boolean condition. */
export type JoinOn = { readonly using: readonly string[] } | { readonly condition: Expr };

/**
 * The event time a buffered row of one side is judged by, and its slack: the row can still match
 * a future row of the other side while `time + slackMs > watermark`.
 */
export interface TimeBound {
  readonly column: string;
  /** The column is a window struct: its time is `end`. */
  readonly window: boolean;
  readonly slackMs: number;
}

export interface JoinAnalysis {
  readonly leftKeys: readonly Expr[];
  readonly rightKeys: readonly Expr[];
  /** Conjuncts that are not key equalities, over the combined row (null: none). */
  readonly residual: Expr | null;
  readonly leftBound: TimeBound | null;
  readonly rightBound: TimeBound | null;
}

/** The output columns: keys once (using), then left, then right; semi and anti joins keep the left side only. */
export function joinSchema(left: Schema, right: Schema, on: JoinOn, type: JoinType): Schema {
  const nullableIf = (f: Field, padded: boolean): Field => (padded ? { ...f, nullable: true } : f);
  const leftPadded = type === 'right' || type === 'full';
  const rightPadded = type === 'left' || type === 'full';
  if ('using' in on) {
    for (const name of on.using) {
      const l = left.find((f) => f.name === name);
      const r = right.find((f) => f.name === name);
      if (!l || !r) {
        throw new AnalysisError(`join(..., '${name}') needs a column '${name}' on both sides; the ${l ? 'right' : 'left'} ` +
          `side has ${(l ? right : left).map((f) => f.name).join(', ')}.`, 'UNKNOWN_COLUMN');
      }
      if (typeToString(l.type) !== typeToString(r.type)) {
        throw new AnalysisError(`join key '${name}' is ${typeToString(l.type)} on the left and ${typeToString(r.type)} on ` +
          'the right: cast one side so the types match.', 'TYPE_MISMATCH');
      }
    }
    // A key comes from whichever side has the row (the left one when both do), so it is null only if both can be.
    const keys = on.using.map((name) => {
      const l = left.find((f) => f.name === name)!;
      const r = right.find((f) => f.name === name)!;
      return { ...l, nullable: l.nullable || r.nullable };
    });
    const leftRest = left.filter((f) => !on.using.includes(f.name)).map((f) => nullableIf(f, leftPadded));
    if (type === 'semi' || type === 'anti') return left;
    const rightRest = right.filter((f) => !on.using.includes(f.name)).map((f) => nullableIf(f, rightPadded));
    return [...keys, ...leftRest, ...rightRest];
  }
  if (type === 'semi' || type === 'anti') return left;
  const clash = left.find((f) => right.some((r) => r.name === f.name));
  if (clash) {
    throw new AnalysisError(`Both sides of the join have a column '${clash.name}', and rows are objects keyed by column ` +
      `name: rename one side first, e.g. .withColumnRenamed('${clash.name}', 'right_${clash.name}'), or join on ` +
      `'${clash.name}' by name: join(other, '${clash.name}').`, 'DUPLICATE_COLUMN');
  }
  return [...left.map((f) => nullableIf(f, leftPadded)), ...right.map((f) => nullableIf(f, rightPadded))];
}

export function analyzeJoin(left: Schema, right: Schema, on: JoinOn): JoinAnalysis {
  if ('using' in on) {
    const keys = on.using.map((name): Expr => ({ kind: 'column', path: [name] }));
    const timePairs = on.using.filter((name) => eventTimeField(left, name) && eventTimeField(right, name));
    const d = timePairs.length > 0 ? { lo: 0, hi: 0, leftColumn: timePairs[0]!, rightColumn: timePairs[0]! } : null;
    return { leftKeys: keys, rightKeys: keys, residual: null, ...bounds(left, right, d) };
  }
  const leftKeys: Expr[] = [];
  const rightKeys: Expr[] = [];
  const rest: Expr[] = [];
  let range: TimeRange | null = null;
  for (const conjunct of conjuncts(on.condition)) {
    const c = stripAlias(conjunct);
    const sideOf = (e: Expr): 'left' | 'right' | 'both' | 'none' => referencedSide(e, left, right);
    if (c.kind === 'binary' && c.op === '=') {
      const [a, b] = [sideOf(c.left), sideOf(c.right)];
      if ((a === 'left' && b === 'right') || (a === 'right' && b === 'left')) {
        leftKeys.push(a === 'left' ? c.left : c.right);
        rightKeys.push(a === 'left' ? c.right : c.left);
        range = narrow(range, timeDifference(c, left, right));
        continue;
      }
    }
    range = narrow(range, timeDifference(c, left, right));
    rest.push(conjunct);
  }
  const residual = rest.length === 0 ? null
    : rest.reduce((acc, e): Expr => ({ kind: 'binary', op: 'and', left: acc, right: e }));
  return { leftKeys, rightKeys, residual, ...bounds(left, right, range) };
}

/** `leftTime - rightTime` lies in [lo, hi] for every matching pair (bounds may be infinite). */
interface TimeRange { readonly lo: number; readonly hi: number; readonly leftColumn: string; readonly rightColumn: string }

function bounds(left: Schema, right: Schema, d: TimeRange | null): { leftBound: TimeBound | null; rightBound: TimeBound | null } {
  if (!d) return { leftBound: null, rightBound: null };
  const bound = (schema: Schema, column: string, slackMs: number): TimeBound | null => {
    if (!Number.isFinite(slackMs)) return null;
    const f = eventTimeField(schema, column);
    return f ? { column, window: typeof f.type !== 'string', slackMs } : null;
  };
  // A left row at time tL matches right rows with tR in [tL - hi, tL - lo]; future right rows are after
  // the watermark, so once tL - lo <= watermark it never matches again. Symmetrically for right rows.
  return { leftBound: bound(left, d.leftColumn, -d.lo), rightBound: bound(right, d.rightColumn, d.hi) };
}

/** Intersects two ranges on the same pair of time columns; a range over another pair is ignored. */
function narrow(range: TimeRange | null, next: TimeRange | null): TimeRange | null {
  if (!next) return range;
  if (!range) return next;
  if (range.leftColumn !== next.leftColumn || range.rightColumn !== next.rightColumn) return range;
  return { ...range, lo: Math.max(range.lo, next.lo), hi: Math.min(range.hi, next.hi) };
}

const FLIP: Partial<Record<BinaryOp, BinaryOp>> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' };

/** For a comparison between one side's event time (plus or minus constants) and the other's, the range of tL - tR. */
function timeDifference(c: Expr, left: Schema, right: Schema): TimeRange | null {
  if (c.kind !== 'binary' || !FLIP[c.op]) return null;
  const a = linearTime(c.left, left, right);
  const b = linearTime(c.right, left, right);
  if (!a || !b || a.side === b.side) return null;
  // Written as (tL + offL) op (tR + offR), i.e. tL - tR op offR - offL.
  const [l, r, op] = a.side === 'left' ? [a, b, c.op] : [b, a, FLIP[c.op]!];
  const k = r.offset - l.offset;
  const range = { leftColumn: l.column, rightColumn: r.column };
  switch (op) {
    case '>': case '>=': return { ...range, lo: k, hi: Infinity };
    case '<': case '<=': return { ...range, lo: -Infinity, hi: k };
    default: return { ...range, lo: k, hi: k };
  }
}

/** `col` or `col ± constant` over a watermarked column (a window counts by its whole struct). */
function linearTime(e: Expr, left: Schema, right: Schema): { side: 'left' | 'right'; column: string; offset: number } | null {
  const x = stripAlias(e);
  if (x.kind === 'column' && x.path.length === 1) {
    const name = x.path[0]!;
    if (eventTimeField(left, name) && !right.some((f) => f.name === name)) return { side: 'left', column: name, offset: 0 };
    if (eventTimeField(right, name) && !left.some((f) => f.name === name)) return { side: 'right', column: name, offset: 0 };
    return null;
  }
  if (x.kind === 'binary' && (x.op === '+' || x.op === '-')) {
    const base = linearTime(x.left, left, right);
    const k = stripAlias(x.right);
    if (base && k.kind === 'literal' && typeof k.value === 'number') {
      return { ...base, offset: base.offset + (x.op === '+' ? k.value : -k.value) };
    }
  }
  return null;
}

function eventTimeField(schema: Schema, name: string): Field | undefined {
  return schema.find((f) => f.name === name && f.eventTimeDelayMs !== undefined);
}

function conjuncts(e: Expr): Expr[] {
  const x = stripAlias(e);
  return x.kind === 'binary' && x.op === 'and' ? [...conjuncts(x.left), ...conjuncts(x.right)] : [e];
}

function referencedSide(e: Expr, left: Schema, right: Schema): 'left' | 'right' | 'both' | 'none' {
  let l = false;
  let r = false;
  walk(e, (x) => {
    if (x.kind !== 'column') return;
    if (left.some((f) => f.name === x.path[0])) l = true;
    else if (right.some((f) => f.name === x.path[0])) r = true;
  });
  return l && r ? 'both' : l ? 'left' : r ? 'right' : 'none';
}
