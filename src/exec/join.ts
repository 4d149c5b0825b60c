import { StateStorePaths } from '../checkpoint/layout.js';
/**
 * Joins. A batch join (and a stream-static join, once per micro-batch against the static rows) is
 * a hash join in memory. A stream-stream join is Spark's symmetric hash join: each side's rows are
 * buffered in state by join key; a new row is matched against the other side's buffer, so every
 * pair joins exactly once whichever batches its rows arrive in; with watermarks and an event-time
 * range in the condition, buffered rows that can no longer match are evicted, and an outer join
 * emits a row that never matched NULL-padded at that moment.
 */
import { Row, Schema } from '../common/schema.js';
import { JoinAnalysis, JoinType, TimeBound } from '../plan/join-analysis.js';
import { OutputMode } from '../common/output-mode.js';
import { StateKey } from '../state/state-store.js';
import { compileExpression, CompiledExpr } from './compile.js';
import { ExecContext, PhysicalOperator } from './physical.js';
import { StatefulBase, StateRowCounts } from './stateful-base.js';
import { stateKeyOf } from './state-keys.js';
import { fieldReadCode, ownValue } from '../codec/fields.js';
import { rowLiteralCode } from '../codec/row-literal.js';

export interface JoinSpec {
  readonly type: JoinType;
  readonly left: Schema;
  readonly right: Schema;
  readonly output: Schema;
  /** `join(other, ['k'])`: the key columns, written once in the output. */
  readonly using: readonly string[] | null;
  readonly analysis: JoinAnalysis;
  /** The join type and condition as explain shows them. */
  readonly description: string;
}

type Side = 'left' | 'right';

/** The per-row functions of a join: bucket keys, the non-key condition and the output row. */
export class JoinRows {
  private readonly leftKeys: CompiledExpr[];
  private readonly rightKeys: CompiledExpr[];
  private readonly residual: CompiledExpr | null;
  private readonly build: (l: Row | null, r: Row | null) => Row;

  constructor(readonly spec: JoinSpec) {
    const { analysis, left, right, using } = spec;
    this.leftKeys = analysis.leftKeys.map((e) => compileExpression(e, left));
    this.rightKeys = analysis.rightKeys.map((e) => compileExpression(e, right));
    this.residual = analysis.residual ? compileExpression(analysis.residual, [...left, ...right]) : null;
    this.build = compileCombine(spec.output, new Set(left.map((f) => f.name)), using ?? []);
  }

  /** The bucket of a row; null when a key is null (SQL: it equals nothing). */
  key(side: Side, row: Row, ctx: ExecContext): StateKey | null {
    const exprs = side === 'left' ? this.leftKeys : this.rightKeys;
    if (exprs.length === 1) {
      // The common single-column key without the tuple array (stateKeyOf of one value).
      const v = exprs[0]!(row, ctx);
      return v === null ? null : stateKeyOf([v]);
    }
    const values = exprs.map((e) => e(row, ctx));
    return values.includes(null) ? null : stateKeyOf(values);
  }

  matches(l: Row, r: Row, ctx: ExecContext): boolean {
    return this.residual === null || this.residual({ ...l, ...r }, ctx) === true;
  }

  /** The output row of a pair, or of one side padded with nulls. */
  combine(l: Row | null, r: Row | null): Row {
    if (this.spec.type === 'semi' || this.spec.type === 'anti') return l!;
    return this.build(l, r);
  }
}

/**
 * The output row of a pair as one compiled object literal (rows of one join share a hidden class): a
 * `using` column from whichever side is there, the others from their side, null for a missing side.
 */
function compileCombine(output: Schema, leftNames: ReadonlySet<string>, using: readonly string[]): (l: Row | null, r: Row | null) => Row {
  const lines: string[] = [];
  output.forEach((f, i) => {
    const from = (side: string): string => `(${side} === null ? undefined : ${fieldReadCode(side, f.name)})`;
    const read = using.includes(f.name) ? `(l !== null ? ${from('l')} : ${from('r')})` : from(leftNames.has(f.name) ? 'l' : 'r');
    lines.push(`const c${i} = ${read} ?? null;`);
  });
  lines.push(`return ${rowLiteralCode(output, null)};`);
  return new Function(`return function combineJoinRow(l, r) {\n${lines.join('\n')}\n};`)() as (l: Row | null, r: Row | null) => Row;
}

const padsLeft = (type: JoinType): boolean => type === 'left' || type === 'full';
const padsRight = (type: JoinType): boolean => type === 'right' || type === 'full';

/** Rows by key, for the side a join probes. */
export function indexRows(rows: readonly Row[], fns: JoinRows, side: Side, ctx: ExecContext): Map<StateKey, Row[]> {
  const index = new Map<StateKey, Row[]>();
  for (const row of rows) {
    const k = fns.key(side, row, ctx);
    if (k === null) continue;
    const bucket = index.get(k);
    if (bucket) bucket.push(row);
    else index.set(k, [row]);
  }
  return index;
}

