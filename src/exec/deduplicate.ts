import { OutputMode } from '../common/output-mode.js';
import { Field, isWindowType, Row, Schema } from '../common/schema.js';
import { Expr } from '../plan/expressions.js';
import { compileRowLoop } from './compile.js';
import { ExecContext, PhysicalOperator } from './physical.js';
import { jsonCodec, StatefulBase } from './stateful-base.js';
import { KEY_PART_PARAM, keyCode, keyPart } from './state-keys.js';

type DedupLoop = (rows: readonly Row[], ctx: ExecContext, store: unknown, st: DedupStats, kp: typeof keyPart) => void;
interface DedupStats { dropped: number; dropLate: boolean; lateMs: number; out: Row[] }

/**
 * `dropDuplicates(keys)` keeps the first row per key. The state holds, per key seen, the time it
 * may be forgotten: with a watermarked event-time column among the keys, that column's value;
 * for `dropDuplicatesWithinWatermark`, the first event time plus the watermark delay; without a
 * watermark, never.
 */
export class DeduplicateExec extends StatefulBase<number> {
  readonly name: string;
  private readonly loop: DedupLoop;
  private readonly evictable: boolean;
  private readonly keyNames: readonly string[];

  constructor(child: PhysicalOperator, input: Schema, keys: readonly string[] | null, withinWatermark: boolean) {
    const keyNames = keys && keys.length > 0 ? keys : input.map((f) => f.name);
    // As Spark: late rows are dropped by the input's (first) event-time column whether or not it is a key;
    // state is evicted by the first event-time column among the keys (or, within the watermark, at the first
    // event time plus the delay). After an aggregation, that can be its window (judged by its end).
    const eventTime = input.find((f) => f.eventTimeDelayMs !== undefined);
    const evictBy = withinWatermark ? eventTime : input.find((f) => f.eventTimeDelayMs !== undefined && keyNames.includes(f.name));
    super(withinWatermark ? 'dedupeWithinWatermark' : 'dedupe', input, [child], jsonCodec<number>(), eventTime !== undefined);
    this.name = withinWatermark ? 'DeduplicateWithinWatermark' : 'Deduplicate';
    this.keyNames = keyNames;
    this.evictable = evictBy !== undefined;
    const keyExprs = keyNames.map((name): Expr => ({ kind: 'column', path: [name] }));
    const timeExpr = (f: Field): Expr => ({ kind: 'column', path: isWindowType(f.type) ? [f.name, 'end'] : [f.name] });
    const timeExprs: Expr[] = [...(eventTime ? [timeExpr(eventTime)] : []), ...(evictBy ? [timeExpr(evictBy)] : [])];
    const expiryDelay = withinWatermark ? eventTime?.eventTimeDelayMs ?? 0 : 0;
    const never = String(Number.MAX_SAFE_INTEGER);
    this.loop = compileRowLoop<DedupLoop>(['ctx', 'store', 'st', KEY_PART_PARAM], [...keyExprs, ...timeExprs], input,
      'const wm = st.lateMs;',
      (values) => {
        const ts = eventTime ? values[keyExprs.length]! : null;
        const expiry = evictBy ? values[keyExprs.length + (eventTime ? 1 : 0)]! : null;
        return [
          ts ? `if (st.dropLate && ${ts} !== null && ${ts} <= wm) { st.dropped++; continue; }` : '',
          `const key = ${keyCode(values.slice(0, keyExprs.length))};`,
          'if (store.get(key) !== undefined) continue;',
          `store.put(key, ${expiry ? `${expiry} === null ? ${never} : ${expiry} + ${expiryDelay}` : never});`,
          'st.out.push(r);',
        ].join('\n');
      });
  }

  describe(): string {
    return `[${this.keyNames.join(', ')}]`;
  }

  override generatedCode(): string {
    return this.loop.toString();
  }

  protected override stateEventTime(): ((expiresAt: number) => number) | undefined {
    return this.evictable ? expiresAtOf : undefined;
  }

  /**
   * In every output mode, as Spark's: a moved watermark makes a no-data batch due, so the batch after it
   * drops rows by the moved watermark (late rows are judged by the previous batch's).
   */
  override evictsByWatermark(_outputMode: OutputMode): boolean {
    return this.hasEventTime;
  }

  protected run([rows]: readonly Row[][], ctx: ExecContext): Row[] {
    // As Spark, late rows are dropped whatever the output mode (only an aggregation's complete mode keeps every group).
    const { lateMs, evictMs } = this.operatorWatermarks(ctx);
    const st: DedupStats = { dropped: 0, dropLate: ctx.streaming && this.hasEventTime, lateMs, out: [] };
    this.loop(rows!, ctx, this.store, st, keyPart);
    this.droppedByWatermark = st.dropped;
    if (st.dropLate && this.evictable) this.evict(evictMs, expiresAtOf);
    return st.out;
  }
}

/** A dedup entry's value is the time it expires at. */
const expiresAtOf = (expiresAt: number): number => expiresAt;
