/**
 * What a join needs beyond its output schema: the equality keys that route rows to buckets, the
 * rest of the condition, and — for stream-stream joins — how long a buffered row can still find a
 * partner, derived from the event-time range the condition allows (Spark's state watermark).
 */
import { AnalysisError } from '../common/errors.js';
import { Field, Schema, typeToString } from '../common/schema.js';
import { Expr, stripAlias, walk } from './expressions.js';

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
 * When a buffered row of one side can no longer match a future row (Spark's state watermark predicates).
 * - `key`: a join key is an event-time column or window (of either side): the rows of a key whose time
 *   (a window's end) is at or below the watermark are removed, on both sides, whichever side declared it.
 * - `value`: a range condition bounds this side's event time against the other side's watermarked
 *   time: a row is removed once its own event-time column (a window's end) is at or below the state
 *   watermark, the minimum over the bounds of `trunc(watermark + constantMs)`, less 1 ms for `<=`/`>=`.
 */
export type StateWatermark =
  | { readonly kind: 'key'; readonly ordinal: number; readonly window: boolean }
  | { readonly kind: 'value'; readonly column: string; readonly window: boolean; readonly bounds: readonly ValueBound[] };

/** One range conjunct solved for a side: its state watermark is `trunc((watermark if withWatermark) + constantMs) - (inclusive ? 1 : 0)`. */
export interface ValueBound { readonly constantMs: number; readonly withWatermark: boolean; readonly inclusive: boolean }

/** The state watermark of a value bound list at a given event-time watermark. */
export function stateWatermarkMs(bounds: readonly ValueBound[], watermarkMs: number): number {
  return Math.min(...bounds.map((b) => Math.trunc((b.withWatermark ? watermarkMs : 0) + b.constantMs) - (b.inclusive ? 1 : 0)));
}

export interface JoinAnalysis {
  readonly leftKeys: readonly Expr[];
  readonly rightKeys: readonly Expr[];
  /** Per key pair: compared null-safely (`<=>`, eqNullSafe), so a null key matches a null key. */
  readonly nullSafeKeys: readonly boolean[];
  /** The non-key conjuncts over the left side only, the right side only, and both (null: none). */
  readonly leftOnly: Expr | null;
  readonly rightOnly: Expr | null;
  readonly bothSides: Expr | null;
  /** The state watermark of each side of a stream-stream join (null: its rows stay buffered). */
  readonly leftState: StateWatermark | null;
  readonly rightState: StateWatermark | null;
  /** A watermarked column is a join key (Spark's isWatermarkInJoinKeys). */
  readonly watermarkInKeys: boolean;
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
  const leftKeys: Expr[] = [];
  const rightKeys: Expr[] = [];
  const nullSafeKeys: boolean[] = [];
  const rest: Expr[] = [];
  if ('using' in on) {
    for (const name of on.using) {
      leftKeys.push({ kind: 'column', path: [name] });
      rightKeys.push({ kind: 'column', path: [name] });
      nullSafeKeys.push(false);
    }
  } else {
    for (const conjunct of conjuncts(on.condition)) {
      const c = stripAlias(conjunct);
      if (c.kind === 'binary' && (c.op === '=' || c.op === '<=>')) {
        const [a, b] = [referencedSide(c.left, left, right), referencedSide(c.right, left, right)];
        if ((a === 'left' && b === 'right') || (a === 'right' && b === 'left')) {
          leftKeys.push(a === 'left' ? c.left : c.right);
          rightKeys.push(a === 'left' ? c.right : c.left);
          nullSafeKeys.push(c.op === '<=>');
          continue;
        }
      }
      rest.push(conjunct);
    }
  }
  // Spark's split: a conjunct that references no column counts as the left side's.
  const sides = rest.map((e) => referencedSide(e, left, right));
  const and = (list: Expr[]): Expr | null => (list.length === 0 ? null
    : list.reduce((acc, e): Expr => ({ kind: 'binary', op: 'and', left: acc, right: e })));
  const ordinal = keyOrdinalForWatermark(leftKeys, left) ?? keyOrdinalForWatermark(rightKeys, right);
  const stateOf = (own: Schema, ownKeys: readonly Expr[], other: Schema): StateWatermark | null => {
    if (ordinal !== null) return { kind: 'key', ordinal, window: isStruct(fieldOfKey(ownKeys[ordinal]!, own)) };
    const column = own.find((f) => f.eventTimeDelayMs !== undefined);
    const bounds = valueBounds(own, other, rest);
    return column && bounds.length > 0
      ? { kind: 'value', column: column.name, window: isStruct(column), bounds } : null;
  };
  return {
    leftKeys, rightKeys, nullSafeKeys,
    leftOnly: and(rest.filter((_, i) => sides[i] === 'left' || sides[i] === 'none')),
    rightOnly: and(rest.filter((_, i) => sides[i] === 'right')),
    bothSides: and(rest.filter((_, i) => sides[i] === 'both')),
    leftState: stateOf(left, leftKeys, right),
    rightState: stateOf(right, rightKeys, left),
    watermarkInKeys: [...leftKeys.map((k) => watermarkedColumn(k, left)), ...rightKeys.map((k) => watermarkedColumn(k, right))]
      .some((f) => f !== undefined),
  };
}

/**
 * The bounds a range condition puts on side `own`'s event time given the other side's watermark
 * (Spark's getStateValueWatermark): empty when the other side has no watermark or no conjunct solves.
 */
export function valueBounds(own: Schema, other: Schema, conditions: readonly Expr[]): ValueBound[] {
  if (!other.some((f) => f.eventTimeDelayMs !== undefined)) return [];
  const found: ValueBound[] = [];
  for (const conjunct of conditions.flatMap(conjuncts)) {
    const c = stripAlias(conjunct);
    if (c.kind !== 'binary') continue;
    // `a < b` reads as `a - b < 0`; `a > b` as `b - a < 0`.
    const [lower, upper] = c.op === '<' || c.op === '<=' ? [c.left, c.right] : c.op === '>' || c.op === '>=' ? [c.right, c.left] : [null, null];
    if (!lower || !upper) continue;
    const solved = solveForOwnTime(lower, upper, own, other);
    if (solved !== null) found.push({ ...solved, inclusive: c.op === '<=' || c.op === '>=' });
  }
  return found;
}

/**
 * For `lower < upper` holding for every match, the constant c such that own time > other's watermark + c,
 * when the conjunct is linear in one timestamp column of each side with own time on the upper side.
 */
function solveForOwnTime(lower: Expr, upper: Expr, own: Schema, other: Schema): { constantMs: number; withWatermark: boolean } | null {
  const terms: Term[] = [];
  if (!collectTerms(lower, false, terms) || !collectTerms(upper, true, terms)) return null;
  const columns = (schema: Schema): Set<string> =>
    new Set(terms.flatMap((t) => (t.column !== null && schema.some((f) => f.name === t.column) ? [t.column] : [])));
  if (columns(own).size > 1 || columns(other).size > 1) return null;
  const ownTerms = terms.filter((t) => t.column !== null && own.find((f) => f.name === t.column)?.type === 'timestamp');
  // Own time must appear negated in `lower - upper < 0`, i.e. on the upper side: only then does it bound it from below.
  if (ownTerms.length !== 1 || !ownTerms[0]!.negated) return null;
  let constantMs = 0;
  let withWatermark = false;
  for (const t of terms) {
    if (t === ownTerms[0]) continue;
    if (t.column === null) constantMs += t.negated ? -t.constant : t.constant;
    else {
      // Only the other side's watermarked time can be replaced by the watermark (entering with a plus sign).
      const f = other.find((x) => x.name === t.column);
      if (!f || f.type !== 'timestamp' || f.eventTimeDelayMs === undefined || t.negated || withWatermark) return null;
      withWatermark = true;
    }
  }
  return { constantMs, withWatermark };
}

/** A term of a sum: a column (its value) or a number constant, negated or not. */
interface Term { readonly column: string | null; readonly constant: number; readonly negated: boolean }

/** Splits `+`, `-`, negation and numeric casts into terms; false when the expression is not such a sum. */
function collectTerms(e: Expr, negated: boolean, into: Term[]): boolean {
  const x = stripAlias(e);
  switch (x.kind) {
    case 'column':
      if (x.path.length !== 1) return false;
      into.push({ column: x.path[0]!, constant: 0, negated });
      return true;
    case 'literal':
      if (typeof x.value !== 'number') return false;
      into.push({ column: null, constant: x.value, negated });
      return true;
    case 'binary':
      if (x.op !== '+' && x.op !== '-') return false;
      return collectTerms(x.left, negated, into) && collectTerms(x.right, x.op === '-' ? !negated : negated, into);
    case 'unary':
      return x.op === 'negate' && collectTerms(x.child, !negated, into);
    case 'cast':
      return (x.to === 'timestamp' || x.to === 'long' || x.to === 'integer' || x.to === 'double') && collectTerms(x.child, negated, into);
    default:
      return false;
  }
}

/** The first key that is a watermarked column of its side (Spark's joinKeyOrdinalForWatermark, per side). */
function keyOrdinalForWatermark(keys: readonly Expr[], schema: Schema): number | null {
  const i = keys.findIndex((k) => watermarkedColumn(k, schema) !== undefined);
  return i < 0 ? null : i;
}

function watermarkedColumn(key: Expr, schema: Schema): Field | undefined {
  const k = stripAlias(key);
  if (k.kind !== 'column' || k.path.length !== 1) return undefined;
  return schema.find((f) => f.name === k.path[0] && f.eventTimeDelayMs !== undefined);
}

function fieldOfKey(key: Expr, schema: Schema): Field | undefined {
  const k = stripAlias(key);
  return k.kind === 'column' && k.path.length === 1 ? schema.find((f) => f.name === k.path[0]) : undefined;
}

function isStruct(f: Field | undefined): boolean {
  return f !== undefined && typeof f.type === 'object' && f.type.kind === 'struct';
}

function conjuncts(e: Expr): Expr[] {
  const x = stripAlias(e);
  return x.kind === 'binary' && x.op === 'and' ? [...conjuncts(x.left), ...conjuncts(x.right)] : [e];
}

export function referencedSide(e: Expr, left: Schema, right: Schema): 'left' | 'right' | 'both' | 'none' {
  let l = false;
  let r = false;
  walk(e, (x) => {
    if (x.kind !== 'column') return;
    if (left.some((f) => f.name === x.path[0])) l = true;
    else if (right.some((f) => f.name === x.path[0])) r = true;
  });
  return l && r ? 'both' : l ? 'left' : r ? 'right' : 'none';
}
