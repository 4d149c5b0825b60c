import { isDecimalType } from '../common/decimal-type.js';
import { isWindowType, Row, Schema, Value } from '../common/schema.js';
import { fieldFor, typeOf } from '../plan/analyzer.js';
import { AggregateFunction, Expr, stripAlias } from '../plan/expressions.js';
import { StateKey, StateValueCodec } from '../state/state-store.js';
import { aggregateImpl, AggregateImpl, GroupEntry } from './aggregate-functions.js';
import { compileRowLoop } from './compile.js';
import { ExecContext, PhysicalOperator, StateOpening, StateSetup } from './physical.js';
import { jsonCodec, sortByKey, StatefulBase } from './stateful-base.js';
import { KEY_PART_PARAM, keyCode, keyPart } from './state-keys.js';

/** The analyzed parts of `groupBy(...).agg(...)` that the aggregation operators share. */
export interface AggregateSpec {
  readonly input: Schema;
  readonly output: Schema;
  readonly groups: readonly Expr[];
  readonly aggs: readonly {
    readonly fn: AggregateFunction; readonly input: Expr | null; readonly by?: Expr; readonly params?: readonly Value[];
  }[];
}

export function aggregateSpec(child: Schema, groups: readonly Expr[], aggs: readonly Expr[], output: Schema): AggregateSpec {
  return {
    input: child, output, groups: groups.map((g) => windowOverEventTime(stripAlias(g), child)),
    aggs: aggs.map((a) => {
      const e = stripAlias(a);
      if (e.kind !== 'aggregate') throw new Error('analyzer let a non-aggregate through');
      const input = e.child && DOUBLE_AGGREGATES.has(e.fn) && isDecimalType(typeOf(e.child, child))
        ? { kind: 'cast', child: e.child, to: 'double' } as const : e.child;
      return { fn: e.fn, input, by: e.by, params: e.params };
    }),
  };
}

/**
 * A window over a window column (a previous aggregation's `window`) windows its event time, as Spark
 * does: `window(col('window'), …)` is `window(window_time(col('window')), …)`.
 */
function windowOverEventTime(group: Expr, input: Schema): Expr {
  if (group.kind !== 'window' || !isWindowType(typeOf(group.time, input))) return group;
  return { ...group, time: { kind: 'call', fn: 'window_time', args: [group.time] } };
}
/** Aggregates that compute in doubles: a DECIMAL input is converted first, as Spark does for them. */
const DOUBLE_AGGREGATES = new Set<AggregateFunction>(
  ['stddev', 'stddevSamp', 'stddevPop', 'variance', 'varSamp', 'varPop', 'percentileApprox']);

/** Slot layout of the aggregates in a group entry that starts with `firstSlot` grouping values. */
export interface SlotLayout {
  readonly impls: readonly AggregateImpl[];
  readonly offsets: readonly number[];
  readonly end: number;
}

export function slotLayout(spec: AggregateSpec, firstSlot: number): SlotLayout {
  const impls = spec.aggs.map((a) => aggregateImpl(a.fn, a.params, a.input ? typeOf(a.input, spec.input) : undefined));
  const offsets: number[] = [];
  let next = firstSlot;
  for (const impl of impls) {
    offsets.push(next);
    next += impl.slots;
  }
  return { impls, offsets, end: next };
}

/** JS statements updating every aggregate's slots of entry `e` from input locals (`ROW`: count(*)). */
export function updateCode(layout: SlotLayout, inputs: readonly AggregateLocals[]): string {
  return layout.impls.map((impl, i) => impl.update(layout.offsets[i]!, inputs[i]!.value, inputs[i]!.by)).join('\n');
}

/** The locals an aggregate reads per row: its input (`ROW` for count(*)) and max_by/min_by's ordering. */
export interface AggregateLocals { readonly value: string; readonly by?: string }

export function initCode(layout: SlotLayout): string {
  return layout.impls.flatMap((impl) => impl.init).join(', ');
}

/** Inputs of the aggregates as expressions, `count(*)` reading no column. */
export function aggregateInputs(spec: AggregateSpec): { exprs: Expr[]; locals: (values: readonly string[]) => AggregateLocals[] } {
  const exprs = spec.aggs.flatMap((a) => [...(a.input ? [a.input] : []), ...(a.by ? [a.by] : [])]);
  return {
    exprs,
    locals: (values) => {
      let next = 0;
      return spec.aggs.map((a) => ({ value: a.input ? values[next++]! : 'ROW', by: a.by ? values[next++]! : undefined }));
    },
  };
}