/**
 * Joins `rows` of side `side` against an index of the other side, in the order of `rows`. Rows of
 * `side` that match nothing are padded when the join type keeps them; `matchedOther` collects the
 * other side's rows that matched (for padding those afterwards).
 */
export function probeIndex(rows: readonly Row[], side: Side, index: Map<StateKey, Row[]>, fns: JoinRows, ctx: ExecContext,
  matchedOther?: Set<Row>): Row[] {
  const { type } = fns.spec;
  const pad = side === 'left' ? padsLeft(type) : padsRight(type);
  const out: Row[] = [];
  const left = side === 'left';
  for (const row of rows) {
    const k = fns.key(side, row, ctx);
    let matched = false;
    const bucket = k === null ? undefined : index.get(k);
    if (bucket !== undefined) for (const other of bucket) {
      const l = left ? row : other;
      const r = left ? other : row;
      if (!fns.matches(l, r, ctx)) continue;
      matched = true;
      matchedOther?.add(other);
      if (type === 'semi' || type === 'anti') break;
      out.push(fns.combine(l, r));
    }
    if (matched ? type === 'semi' : type === 'anti') out.push(row);
    if (!matched && pad) out.push(side === 'left' ? fns.combine(row, null) : fns.combine(null, row));
  }
  return out;
}

/** A join of two batch inputs (collect()). */
export class BatchJoinExec extends PhysicalOperator {
  readonly name = 'HashJoin';
  private readonly fns: JoinRows;

  constructor(left: PhysicalOperator, right: PhysicalOperator, spec: JoinSpec) {
    super(spec.output, [left, right]);
    this.fns = new JoinRows(spec);
  }

  describe(): string {
    return this.fns.spec.description;
  }

  protected run([leftRows, rightRows]: readonly Row[][], ctx: ExecContext): Row[] {
    const matched = new Set<Row>();
    const out = probeIndex(leftRows!, 'left', indexRows(rightRows!, this.fns, 'right', ctx), this.fns, ctx, matched);
    if (padsRight(this.fns.spec.type)) for (const r of rightRows!) if (!matched.has(r)) out.push(this.fns.combine(null, r));
    return out;
  }
}

/**
 * A stream joined with static rows: each batch's stream rows probe an index of the static side, built
 * once (as Spark's broadcast hash join, the static side is held whole in memory).
 */
export class StreamStaticJoinExec extends PhysicalOperator {
  readonly name = 'BroadcastHashJoin';
  private readonly fns: JoinRows;
  private index: Map<StateKey, Row[]> | null = null;

  /** `staticRows` is called at the first batch: the static side is read when the query starts, not when it is explained. */
  constructor(stream: PhysicalOperator, private readonly streamSide: Side,
    private readonly staticRows: () => readonly Row[], spec: JoinSpec) {
    super(spec.output, [stream]);
    this.fns = new JoinRows(spec);
  }

  describe(): string {
    return `${this.fns.spec.description}, static ${this.streamSide === 'left' ? 'right' : 'left'} side`;
  }

  protected run([streamRows]: readonly Row[][], ctx: ExecContext): Row[] {
    this.index ??= indexRows(this.staticRows(), this.fns, this.streamSide === 'left' ? 'right' : 'left', ctx);
    return probeIndex(streamRows!, this.streamSide, this.index, this.fns, ctx);
  }
}

/** A buffered row: the row, its event time (null: none), and whether it has matched a row of the other side. */
type Entry = [row: Row, time: number | null, matched: boolean];
/** All buffered rows of one key, in arrival order. */
type Bucket = Entry[];

/**
 * Rows whose key is null can never match; an outer join still buffers them, to pad them at eviction.
 * Their bucket's key is null, which no matching key can be.
 */
const NULL_KEY = null;

interface BufferSide {
  readonly side: Side;
  /** Its store's index among the operator's stores (`left`, `right`). */
  readonly storeIndex: number;
  /** The column a row's lateness is judged by (its own event time), if the side has one. */
  readonly timeColumn: { readonly name: string; readonly window: boolean } | null;
  readonly bound: TimeBound | null;
  readonly pads: boolean;
}

/** Spark's stream-stream join: both sides buffered in state (folders `left`, `right`), matched symmetrically, evicted by watermark. */
export class StreamStreamJoinExec extends StatefulBase<Bucket> {
  readonly name = 'StreamingSymmetricHashJoin';
  private readonly fns: JoinRows;
  private readonly sides: readonly [BufferSide, BufferSide];
  private added = 0;
  private removed = 0;
  private buffered = 0;

