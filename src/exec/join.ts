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
import { nameOf } from '../plan/analyzer.js';
import { JoinAnalysis, JoinType, StateWatermark, stateWatermarkMs } from '../plan/join-analysis.js';
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
  private readonly leftOnly: CompiledExpr | null;
  private readonly rightOnly: CompiledExpr | null;
  private readonly bothSides: CompiledExpr | null;
  private readonly build: (l: Row | null, r: Row | null) => Row;

  constructor(readonly spec: JoinSpec) {
    const { analysis, left, right, using } = spec;
    this.leftKeys = analysis.leftKeys.map((e) => compileExpression(e, left));
    this.rightKeys = analysis.rightKeys.map((e) => compileExpression(e, right));
    this.leftOnly = analysis.leftOnly ? compileExpression(analysis.leftOnly, left) : null;
    this.rightOnly = analysis.rightOnly ? compileExpression(analysis.rightOnly, right) : null;
    this.bothSides = analysis.bothSides ? compileExpression(analysis.bothSides, [...left, ...right]) : null;
    this.build = compileCombine(spec.output, new Set(left.map((f) => f.name)), using ?? []);
  }

  /** The bucket of a row; undefined when a key compared with `=` is null (it equals nothing; `<=>` keys match nulls). */
  key(side: Side, row: Row, ctx: ExecContext): StateKey | undefined {
    const exprs = side === 'left' ? this.leftKeys : this.rightKeys;
    const values = exprs.map((e) => e(row, ctx));
    const { nullSafeKeys } = this.spec.analysis;
    return values.some((v, i) => v === null && !nullSafeKeys[i]) ? undefined : stateKeyOf(values);
  }

  /** The value of one key of a row (for the state watermark of a join keyed by event time). */
  keyValue(side: Side, ordinal: number, row: Row, ctx: ExecContext): unknown {
    return (side === 'left' ? this.leftKeys : this.rightKeys)[ordinal]!(row, ctx);
  }

  /** The conjuncts over one side only: a row failing them can match nothing. */
  passesOwnSide(side: Side, row: Row, ctx: ExecContext): boolean {
    const own = side === 'left' ? this.leftOnly : this.rightOnly;
    return own === null || own(row, ctx) === true;
  }

  /** The conjuncts over both sides, for a pair whose rows passed their own sides' conjuncts. */
  matchesPair(l: Row, r: Row, ctx: ExecContext): boolean {
    return this.bothSides === null || this.bothSides({ ...l, ...r }, ctx) === true;
  }

  matches(l: Row, r: Row, ctx: ExecContext): boolean {
    return this.passesOwnSide('left', l, ctx) && this.passesOwnSide('right', r, ctx) && this.matchesPair(l, r, ctx);
  }

  /** The output row of a pair, or of one side padded with nulls. */
  combine(l: Row | null, r: Row | null): Row {
    if (this.spec.type === 'semi' || this.spec.type === 'anti') return l!;
    return this.build(l, r);
  }
}

/**
 * The output row of a pair as one compiled object literal (the rows of one join share a hidden class,
 * measured cheaper than setting fields one by one): a `using` column from whichever side is there, the
 * others from their own side, null for a missing side.
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
    if (k === undefined) continue;
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
  for (const row of rows) {
    const k = fns.key(side, row, ctx);
    let matched = false;
    for (const other of k === undefined ? [] : index.get(k) ?? []) {
      const [l, r] = side === 'left' ? [row, other] : [other, row];
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

/**
 * A buffered row: the row, the time its state watermark judges (its watermarked key's time, or its
 * event time; null: never removed), and whether it has matched a row of the other side.
 */
type Entry = [row: Row, time: number | null, matched: boolean];
/** All buffered rows of one key, in arrival order. */
type Bucket = Entry[];

/**
 * Rows whose `=` key is null can never match; an outer join still buffers them, to pad them at eviction.
 * Their bucket's key is null, which no matching key can be (a lone `<=>` key keeps null as its own key,
 * but then no key is ever unmatchable).
 */
const NULL_KEY = null;

interface BufferSide {
  readonly side: Side;
  /** Its store's index among the operator's stores (`left`, `right`). */
  readonly storeIndex: number;
  /** The side's own event-time column (the first watermarked one): rows at or below the watermark are late. */
  readonly eventTime: { readonly name: string; readonly window: boolean } | null;
  readonly state: StateWatermark | null;
  readonly pads: boolean;
}

/**
 * Spark's stream-stream join (StreamingSymmetricHashJoinExec): both sides buffered in state (folders
 * `left`, `right`), matched symmetrically, removed by their state watermarks. New left rows probe the
 * right buffer, then new right rows probe the left buffer (this batch's left rows included), so each
 * pair joins once; then the outer sides emit their expired unmatched rows NULL-padded, and the other
 * sides drop their expired rows.
 */
