import { Decimal } from '../common/decimal.js';
/** The stateless physical operators: scans, fused row-at-a-time stages, union, watermark, sort, limit. */
import { ownValue } from '../codec/fields.js';
import { compareUtf8 } from '../common/spark-strings.js';
import { Row, Schema, Value } from '../common/schema.js';
import { nameOf } from '../plan/analyzer.js';
import { Expr } from '../plan/expressions.js';
import { compileExpression, compileSteps, CompiledSteps, StatelessStep } from './compile.js';
import { emptyEventTimeStats, ExecContext, PhysicalOperator } from './physical.js';

/** Reads one input leaf's rows of the batch (`ctx.inputs[index]`). */
export class ScanExec extends PhysicalOperator {
  readonly name: string;

  constructor(schema: Schema, private readonly index: number, private readonly description: string, streaming: boolean) {
    super(schema, []);
    this.name = streaming ? 'MicroBatchScan' : 'Scan';
  }

  describe(): string {
    return `${this.description} [${this.schema.map((f) => f.name).join(', ')}]`;
  }

  protected run(_inputs: readonly Row[][], ctx: ExecContext): Row[] {
    return ctx.inputs[this.index] as Row[];
  }
}

/**
 * A chain of filters, projections and user functions compiled into one loop (Spark's whole-stage
 * code generation): one pass over the batch, no intermediate arrays.
 */
export class WholeStageExec extends PhysicalOperator {
  readonly name = 'WholeStageCodegen';
  private readonly loop: CompiledSteps;

  /** `steps` in execution order: the first runs on the child's rows. */
  constructor(schema: Schema, child: PhysicalOperator, private readonly steps: readonly StatelessStep[]) {
    super(schema, [child]);
    this.loop = compileSteps(steps);
  }

  /** The fused steps, the last applied first (as a tree reads, top down). */
  describe(): string {
    return [...this.steps].reverse().map(describeStep).join(' <- ');
  }

  override generatedCode(): string {
    return this.loop.toString();
  }

  protected run([rows]: readonly Row[][], ctx: ExecContext): Row[] {
    return this.loop(rows!, ctx);
  }
}

function describeStep(step: StatelessStep): string {
  switch (step.kind) {
    case 'filter': return `Filter ${nameOf(step.condition)}`;
    case 'project': return `Project [${step.output.map((f) => f.name).join(', ')}]`;
    case 'map': return 'MapRows <function>';
    case 'flatMap': return 'FlatMapRows <function>';
    case 'filterFn': return 'FilterRows <function>';
  }
}

/** Rows of both inputs; columns match by position and the left side names them. */
export class UnionExec extends PhysicalOperator {
  readonly name = 'Union';
  private readonly rename: ((row: Row) => Row) | null;

  constructor(schema: Schema, left: PhysicalOperator, right: PhysicalOperator) {
    super(schema, [left, right]);
    const names = schema.map((f) => f.name);
    const rightNames = right.schema.map((f) => f.name);
    this.rename = rightNames.every((n, i) => n === names[i]) ? null
      : (row) => Object.fromEntries(names.map((n, i) => [n, ownValue(row, rightNames[i]!) ?? null]));
  }

  describe(): string {
    return '';
  }

  protected run([left, right]: readonly Row[][]): Row[] {
    return left!.concat(this.rename ? right!.map(this.rename) : right!);
  }
}

/** Passes rows through, collecting the min, max, sum and count of their event times for the next watermark. */
export class WatermarkExec extends PhysicalOperator {
  readonly name = 'EventTimeWatermark';

  constructor(schema: Schema, child: PhysicalOperator, private readonly index: number, private readonly column: string,
    private readonly delayMs: number) {
    super(schema, [child]);
  }

  describe(): string {
    return `${this.column}, ${this.delayMs} ms`;
  }

  /** Where event time enters the plan: its output carries the global watermark. */
  override outputWatermarkMs(globalMs: number): number {
    return globalMs;
  }

  protected run([rows]: readonly Row[][], ctx: ExecContext): Row[] {
    const stats = ctx.eventTimes[this.index] ?? (ctx.eventTimes[this.index] = emptyEventTimeStats());
    for (const row of rows!) {
      const t = ownValue(row, this.column);
      if (typeof t !== 'number') continue;
      if (t > stats.max) stats.max = t;
      if (t < stats.min) stats.min = t;
      stats.sum += t;
      stats.count++;
    }
    return rows!;
  }
}

export class SortExec extends PhysicalOperator {
  readonly name = 'Sort';
  private readonly compare: (a: Row, b: Row, ctx: ExecContext) => number;

  constructor(child: PhysicalOperator, private readonly orders: readonly Expr[]) {
    super(child.schema, [child]);
    this.compare = comparator(orders, child.schema);
  }

  describe(): string {
    return `[${this.orders.map(nameOf).join(', ')}]`;
  }

  protected run([rows]: readonly Row[][], ctx: ExecContext): Row[] {
    return rows!.sort((a, b) => this.compare(a, b, ctx));
  }
}

export class LimitExec extends PhysicalOperator {
  readonly name = 'Limit';

  constructor(child: PhysicalOperator, private readonly n: number) {
    super(child.schema, [child]);
  }

  describe(): string {
    return String(this.n);
  }

  protected run([rows]: readonly Row[][]): Row[] {
    return rows!.slice(0, this.n);
  }
}

/** Spark's ordering: ascending puts nulls first, descending puts them last. */
function comparator(orders: readonly Expr[], schema: Schema): (a: Row, b: Row, ctx: ExecContext) => number {
  const keys = orders.map((o) => ({
    value: compileExpression(o.kind === 'sortOrder' ? o.child : o, schema),
    sign: o.kind === 'sortOrder' && o.descending ? -1 : 1,
  }));
  return (a, b, ctx) => {
    for (const key of keys) {
      const c = compareValues(key.value(a, ctx), key.value(b, ctx));
      if (c !== 0) return c * key.sign;
    }
    return 0;
  };
}

function compareValues(x: Value, y: Value): number {
  if (x === y) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  if (x instanceof Decimal && y instanceof Decimal) return x.compare(y);
  if (typeof x === 'object' || typeof y === 'object') return compareValues(JSON.stringify(x), JSON.stringify(y));
  // Spark orders strings by their UTF-8 bytes, not by UTF-16 units.
  if (typeof x === 'string' && typeof y === 'string') return compareUtf8(x, y);
  return x < y ? -1 : x > y ? 1 : 0;
}