/** Converts the slots that are not plain data (countDistinct's Set, HyperLogLog registers) for the checkpoint and back. */
export function entryCodec(layout: SlotLayout): StateValueCodec<GroupEntry> {
  const codecs = new Map(layout.impls.flatMap((impl, i) => (impl.slotCodec ? [[layout.offsets[i]!, impl.slotCodec] as const] : [])));
  if (codecs.size === 0) return jsonCodec<GroupEntry>();
  return {
    encode: (e) => e.map((v, i) => codecs.get(i)?.encode(v) ?? v),
    decode: (d) => (d as unknown[]).map((v, i) => codecs.get(i)?.decode(v) ?? v),
  };
}

/** `keys=[…], functions=[…]` of an aggregation, by its output column names. */
export function describeAggregate(spec: AggregateSpec): string {
  const names = spec.output.map((f) => f.name);
  return `keys=[${names.slice(0, spec.groups.length).join(', ')}], functions=[${names.slice(spec.groups.length).join(', ')}]`;
}

/**
 * With several grouping values, the state key is their encoded text, and building plus hashing a new
 * string per row dominated the loop. A tree of Maps keyed by the values themselves (whose hashes V8
 * caches on the input's strings) finds a group's entry and its key without it, so the joined key is
 * built once per group. `lookup` defines `key` and sets `e` from the state store on a miss; `touchCode`
 * marks a hit's first change in the batch. The tree is the operator's group index when the store's
 * values are live (it then lasts across batches), a batch-local cache otherwise.
 */
function cachedLookup(locals: readonly string[], lookup: string, touchCode: (key: string, held: boolean) => string): string {
  const lines = ['let m = st.cache, next;'];
  for (const v of locals.slice(0, -1)) {
    lines.push(`next = m.get(${v}); if (next === undefined) { next = new Map(); m.set(${v}, next); } m = next;`);
  }
  const last = locals[locals.length - 1]!;
  lines.push(`const leaf = m.get(${last});`, `if (leaf === undefined) {\n${lookup}\nm.set(${last}, { key, entry: e });\n}`,
    `else { e = leaf.entry; ${touchCode('leaf.key', true)} }`);
  return lines.join('\n');
}

type AggregateLoop = (rows: readonly Row[], ctx: ExecContext, store: unknown, st: LoopStats, kp: typeof keyPart) => void;
interface LoopStats {
  dropped: number; touched: StateKey[]; dropLate: boolean; lateMs: number; cache: GroupTree;
  /** The cache is the group index, which holds every entry of the store. */
  indexed: boolean;
}
/** Maps of grouping values, one level per group (the event-time group first), whose leaves are the entries. */
type GroupTree = Map<unknown, unknown>;
/** A leaf of the group tree: an entry and its state key. */
interface GroupLeaf { readonly key: StateKey; readonly entry: GroupEntry }

/** Grouping value types that are JavaScript primitives, so a Map finds a group by them (objects compare by identity). */
const PRIMITIVE_GROUP_TYPES: ReadonlySet<unknown> = new Set(['string', 'integer', 'long', 'double', 'boolean', 'timestamp', 'date']);

/**
 * Hash aggregation over fixed or event-time windows (tumbling or sliding), keeping each group's
 * running aggregates in the state store. Rows are merged in one compiled loop; the output depends
 * on the mode: complete emits every group, update the groups this batch changed, append the groups
 * the watermark evicts (each exactly once).
 */
export class AggregateExec extends StatefulBase<GroupEntry> {
  readonly name = 'HashAggregate';
  private readonly loop: AggregateLoop;
  private readonly layout: SlotLayout;
  private readonly windowIndex: number;
  private readonly windowSizeMs: number;
  private readonly eventTimeIndex: number;
  /** The event-time group is a window column (grouping by a previous aggregation's window): its time is its end. */
  private readonly eventTimeIsWindowColumn: boolean;
  /** The order of the group tree's levels: the event-time group first, so a closed window is one branch. */
  private readonly treeLevels: readonly number[];
  /** Every group can be a Map key (several groups, all primitive values): the loop finds entries through a tree. */
  private readonly usesGroupTree: boolean;
  /**
   * The group tree over every entry of the store, kept across batches while the store's values are
   * live (see cachedLookup); null: a batch-local cache, and eviction scans the store.
   */
  private groupIndex: GroupTree | null = null;