export class StreamStreamJoinExec extends StatefulBase<Bucket> {
  readonly name = 'StreamingSymmetricHashJoin';
  private readonly fns: JoinRows;
  private readonly sides: readonly [BufferSide, BufferSide];
  private added = 0;
  private removed = 0;
  private buffered = 0;

  constructor(left: PhysicalOperator, right: PhysicalOperator, spec: JoinSpec) {
    const side = (s: Side, storeIndex: number, schema: Schema, state: StateWatermark | null): BufferSide => {
      const field = schema.find((f) => f.eventTimeDelayMs !== undefined);
      return {
        side: s, storeIndex, state, pads: s === 'left' ? padsLeft(spec.type) : padsRight(spec.type),
        eventTime: field ? { name: field.name, window: typeof field.type !== 'string' } : null,
      };
    };
    const sides = [
      side('left', 0, spec.left, spec.analysis.leftState),
      side('right', 1, spec.right, spec.analysis.rightState),
    ] as const;
    super('symmetricHashJoin', spec.output, [left, right], { encode: (b) => b, decode: (d) => d as Bucket },
      sides.some((s) => s.state !== null), [StateStorePaths.joinSide('left'), StateStorePaths.joinSide('right')]);
    this.fns = new JoinRows(spec);
    this.sides = sides;
  }

  /** The join, and when each side's buffered rows are removed (Spark's explain says "state cleanup"). */
  describe(): string {
    const { analysis } = this.fns.spec;
    const cleanup = (s: BufferSide): string => {
      const state = s.state;
      if (!state) return `${s.side} none`;
      if (state.kind === 'key') {
        const key = nameOf((s.side === 'left' ? analysis.leftKeys : analysis.rightKeys)[state.ordinal]!);
        return `${s.side} key ${key}${state.window ? '.end' : ''} <= watermark`;
      }
      const bounds = state.bounds.map((b) => {
        const offset = b.constantMs - (b.inclusive ? 1 : 0);
        const base = b.withWatermark ? 'watermark' : '0';
        return offset === 0 ? base : `${base} ${offset < 0 ? '-' : '+'} ${Math.abs(offset)} ms`;
      });
      const limit = bounds.length === 1 ? bounds[0]! : `min(${bounds.join(', ')})`;
      return `${s.side} value ${state.column}${state.window ? '.end' : ''} <= ${limit}`;
    };
    return `${this.fns.spec.description}, state cleanup [${this.sides.map(cleanup).join(', ')}]`;
  }

  protected run([leftRows, rightRows]: readonly Row[][], ctx: ExecContext): Row[] {
    const [left, right] = this.sides;
    this.droppedByWatermark = 0;
    this.added = 0;
    this.removed = 0;
    const out: Row[] = [];
    const { lateMs: leftLateMs, evictMs } = this.operatorWatermarks(ctx, 0);
    const newLeft = this.onTime(leftRows!, left, leftLateMs);
    const newRight = this.onTime(rightRows!, right, this.operatorWatermarks(ctx, 1).lateMs);
    for (const row of newLeft) this.addAndMatch(row, left, right, ctx, evictMs, out);
    for (const row of newRight) this.addAndMatch(row, right, left, ctx, evictMs, out);
    // The outer sides' expired rows are emitted (and, as in Spark, not counted as removed); the others are dropped.
    for (const s of this.sides) if (s.pads) this.evictSide(s, evictMs, out);
    for (const s of this.sides) if (!s.pads) this.removed += this.evictSide(s, evictMs, out);
    this.buffered = 0;
    for (const s of this.sides) for (const [, bucket] of this.storeAt(s.storeIndex).entries()) this.buffered += bucket.length;
    return out;
  }

  /** Drops rows at or below the side's late watermark (the previous batch's, propagated to this operator). */
  private onTime(rows: readonly Row[], s: BufferSide, lateMs: number): readonly Row[] {
    const column = s.eventTime;
    if (!column) return rows;
    const kept = rows.filter((row) => {
      const t = timeValue(ownValue(row, column.name), column.window);
      return t === null || t > lateMs;
    });
    this.droppedByWatermark += rows.length - kept.length;
    return kept;
  }

  /** The time a side's state watermark judges a row by. */
  private stateTime(row: Row, s: BufferSide, ctx: ExecContext): number | null {
    const state = s.state;
    if (!state) return null;
    return state.kind === 'key' ? timeValue(this.fns.keyValue(s.side, state.ordinal, row, ctx), state.window)
      : timeValue(ownValue(row, state.column), state.window);
  }

