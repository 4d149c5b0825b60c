import { Row, Value } from '../common/schema.js';
import { fieldFor } from '../plan/analyzer.js';
import { Expr } from '../plan/expressions.js';
import { StateKey, StateValueCodec } from '../state/state-store.js';
import { GroupEntry } from './aggregate-functions.js';
import {
  AggregateSpec, aggregateInputs, describeAggregate, entryCodec, initCode, slotLayout, SlotLayout, updateCode,
} from './aggregate.js';
import { compileRowLoop } from './compile.js';
import { ExecContext, PhysicalOperator } from './physical.js';
import { StatefulBase } from './stateful-base.js';
import { KEY_PART_PARAM, keyCode, keyPart, stateKeyOf } from './state-keys.js';
import { runtime } from './runtime.js';

/** A key's sessions: its other grouping values, and sessions `[start, end, ...aggregate slots]`. */
interface SessionState { readonly g: Value[]; s: GroupEntry[] }

type SessionLoop = (rows: readonly Row[], ctx: ExecContext, st: SessionLoopStats, kp: typeof keyPart) => void;
interface SessionLoopStats { dropped: number; dropLate: boolean; lateMs: number; add(key: StateKey, groups: Value[], session: GroupEntry): void }

/**
 * Aggregation over session windows: each event opens `[t, t + gap)` for its key, and sessions of
 * the same key that overlap or touch merge (their aggregates merged in start order). In append
 * mode a session is emitted once, when the watermark passes its end; complete emits all sessions.
 */
export class SessionWindowExec extends StatefulBase<SessionState> {
  readonly name = 'SessionWindowAggregate';
  private readonly layout: SlotLayout;
  private readonly sessionIndex: number;
  private readonly loop: SessionLoop;
  private readonly mergeInto: (e: GroupEntry, o: GroupEntry) => void;

  constructor(child: PhysicalOperator, private readonly spec: AggregateSpec) {
    const sessionIndex = spec.groups.findIndex((g) => g.kind === 'sessionWindow');
    const session = spec.groups[sessionIndex] as Extract<Expr, { kind: 'sessionWindow' }>;
    const layout = slotLayout(spec, 2);
    super('sessionWindowStateStoreSaveExec', spec.output, [child], sessionCodec(entryCodec(layout)),
      fieldFor(session, spec.input).eventTimeDelayMs !== undefined);
    this.layout = layout;
    this.sessionIndex = sessionIndex;
    const mergeCode = layout.impls.map((impl, i) => impl.merge(layout.offsets[i]!)).join('\n');
    this.mergeInto = new Function('rt', `return function mergeInto(e, o) {\n${mergeCode}\n};`)(runtime) as
      (e: GroupEntry, o: GroupEntry) => void;
    const others = spec.groups.filter((_, i) => i !== sessionIndex);
    const inputs = aggregateInputs(spec);
    this.loop = compileRowLoop<SessionLoop>(['ctx', 'st', KEY_PART_PARAM], [...others, session.time, ...inputs.exprs], spec.input,
      'const wm = st.lateMs;',
      (values) => {
        const groups = values.slice(0, others.length);
        const ts = values[others.length]!;
        const aggInputs = inputs.locals(values.slice(others.length + 1));
        return [
          `if (${ts} === null) continue;`,
          `if (st.dropLate && ${ts} + ${session.gapMs} <= wm) { st.dropped++; continue; }`,
          `const e = [${ts}, ${ts} + ${session.gapMs}, ${initCode(layout)}];`,
          updateCode(layout, aggInputs),
          `st.add(${keyCode(groups)}, [${groups.join(', ')}], e);`,
        ].join('\n');
      });
  }

  describe(): string {
    return describeAggregate(this.spec);
  }

  override generatedCode(): string {
    return this.loop.toString();
  }

  protected override stateEventTime(): (state: SessionState) => number {
    return earliestSessionEnd;
  }

  protected run([rows]: readonly Row[][], ctx: ExecContext): Row[] {
    const dropLate = ctx.streaming && this.evictsByWatermark(ctx.outputMode);
    const { lateMs, evictMs } = this.operatorWatermarks(ctx);
    const st: SessionLoopStats = { dropped: 0, dropLate, lateMs, add: (key, groups, session) => this.add(key, groups, session) };
    this.loop(rows!, ctx, st, keyPart);
    this.droppedByWatermark = st.dropped;
    if (!ctx.streaming || ctx.outputMode === 'complete') {
      return [...this.store.entries()].flatMap(([, state]) => state.s.map((s) => this.toRow(state.g, s)));
    }
    return dropLate ? this.evictSessions(evictMs) : [];
  }

  private add(key: StateKey, groups: Value[], session: GroupEntry): void {
    const state = this.store.get(key) ?? { g: groups, s: [] };
    const start = session[0] as number;
    const end = session[1] as number;
    const touching = state.s.filter((s) => (s[0] as number) <= end && start <= (s[1] as number));
    if (touching.length === 0) {
      state.s.push(session);
    } else {
      const merged = [...touching, session].sort((a, b) => (a[0] as number) - (b[0] as number));
      const into = merged[0]!;
      for (const other of merged.slice(1)) {
        into[0] = Math.min(into[0] as number, other[0] as number);
        into[1] = Math.max(into[1] as number, other[1] as number);
        this.mergeInto(into, other);
      }
      state.s = [...state.s.filter((s) => !touching.includes(s)), into];
    }
    this.store.put(key, state);
  }

  private evictSessions(watermarkMs: number): Row[] {
    const out: Row[] = [];
    // A session ends no later than its state's latest end, so keys with a closed session are found by that.
    const expired = this.evict(watermarkMs, earliestSessionEnd);
    for (const state of expired) {
      const open = state.s.filter((s) => (s[1] as number) > watermarkMs);
      for (const s of state.s) if ((s[1] as number) <= watermarkMs) out.push(this.toRow(state.g, s));
      if (open.length > 0) this.store.put(stateKeyOf(state.g), { g: state.g, s: open });
    }
    return out;
  }

  private toRow(groups: readonly Value[], session: GroupEntry): Row {
    const row: Row = {};
    const { output } = this.spec;
    let g = 0;
    for (let i = 0; i < this.spec.groups.length; i++) {
      row[output[i]!.name] = i === this.sessionIndex ? { start: session[0] as number, end: session[1] as number } : groups[g++]!;
    }
    this.layout.impls.forEach((impl, i) => {
      row[output[this.spec.groups.length + i]!.name] = impl.result(session, this.layout.offsets[i]!);
    });
    return row;
  }
}

function sessionCodec(entries: StateValueCodec<GroupEntry>): StateValueCodec<SessionState> {
  return {
    encode: (state) => ({ g: state.g, s: state.s.map((s) => entries.encode(s)) }),
    decode: (data) => {
      const d = data as { g: Value[]; s: unknown[] };
      return { g: d.g, s: d.s.map((s) => entries.decode(s)) };
    },
  };
}

/** A key's sessions are evicted together, once the first of them has ended at or below the watermark. */
function earliestSessionEnd(state: SessionState): number {
  return Math.min(...state.s.map((s) => s[1] as number));
}