  constructor(child: PhysicalOperator, private readonly spec: AggregateSpec) {
    const eventTimeIndex = spec.groups.findIndex((g) => fieldFor(g, spec.input).eventTimeDelayMs !== undefined);
    const layout = slotLayout(spec, spec.groups.length);
    super('stateStoreSave', spec.output, [child], entryCodec(layout), eventTimeIndex >= 0);
    this.layout = layout;
    this.eventTimeIndex = eventTimeIndex;
    this.windowIndex = spec.groups.findIndex((g) => g.kind === 'window');
    this.eventTimeIsWindowColumn = eventTimeIndex >= 0 && eventTimeIndex !== this.windowIndex &&
      isWindowType(typeOf(spec.groups[eventTimeIndex]!, spec.input));
    const window = this.windowIndex >= 0 ? spec.groups[this.windowIndex] : undefined;
    this.windowSizeMs = window?.kind === 'window' ? window.sizeMs : 0;
    const groupIndexes = spec.groups.map((_, i) => i);
    this.treeLevels = eventTimeIndex >= 0 ? [eventTimeIndex, ...groupIndexes.filter((i) => i !== eventTimeIndex)] : groupIndexes;
    this.usesGroupTree = spec.groups.length > 1 &&
      spec.groups.every((g, i) => i === this.windowIndex || PRIMITIVE_GROUP_TYPES.has(typeOf(g, spec.input)));
    this.loop = this.compileLoop(window?.kind === 'window' ? window : undefined);
  }

  override async open(setup: StateSetup): Promise<StateOpening> {
    const opening = await super.open(setup);
    const live = this.store.liveValues === true && this.store.markChanged !== undefined;
    this.groupIndex = this.usesGroupTree && live ? this.indexGroups() : null;
    return opening;
  }

  override async abort(): Promise<void> {
    this.groupIndex = null;
    await super.abort();
  }

  /** The group tree of the entries the store opened with (later entries join it as the loop creates them). */
  private indexGroups(): GroupTree {
    const root: GroupTree = new Map();
    const branchLevels = this.treeLevels.slice(0, -1);
    const last = this.treeLevels[this.treeLevels.length - 1]!;
    for (const [key, e] of this.store.entries()) {
      let m = root;
      for (const level of branchLevels) {
        let next = m.get(e[level]) as GroupTree | undefined;
        if (next === undefined) m.set(e[level], next = new Map());
        m = next;
      }
      m.set(e[last], { key, entry: e } satisfies GroupLeaf);
    }
    return root;
  }

  private compileLoop(window: Extract<Expr, { kind: 'window' }> | undefined): AggregateLoop {
    const { spec, layout } = this;
    const groupExprs = spec.groups.map((g) => (g.kind === 'window' ? g.time : g));
    const inputs = aggregateInputs(spec);
    const touchSlot = layout.end;
    return compileRowLoop<AggregateLoop>(['ctx', 'store', 'st', KEY_PART_PARAM], [...groupExprs, ...inputs.exprs], spec.input,
      'const wm = st.lateMs, batch = ctx.batchId, dropLate = st.dropLate;',
      (values) => {
        const groups = values.slice(0, groupExprs.length);
        const aggInputs = inputs.locals(values.slice(groupExprs.length));
        const groupLocals = groups.map((g, i) => (i === this.windowIndex ? 'ws' : g));
        const eventTime = this.eventTimeIndex < 0 ? null
          : this.eventTimeIndex === this.windowIndex ? `ws + ${this.windowSizeMs}`
            : this.eventTimeIsWindowColumn ? `(${groups[this.eventTimeIndex]!} === null ? null : ${groups[this.eventTimeIndex]!}.end)`
              : groups[this.eventTimeIndex]!;
        // A group's first change in a batch puts it (the store encodes it at commit) and, in update mode, emits it.
        // `held`: the entry came from the group index, so the store holds it since an earlier batch.
        const touch = (key: string, held = false): string => `if (e[${touchSlot}] !== batch) { e[${touchSlot}] = batch; ` +
          `${held ? `if (st.indexed) store.markChanged(${key}, e); else ` : ''}store.put(${key}, e); st.touched.push(${key}); }`;
        const lookup = [
          `const key = ${keyCode(groupLocals)};`,
          // A group the complete index lacks is not in the store either.
          'e = st.indexed ? undefined : store.get(key);',
          `if (e === undefined) { e = [${[...groupLocals, initCode(layout), 'batch'].join(', ')}]; store.put(key, e); st.touched.push(key); }`,
          `else ${touch('key')}`,
        ].join('\n');
        const merge = [
          eventTime ? `if (dropLate && ${eventTime} !== null && ${eventTime} <= wm) { st.dropped++; continue; }` : '',
          'let e;',
          groupLocals.length === 1 ? lookup : cachedLookup(this.treeLevels.map((i) => groupLocals[i]!), lookup, touch),
          updateCode(layout, aggInputs),
        ].join('\n');
        if (!window) return merge;
        const ts = groups[this.windowIndex]!;
        // Every window [ws, ws + size) that contains ts, newest first, aligned to the epoch plus startTime.
        return `if (${ts} === null) continue;\n` +
          `for (let ws = ${ts} - ((((${ts} - ${window.startMs}) % ${window.slideMs}) + ${window.slideMs}) % ${window.slideMs}); ` +
          `ws > ${ts} - ${window.sizeMs}; ws -= ${window.slideMs}) {\n${merge}\n}`;
      });
  }