  /** The threshold at or below which a side's buffered rows are removed (null: never). */
  private threshold(s: BufferSide, watermarkMs: number): number | null {
    if (!s.state) return null;
    return s.state.kind === 'key' ? watermarkMs : stateWatermarkMs(s.state.bounds, watermarkMs);
  }

  /** Matches a new row against the other side's buffer and buffers it unless it can never be needed (`evictMs`: this batch's watermark). */
  private addAndMatch(row: Row, own: BufferSide, other: BufferSide, ctx: ExecContext, evictMs: number, out: Row[]): void {
    const { type } = this.fns.spec;
    if (!this.fns.passesOwnSide(own.side, row, ctx)) {
      // It can match nothing: an outer side emits it now, and no side keeps it.
      if (own.pads) out.push(own.side === 'left' ? this.fns.combine(row, null) : this.fns.combine(null, row));
      return;
    }
    const k = this.fns.key(own.side, row, ctx);
    const entry: Entry = [row, this.stateTime(row, own, ctx), false];
    if (k !== undefined) {
      const otherStore = this.storeAt(other.storeIndex);
      const bucket = otherStore.get(k);
      let otherChanged = false;
      for (const candidate of bucket ?? []) {
        // A right row of a semi join emits each buffered left row once, at its first match.
        if (type === 'semi' && own.side === 'right' && candidate[2]) continue;
        const [l, r] = own.side === 'left' ? [entry, candidate] : [candidate, entry];
        if (!this.fns.matchesPair(l[0], r[0], ctx)) continue;
        if (!candidate[2]) otherChanged = true;
        entry[2] = true;
        candidate[2] = true;
        if (type !== 'semi') out.push(this.fns.combine(l[0], r[0]));
        else if (own.side === 'right') out.push(candidate[0]);
        else break; // a left row of a semi join is emitted once, below
      }
      if (otherChanged) otherStore.put(k, bucket!);
      if (type === 'semi' && own.side === 'left' && entry[2]) {
        out.push(row);
        return; // matched on arrival: emitted, and never needed again
      }
    } else if (!own.pads) {
      return; // a null `=` key never matches, and nothing pads it: no need to keep it
    }
    if (own.side === 'right' && !(own.pads && !entry[2])) {
      // Every left row of this batch has been seen: a right row that expires now is not kept (Spark
      // keeps the left ones, which right rows of this batch may still match, and an unmatched outer one, to pad it).
      const limit = this.threshold(own, evictMs);
      if (limit !== null && entry[1] !== null && entry[1] <= limit) return;
    }
    const ownStore = this.storeAt(own.storeIndex);
    const storeKey = k ?? NULL_KEY;
    const bucket = ownStore.get(storeKey);
    if (bucket) bucket.push(entry);
    ownStore.put(storeKey, bucket ?? [entry]);
    this.added++;
  }

  /** Removes a side's rows at or below its state watermark, padding the unmatched ones of an outer side; returns how many. */
  private evictSide(s: BufferSide, evictMs: number, out: Row[]): number {
    const limit = this.threshold(s, evictMs);
    if (limit === null) return 0;
    const store = this.storeAt(s.storeIndex);
    const expired = (e: Entry): boolean => e[1] !== null && e[1] <= limit;
    let removed = 0;
    for (const [key, bucket] of this.dueEntries(store, (b) => b.some(expired))) {
      const kept = bucket.filter((e) => !expired(e));
      for (const e of bucket) {
        if (!expired(e)) continue;
        if (s.pads && !e[2]) out.push(s.side === 'left' ? this.fns.combine(e[0], null) : this.fns.combine(null, e[0]));
      }
      removed += bucket.length - kept.length;
      if (kept.length === 0) store.remove(key);
      else store.put(key, kept);
    }
    return removed;
  }

  /**
   * Spark's output watermark of a join: the lowest of the sides' state watermarks (a buffered row down
   * to there can still match, and so be emitted); the input watermark when no side has one.
   */
  protected override produceOutputWatermark(inputMs: number): number {
    const limits = this.sides.map((s) => this.threshold(s, inputMs)).filter((t): t is number => t !== null);
    return limits.length > 0 ? Math.min(...limits) : inputMs;
  }

  /**
   * Spark's figures: rows buffered on both sides; rows added to state this batch; rows removed from
   * the sides that emit nothing at removal (the outer sides' removals are not counted, as in Spark).
   */
  protected override stateRowCounts(): StateRowCounts {
    return { total: this.buffered, updated: this.added, removed: this.removed };
  }

  override evictsByWatermark(_outputMode: OutputMode): boolean {
    return this.hasEventTime;
  }
}

/** A timestamp, or a window's end; null when absent. */
function timeValue(v: unknown, window: boolean): number | null {
  if (v === null || v === undefined) return null;
  if (window) return typeof v === 'object' ? (v as { end: number }).end : null;
  return typeof v === 'number' ? v : null;
}
