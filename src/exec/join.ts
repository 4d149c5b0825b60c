/**
 * Joins. A batch join (and a stream-static join, once per micro-batch against the static rows) is
 * a hash join in memory. A stream-stream join is Spark's symmetric hash join: each side's rows are
 * buffered in state by join key; a new row is matched against the other side's buffer, so every
 * pair joins exactly once whichever batches its rows arrive in; with watermarks and an event-time
 * range in the condition, buffered rows that can no longer match are evicted, and an outer join
 * emits a row that never matched NULL-padded at that moment.
 */
import { StateStorePaths } from '../checkpoint/layout.js';
import { PrefixedStorage } from '../checkpoint/prefixed-storage.js';
import { Row, Schema, Value } from '../common/schema.js';
import { JoinAnalysis, JoinType, TimeBound } from '../plan/join-analysis.js';
import { OutputMode } from '../common/output-mode.js';
import { StateKey, StateStore } from '../state/state-store.js';
import { compileExpression, CompiledExpr } from './compile.js';
import { ExecContext, PhysicalOperator, StatefulOperator, StateOperatorProgress, StateSetup } from './physical.js';
import { ownValue, setField } from '../codec/fields.js';

export interface JoinSpec {
  readonly type: JoinType;
  readonly left: Schema;
  readonly right: Schema;
  readonly output: Schema;
  /** `join(other, ['k'])`: the key columns, written once in the output. */
  readonly using: readonly string[] | null;
  readonly analysis: JoinAnalysis;
}

type Side = 'left' | 'right';

/** The per-row functions of a join: bucket keys, the non-key condition and the output row. */
export class JoinRows {
  private readonly leftKeys: CompiledExpr[];
  private readonly rightKeys: CompiledExpr[];
  private readonly residual: CompiledExpr | null;
  private readonly parts: readonly { readonly name: string; readonly from: Side | 'key' }[];

  constructor(readonly spec: JoinSpec) {
    const { analysis, left, right, using } = spec;
    this.leftKeys = analysis.leftKeys.map((e) => compileExpression(e, left));
    this.rightKeys = analysis.rightKeys.map((e) => compileExpression(e, right));
    this.residual = analysis.residual ? compileExpression(analysis.residual, [...left, ...right]) : null;
    const fromLeft = new Set(left.map((f) => f.name));
    this.parts = spec.output.map((f) => ({
      name: f.name, from: using?.includes(f.name) ? 'key' : fromLeft.has(f.name) ? 'left' : 'right',
    }));
  }

  /** The bucket of a row; null when a key is null (SQL: it equals nothing). */
  key(side: Side, row: Row, ctx: ExecContext): StateKey | null {
    const exprs = side === 'left' ? this.leftKeys : this.rightKeys;
    if (exprs.length === 0) return '';
    if (exprs.length === 1) return keyText(exprs[0]!(row, ctx));
    const values = exprs.map((e) => e(row, ctx));
    return values.includes(null) ? null : JSON.stringify(values);
  }

  matches(l: Row, r: Row, ctx: ExecContext): boolean {
    return this.residual === null || this.residual({ ...l, ...r }, ctx) === true;
  }

  /** The output row of a pair, or of one side padded with nulls. */
  combine(l: Row | null, r: Row | null): Row {
    if (this.spec.type === 'semi' || this.spec.type === 'anti') return l!;
    const out: Row = {};
    for (const { name, from } of this.parts) {
      const source = from === 'left' ? l : from === 'right' ? r : (l ?? r);
      setField(out, name, source ? ownValue(source, name) ?? null : null);
    }
    return out;
  }
}