  describe(): string {
    return describeAggregate(this.spec);
  }

  override generatedCode(): string {
    return this.loop.toString();
  }

  protected run([rows]: readonly Row[][], ctx: ExecContext): Row[] {
    const lateDropping = ctx.streaming && this.evictsByWatermark(ctx.outputMode);
    const { lateMs, evictMs } = this.operatorWatermarks(ctx);
    const st: LoopStats = {
      dropped: 0, touched: [], dropLate: lateDropping, lateMs, cache: this.groupIndex ?? new Map(), indexed: this.groupIndex !== null,
    };
    this.loop(rows!, ctx, this.store, st, keyPart);
    this.droppedByWatermark = st.dropped;
    if (!ctx.streaming || ctx.outputMode === 'complete') return [...this.store.entries()].map(([, e]) => this.toRow(e));
    const out: Row[] = [];
    if (ctx.outputMode === 'update') {
      for (const key of st.touched) out.push(this.toRow(this.store.get(key)!));
    }
    if (lateDropping) {
      const evicted = this.evict(evictMs, (e) => this.eventTimeOf(e));
      if (ctx.outputMode === 'append') for (const e of evicted) out.push(this.toRow(e));
    }
    return out;
  }

  /**
   * A closed window's groups are one branch of the group index (its first level is the event-time
   * group), taken whole instead of scanning every entry of the store.
   */
  protected override dueByIndex(watermarkMs: number): [StateKey, GroupEntry][] | null {
    const index = this.groupIndex;
    if (index === null) return null;
    const due: [StateKey, GroupEntry][] = [];
    const nGroups = this.spec.groups.length;
    for (const [value, branch] of index) {
      if (this.groupEventTime(value) > watermarkMs) continue;
      index.delete(value);
      for (const leaf of leaves(branch as GroupTree, nGroups - 1)) due.push([leaf.key, leaf.entry]);
    }
    return sortByKey(due);
  }

  protected override stateEventTime(): (e: GroupEntry) => number {
    return (e) => this.eventTimeOf(e);
  }

  private eventTimeOf(e: GroupEntry): number {
    return this.groupEventTime(e[this.eventTimeIndex]);
  }

  /** The event time of the event-time group's value `v` (a window's start, a window, or a timestamp). */
  private groupEventTime(value: unknown): number {
    const v = value as number | { readonly end: number } | null;
    if (v === null) return Infinity;
    if (typeof v === 'object') return v.end;
    return this.eventTimeIndex === this.windowIndex ? v + this.windowSizeMs : v;
  }

  private toRow(e: GroupEntry): Row {
    const row: Row = {};
    const { output } = this.spec;
    const nGroups = this.spec.groups.length;
    for (let i = 0; i < nGroups; i++) {
      const v = e[i] as Value;
      row[output[i]!.name] = i === this.windowIndex ? { start: v, end: (v as number) + this.windowSizeMs } : v;
    }
    this.layout.impls.forEach((impl, i) => {
      row[output[nGroups + i]!.name] = impl.result(e, this.layout.offsets[i]!);
    });
    return row;
  }
}

/** The leaves under `tree`, which has `depth` levels of Maps. */
function* leaves(tree: GroupTree, depth: number): Generator<GroupLeaf> {
  if (depth === 1) {
    yield* tree.values() as IterableIterator<GroupLeaf>;
    return;
  }
  for (const branch of tree.values()) yield* leaves(branch as GroupTree, depth - 1);
}