  constructor(left: PhysicalOperator, right: PhysicalOperator, spec: JoinSpec) {
    const side = (s: Side, storeIndex: number, schema: Schema, bound: TimeBound | null): BufferSide => {
      const field = bound ? schema.find((f) => f.name === bound.column) : schema.find((f) => f.eventTimeDelayMs !== undefined);
      return {
        side: s, storeIndex, bound, pads: s === 'left' ? padsLeft(spec.type) : padsRight(spec.type),
        timeColumn: field ? { name: field.name, window: typeof field.type !== 'string' } : null,
      };
    };
    const sides = [
      side('left', 0, spec.left, spec.analysis.leftBound),
      side('right', 1, spec.right, spec.analysis.rightBound),
    ] as const;
    super('symmetricHashJoin', spec.output, [left, right], { encode: (b) => b, decode: (d) => d as Bucket },
      sides.some((s) => s.bound !== null), [StateStorePaths.joinSide('left'), StateStorePaths.joinSide('right')]);
    this.fns = new JoinRows(spec);
    this.sides = sides;
  }

  describe(): string {
    return this.fns.spec.description;
  }

  protected run([leftRows, rightRows]: readonly Row[][], ctx: ExecContext): Row[] {
    const [left, right] = this.sides;
    this.droppedByWatermark = 0;
    this.added = 0;
    this.removed = 0;
    const out: Row[] = [];
    // New left rows meet the right rows buffered before this batch; then new right rows meet every
    // buffered left row, this batch's included: each pair is seen exactly once.
    const newLeft = this.onTime(leftRows!, left, ctx);
    const newRight = this.onTime(rightRows!, right, ctx);
    for (const row of newLeft) this.addAndMatch(row, left, right, ctx, out);
    for (const row of newRight) this.addAndMatch(row, right, left, ctx, out);
    this.buffered = 0;
    for (const s of this.sides) this.evictSide(s, ctx.watermarkMs, out);
    return out;
  }

  private onTime(rows: readonly Row[], s: BufferSide, ctx: ExecContext): readonly Row[] {
    if (!s.timeColumn) return rows;
    const kept = rows.filter((row) => {
      const t = this.timeOf(row, s);
      return t === null || t > ctx.watermarkMs;
    });
    this.droppedByWatermark += rows.length - kept.length;
    return kept;
  }

  private timeOf(row: Row, s: BufferSide): number | null {
    if (!s.timeColumn) return null;
    const v = ownValue(row, s.timeColumn.name);
    if (v === null || v === undefined) return null;
    return s.timeColumn.window ? (v as { end: number }).end : (v as number);
  }

  private addAndMatch(row: Row, own: BufferSide, other: BufferSide, ctx: ExecContext, out: Row[]): void {
    const k = this.fns.key(own.side, row, ctx);
    const entry: Entry = [row, this.timeOf(row, own), false];
    const otherStore = this.storeAt(other.storeIndex);
    if (k !== null) {
      const bucket = otherStore.get(k);
      let otherChanged = false;
      for (const candidate of bucket ?? []) {
        const [l, r] = own.side === 'left' ? [entry, candidate] : [candidate, entry];
        if (!this.fns.matches(l[0], r[0], ctx)) continue;
        if (this.fns.spec.type !== 'semi') out.push(this.fns.combine(l[0], r[0]));
        else if (!l[2]) out.push(l[0]); // a semi join emits a left row once, at its first match
        if (!candidate[2]) otherChanged = true;
        l[2] = true;
        r[2] = true;
      }
      if (otherChanged) otherStore.put(k, bucket!);
    } else if (!own.pads) {
      return; // a null key never matches, and nothing pads it: no need to keep it
    }
    const ownStore = this.storeAt(own.storeIndex);
    const storeKey = k ?? NULL_KEY;
    const bucket = ownStore.get(storeKey);
    if (bucket) bucket.push(entry);
    ownStore.put(storeKey, bucket ?? [entry]);
    this.added++;
  }

  /** Removes buffered rows that no future row can match; pads the unmatched ones of an outer side. */
  private evictSide(s: BufferSide, watermarkMs: number, out: Row[]): void {
    const store = this.storeAt(s.storeIndex);
    const bound = s.bound;
    for (const bucket of store.entries()) this.buffered += bucket[1].length;
    if (!bound) return;
    const expired = (e: Entry): boolean => e[1] !== null && e[1] + bound.slackMs <= watermarkMs;
    for (const [key, bucket] of this.dueEntries(store, (b) => b.some(expired))) {
      const kept = bucket.filter((e) => !expired(e));
      for (const e of bucket) {
        if (!expired(e)) continue;
        if (s.pads && !e[2]) out.push(s.side === 'left' ? this.fns.combine(e[0], null) : this.fns.combine(null, e[0]));
      }
      this.removed += bucket.length - kept.length;
      this.buffered -= bucket.length - kept.length;
      if (kept.length === 0) store.remove(key);
      else store.put(key, kept);
    }
  }

  /** A join counts buffered rows, not keys (a key holds every row of it that may still match). */
  protected override stateRowCounts(): StateRowCounts {
    return { total: this.buffered, updated: this.added, removed: this.removed };
  }

  override evictsByWatermark(_outputMode: OutputMode): boolean {
    return this.hasEventTime;
  }
}