function keyText(v: Value): StateKey | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  return JSON.stringify(v);
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
  for (const row of rows) {
    const k = fns.key(side, row, ctx);
    let matched = false;
    for (const other of k === null ? [] : index.get(k) ?? []) {
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
export class BatchJoinExec implements PhysicalOperator {
  private readonly fns: JoinRows;

  constructor(private readonly left: PhysicalOperator, private readonly right: PhysicalOperator, spec: JoinSpec) {
    this.fns = new JoinRows(spec);
  }

  execute(ctx: ExecContext): Row[] {
    const rightRows = this.right.execute(ctx);
    const matched = new Set<Row>();
    const out = probeIndex(this.left.execute(ctx), 'left', indexRows(rightRows, this.fns, 'right', ctx), this.fns, ctx, matched);
    if (padsRight(this.fns.spec.type)) for (const r of rightRows) if (!matched.has(r)) out.push(this.fns.combine(null, r));
    return out;
  }
}

/** A stream joined with static rows: each batch's stream rows probe an index of the static side, built once. */
export class StreamStaticJoinExec implements PhysicalOperator {
  private readonly fns: JoinRows;
  private index: Map<StateKey, Row[]> | null = null;

  constructor(private readonly stream: PhysicalOperator, private readonly streamSide: Side,
    private readonly staticRows: readonly Row[], spec: JoinSpec) {
    this.fns = new JoinRows(spec);
  }

  execute(ctx: ExecContext): Row[] {
    this.index ??= indexRows(this.staticRows, this.fns, this.streamSide === 'left' ? 'right' : 'left', ctx);
    return probeIndex(this.stream.execute(ctx), this.streamSide, this.index, this.fns, ctx);
  }
}

/** A buffered row: the row, its event time (null: none), and whether it has matched a row of the other side. */
type Entry = [row: Row, time: number | null, matched: boolean];
/** All buffered rows of one key, in arrival order. */
type Bucket = Entry[];

/** Rows whose key is null can never match; an outer join still buffers them, to pad them at eviction. */
const NULL_KEY = '\u0000null';

interface BufferSide {
  readonly side: Side;
  readonly child: PhysicalOperator;
  /** The column a row's lateness is judged by (its own event time), if the side has one. */
  readonly timeColumn: { readonly name: string; readonly window: boolean } | null;
  readonly bound: TimeBound | null;
  readonly pads: boolean;
  store: StateStore<Bucket>;
}

/** Spark's stream-stream join: both sides buffered in state, matched symmetrically, evicted by watermark. */
export class StreamStreamJoinExec implements StatefulOperator {
  readonly operatorName = 'symmetricHashJoin';
  private readonly fns: JoinRows;
  private readonly sides: readonly [BufferSide, BufferSide];
  private dropped = 0;
  private added = 0;
  private removed = 0;
  private buffered = 0;

  constructor(left: PhysicalOperator, right: PhysicalOperator, spec: JoinSpec) {
    this.fns = new JoinRows(spec);
    const side = (s: Side, child: PhysicalOperator, schema: Schema, bound: TimeBound | null): BufferSide => {
      const field = bound ? schema.find((f) => f.name === bound.column) : schema.find((f) => f.eventTimeDelayMs !== undefined);
      return {
        side: s, child, bound, pads: s === 'left' ? padsLeft(spec.type) : padsRight(spec.type),
        timeColumn: field ? { name: field.name, window: typeof field.type !== 'string' } : null,
        store: undefined as unknown as StateStore<Bucket>,
      };
    };
    this.sides = [
      side('left', left, spec.left, spec.analysis.leftBound),
      side('right', right, spec.right, spec.analysis.rightBound),
    ];
  }

  async open(setup: StateSetup): Promise<void> {
    for (const s of this.sides) {
      s.store = await setup.provider.open<Bucket>({
        storage: new PrefixedStorage(setup.storage, StateStorePaths.joinSide(s.side)), numPartitions: setup.numPartitions, version: setup.version,
        codec: { encode: (b) => b, decode: (d) => d as Bucket }, snapshotInterval: setup.snapshotInterval,
      });
    }
  }

  execute(ctx: ExecContext): Row[] {
    const [left, right] = this.sides;
    this.dropped = 0;
    this.added = 0;
    this.removed = 0;
    const out: Row[] = [];
    // New left rows meet the right rows buffered before this batch; then new right rows meet every
    // buffered left row, this batch's included: each pair is seen exactly once.
    const newLeft = this.onTime(left.child.execute(ctx), left, ctx);
    const newRight = this.onTime(right.child.execute(ctx), right, ctx);
    for (const row of newLeft) this.addAndMatch(row, left, right, ctx, out);
    for (const row of newRight) this.addAndMatch(row, right, left, ctx, out);
    this.buffered = 0;
    for (const s of this.sides) this.evict(s, ctx.watermarkMs, out);
    return out;
  }

  private onTime(rows: readonly Row[], s: BufferSide, ctx: ExecContext): readonly Row[] {
    if (!s.timeColumn) return rows;
    const kept = rows.filter((row) => {
      const t = this.timeOf(row, s);
      return t === null || t > ctx.watermarkMs;
    });
    this.dropped += rows.length - kept.length;
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
    if (k !== null) {
      const bucket = other.store.get(k);
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
      if (otherChanged) other.store.put(k, bucket!);
    } else if (!own.pads) {
      return; // a null key never matches, and nothing pads it: no need to keep it
    }
    const storeKey = k ?? NULL_KEY;
    const bucket = own.store.get(storeKey);
    if (bucket) bucket.push(entry);
    own.store.put(storeKey, bucket ?? [entry]);
    this.added++;
  }

  /** Removes buffered rows that no future row can match; pads the unmatched ones of an outer side. */
  private evict(s: BufferSide, watermarkMs: number, out: Row[]): void {
    const bound = s.bound;
    const changed: [StateKey, Bucket][] = [];
    for (const [key, bucket] of s.store.entries()) {
      this.buffered += bucket.length;
      if (!bound || !bucket.some((e) => e[1] !== null && e[1] + bound.slackMs <= watermarkMs)) continue;
      changed.push([key, bucket]);
    }
    // Key order, so a re-run of the batch emits the padded rows in the same order (the map's order depends on its history).
    changed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [key, bucket] of changed) {
      const kept = bucket.filter((e) => e[1] === null || e[1] + bound!.slackMs > watermarkMs);
      for (const e of bucket) {
        if (kept.includes(e)) continue;
        if (s.pads && !e[2]) out.push(s.side === 'left' ? this.fns.combine(e[0], null) : this.fns.combine(null, e[0]));
      }
      this.removed += bucket.length - kept.length;
      this.buffered -= bucket.length - kept.length;
      if (kept.length === 0) s.store.remove(key);
      else s.store.put(key, kept);
    }
  }

  async commit(): Promise<void> {
    await Promise.all(this.sides.map((s) => s.store.commit()));
  }

  progress(): StateOperatorProgress {
    const metrics = this.sides.map((s) => s.store.metrics());
    return {
      operatorName: this.operatorName, numRowsTotal: this.buffered, numRowsUpdated: this.added,
      numRowsRemoved: this.removed, numRowsDroppedByWatermark: this.dropped,
      memoryUsedBytes: metrics.reduce((n, m) => n + m.memoryUsedBytes, 0),
      commitTimeMs: metrics.reduce((n, m) => n + m.commitTimeMs, 0),
    };
  }

  async purgeBefore(version: number): Promise<void> {
    await Promise.all(this.sides.map((s) => s.store.purgeBefore(version)));
  }

  async close(): Promise<void> {
    await Promise.all(this.sides.map((s) => s.store.close()));
  }

  evictsByWatermark(_outputMode: OutputMode): boolean {
    return this.sides.some((s) => s.bound !== null);
  }
}
