/**
 * The main thread's side of running a query on worker threads. `planForWorkers` wraps the one-thread
 * physical plan of an eligible query: the engine runs a batch through `run`, and the one stateful
 * operator it sees is a proxy for the per-partition operators in the workers. Which side runs is
 * fixed when the state opens, by how the checkpoint's state is partitioned (`statePartitioning` in
 * the offset log): by state key, as one thread keeps it, or by group, as the workers keep it.
 */
import { StatePartitioning } from '../../checkpoint/offset-log.js';
import { CheckpointStorage } from '../../checkpoint/storage.js';
import { WeirError } from '../../common/errors.js';
import { OutputMode } from '../../common/output-mode.js';
import { Row } from '../../common/schema.js';
import { nameOf } from '../../plan/analyzer.js';
import { LogicalPlan } from '../../plan/logical.js';
import { SplitRead } from '../../sources/source.js';
import { inMemoryStateProvider } from '../../state/memory-provider.js';
import { StateStoreProvider } from '../../state/state-store.js';
import {
  emptyEventTimeStats, ExecContext, OperatorMetrics, PhysicalOperator, StatefulOperator, StateOperatorProgress, StateOpening, StateSetup,
} from '../physical.js';
import { PhysicalPlan } from '../planner.js';
import { BatchInput, BatchPart, OperatorFigures, WorkerSetup } from './messages.js';
import { parallelShape, ParallelShape } from './plan-shape.js';
import { sumStateProgress } from './state-figures.js';
import { decodeRows, encodeRows, transferList } from './row-columns.js';
import { WorkerPool } from './worker-pool.js';

/** A physical plan that may run its batches on worker threads. */
export interface ParallelPhysicalPlan extends PhysicalPlan {
  /** Whether the workers run the query now, so its source may be read by them ({@link run}'s `split`). */
  readonly readsOnWorkers: boolean;
  readonly numWorkers: number;
  /**
   * Runs one batch: on the workers when they run the query, else on this thread as `root.execute`.
   * With `split`, the workers read the input themselves, worker w the read's part w (`ctx.inputs[0]`
   * is then unused). Resolves to the output and the number of input rows.
   */
  run(ctx: ExecContext, split: SplitRead | null): Promise<{ rows: Row[]; inputRows: number }>;
  /** Ends the worker threads (the query stopped or failed). */
  close(): Promise<void>;
  /** How the query runs, for explain and progress: the workers, or why one thread. */
  readonly execution: string;
  /** How a fresh checkpoint partitions this plan's state. */
  readonly freshPartitioning: StatePartitioning;
}

interface ParallelOptions {
  readonly numWorkers: number;
  /** Where the query is said to be in errors (its name or checkpoint). */
  readonly label: string;
}

class ParallelRun implements ParallelPhysicalPlan {
  readonly schema;
  readonly leaves;
  readonly watermarks;
  readonly pushdown;
  readonly stateful: readonly StatefulOperator[];
  readonly freshPartitioning: StatePartitioning;
  private pool: WorkerPool | null = null;
  private active: boolean;
  private readonly reportRoot: ReportedOperator;
  private readonly reported: ReportedOperator[] = [];
  private readonly proxy: PartitionedStateProxy | null;
  private lastState: StateOperatorProgress | null = null;
  private numPartitions = 1;
  private note: string;
  /** Where the last batch's input was read: by the workers when the source splits its read (json, csv, text files). */
  private inputNote: string | null = null;

  constructor(private readonly single: PhysicalPlan, private readonly shape: ParallelShape, private readonly options: ParallelOptions) {
    this.schema = single.schema;
    this.leaves = single.leaves;
    this.watermarks = single.watermarks;
    // The main thread's source reads only what the plan uses; the workers' map side runs over those rows.
    this.pushdown = single.pushdown;
    const stateful = shape.reduceSide !== null;
    this.proxy = stateful ? new PartitionedStateProxy(single.stateful[0]!, this) : null;
    this.stateful = this.proxy ? [this.proxy] : [];
    this.freshPartitioning = stateful && options.numWorkers > 1 ? 'group' : 'key';
    // A stateless plan has no state to be partitioned: it runs on the workers whenever there are several.
    this.active = !stateful && options.numWorkers > 1;
    this.note = options.numWorkers > 1 ? '' : 'numWorkers 1';
    const mirror = (op: PhysicalOperator): ReportedOperator => {
      const node = new ReportedOperator(op, op.children.map(mirror));
      this.reported.push(node);
      return node;
    };
    this.reportRoot = mirror(single.root);
    for (const node of this.reported) if (node.mirrors(single.stateful[0])) node.state = () => this.lastState;
  }

  get root(): PhysicalOperator {
    return this.active ? this.reportRoot : this.single.root;
  }

  get execution(): string {
    if (!this.active) return `one thread (${this.note})`;
    const exchange = this.shape.reduceSide === null ? 'no exchange (stateless)'
      : `exchange by hash of [${this.shape.exchangeKeys.map(nameOf).join(', ')}] into ${this.numPartitions} state partition(s)`;
    return `${this.options.numWorkers} worker threads, ${exchange}${this.inputNote === null ? '' : `, ${this.inputNote}`}`;
  }

  /** Opens the state on the workers or on this thread, as the checkpoint's state is partitioned. */
  async openState(setup: StateSetup, local: StatefulOperator): Promise<{ side: 'workers' | 'local'; opening: StateOpening }> {
    if (setup.statePartitioning !== 'group') {
      if (this.options.numWorkers > 1) {
        this.note = `numWorkers ${this.options.numWorkers} not used: the checkpoint's state is partitioned by key, as a ` +
          'query started with numWorkers 1 (or by an earlier weir) keeps it; start on a new checkpointLocation to use the workers';
      }
      return { side: 'local', opening: await local.open(setup) };
    }
    this.numPartitions = setup.numPartitions;
    if (setup.provider.name !== 'memory') {
      throw new WeirError('STATE_PARTITIONING', `The state in ${setup.storage.description} is partitioned by group (the query ` +
        `ran on worker threads), which only the memory state store provider keeps; this run uses '${setup.provider.name}'. ` +
        "Run it with the memory provider, or start on a new checkpointLocation.");
    }
    this.startPool(setup.storage, setup.numPartitions);
    await this.pool!.all({ type: 'open', version: setup.version, snapshotInterval: setup.snapshotInterval });
    this.active = true;
    return { side: 'workers', opening: { warm: false, rows: this.stateProgress()?.numRowsTotal ?? 0 } };
  }

  private startPool(storage: CheckpointStorage | null, numPartitions: number): void {
    const { numWorkers } = this;
    const setups: WorkerSetup[] = Array.from({ length: numWorkers }, (_, workerIndex) => ({
      workerIndex, numWorkers, numPartitions, shape: this.shape, stateDescription: storage?.description ?? this.options.label,
    }));
    this.pool = new WorkerPool(setups, storage, this.options.label);
  }

  get workers(): WorkerPool {
    return this.pool!;
  }

  get readsOnWorkers(): boolean {
    return this.active;
  }

  get numWorkers(): number {
    return Math.max(1, this.options.numWorkers);
  }

  async run(ctx: ExecContext, split: SplitRead | null): Promise<{ rows: Row[]; inputRows: number }> {
    if (!this.active) {
      const rows = this.single.root.execute(ctx);
      return { rows, inputRows: ctx.inputs[0]?.length ?? 0 };
    }
    if (!this.pool) this.startPool(null, 1);
    const input = ctx.inputs[0] ?? [];
    const pool = this.pool!;
    const n = pool.size;
    const per = Math.ceil(input.length / n);
    const names = this.leaves[0]!.schema!.map((f) => f.name);
    this.inputNote = split !== null ? 'the input read by the workers' : 'the input read on this thread';
    const parts = await Promise.all(Array.from({ length: n }, (_, w) => {
      const encoded = split === null ? encodeRows(input.slice(w * per, (w + 1) * per), names) : null;
      const source: BatchInput = encoded ?? { readerModule: split!.readerModule, part: split!.parts[w] };
      return pool.request(w, { type: 'batch', batch: {
        batchId: ctx.batchId, watermarkMs: ctx.watermarkMs, previousWatermarkMs: ctx.previousWatermarkMs, batchTimestampMs: ctx.batchTimestampMs,
        outputMode: ctx.outputMode as OutputMode, input: source,
      } }, encoded === null ? [] : transferList(encoded)) as Promise<BatchPart>;
    }));
    // The read as a whole is checked before any output is used: it fails the batch as the one-thread read would.
    await split?.complete(parts.map((p) => p.read?.summary));
    // Event times: each watermark's figures over all slices, merged in worker order.
    ctx.eventTimes.forEach((stats, i) => {
      for (const part of parts) {
        const s = part.eventTimes[i] ?? emptyEventTimeStats();
        stats.max = Math.max(stats.max, s.max);
        stats.min = Math.min(stats.min, s.min);
        stats.sum += s.sum;
        stats.count += s.count;
      }
    });
    // Output by partition (a stateless plan: by slice), so it does not depend on the number of workers.
    const outputs = parts.flatMap((p) => p.outputs).sort((a, b) => a.partition - b.partition);
    const rows = outputs.length === 1 ? decodeRows(outputs[0]!.rows) : outputs.flatMap((o) => decodeRows(o.rows));
    this.report(ctx.batchId, parts.map((p) => p.operators));
    return { rows, inputRows: split === null ? input.length : parts.reduce((sum, p) => sum + (p.read?.rows ?? 0), 0) };
  }

  /** Sets each mirrored operator's figures to the workers' sums (time: summed over the threads). */
  private report(batchId: number, figures: readonly (readonly OperatorFigures[])[]): void {
    this.reported.forEach((node, i) => {
      const sum = { rowsIn: 0, rowsOut: 0, timeMs: 0 };
      for (const worker of figures) {
        const f = worker[i];
        if (!f) continue;
        sum.rowsIn += f.rowsIn;
        sum.rowsOut += f.rowsOut;
        sum.timeMs += f.timeMs;
      }
      node.figures = { batchId, ...sum };
    });
  }

  stateProgress(): StateOperatorProgress | null {
    return this.lastState;
  }

  /** Commits every worker's stores; their figures as of this commit become the state progress. */
  async commitState(): Promise<void> {
    const parts = await this.workers.all({ type: 'commit' }) as StateOperatorProgress[];
    this.lastState = sumStateProgress(parts);
  }

  async close(): Promise<void> {
    await this.pool?.terminate();
  }
}

/** One operator of the plan as progress and explain show it when the workers run it: its figures summed over them. */
class ReportedOperator extends PhysicalOperator {
  readonly name: string;
  figures: OperatorMetrics | null = null;
  state: (() => StateOperatorProgress | null) | null = null;

  constructor(private readonly original: PhysicalOperator, children: readonly PhysicalOperator[]) {
    super(original.schema, children);
    this.name = original.name;
  }

  describe(): string {
    return this.original.describe();
  }

  override generatedCode(): string | null {
    return this.original.generatedCode();
  }

  override get metrics(): OperatorMetrics | null {
    return this.figures;
  }

  mirrors(op: PhysicalOperator | undefined): boolean {
    return op === this.original;
  }

  override stateProgress(): StateOperatorProgress | null {
    return this.state?.() ?? null;
  }

  protected run(): Row[] {
    throw new Error('a reported operator is never executed: the worker threads run the plan');
  }
}

/** The engine's handle on the plan's state: the workers' per-partition stores, or the one-thread operator's. */
class PartitionedStateProxy extends PhysicalOperator implements StatefulOperator {
  readonly name: string;
  readonly operatorName: string;
  private side: 'workers' | 'local' = 'local';

  constructor(private readonly local: StatefulOperator, private readonly plan: ParallelRun) {
    super(local.schema, local.children);
    this.name = local.name;
    this.operatorName = local.operatorName;
  }

  describe(): string {
    return this.local.describe();
  }

  async open(setup: StateSetup): Promise<StateOpening> {
    const { side, opening } = await this.plan.openState(setup, this.local);
    this.side = side;
    return opening;
  }

  /** A standby keeps warm copies only of one-thread state: the workers' state is loaded by them at takeover. */
  async follow(setup: StateSetup): Promise<boolean> {
    return setup.statePartitioning === 'group' ? false : this.local.follow(setup);
  }

  async advanceFollowers(version: number): Promise<void> {
    await this.local.advanceFollowers(version);
  }

  followedRows(): number {
    return this.local.followedRows();
  }

  async commit(): Promise<void> {
    if (this.side === 'local') return this.local.commit();
    await this.plan.commitState();
  }

  async abort(): Promise<void> {
    if (this.side === 'local') return this.local.abort();
    await this.plan.workers.all({ type: 'abort' });
  }

  progress(): StateOperatorProgress {
    if (this.side === 'local') return this.local.progress();
    return this.plan.stateProgress() ?? { ...this.local.progress(), operatorName: this.operatorName };
  }

  override stateProgress(): StateOperatorProgress {
    return this.progress();
  }

  async purgeBefore(version: number): Promise<void> {
    if (this.side === 'local') return this.local.purgeBefore(version);
    await this.plan.workers.all({ type: 'purge', version });
  }

  async close(): Promise<void> {
    if (this.side === 'local') return this.local.close();
    try {
      // After a thread failed there is nothing to close in an orderly way: ending them is all.
      if (!this.plan.workers.failed) await this.plan.workers.all({ type: 'close' });
    } finally {
      await this.plan.close();
    }
  }

  evictsByWatermark(outputMode: OutputMode): boolean {
    return this.local.evictsByWatermark(outputMode);
  }

  protected run(): Row[] {
    throw new Error('the state proxy is never executed: the plan runs through ParallelPhysicalPlan.run');
  }
}

/** The plan the engine runs: wrapped for the workers when the query can run on them, with how it runs. */
export function planForWorkers(logical: LogicalPlan, single: PhysicalPlan, numWorkers: number, provider: StateStoreProvider,
  label: string): { plan: PhysicalPlan; execution: () => string } {
  const result = parallelShape(logical);
  const refused = 'refused' in result ? result.refused
    : single.stateful.length > 0 && provider !== inMemoryStateProvider ? `state store provider '${provider.name}' is not run on worker threads yet`
      : null;
  if (refused !== null || 'refused' in result) {
    const why = numWorkers > 1 ? `numWorkers ${numWorkers} not used: ${refused}` : 'numWorkers 1';
    return { plan: single, execution: () => `one thread (${why})` };
  }
  const plan = new ParallelRun(single, result.shape, { numWorkers, label });
  return { plan, execution: () => plan.execution };
}

export function isParallelPlan(plan: PhysicalPlan): plan is ParallelPhysicalPlan {
  return plan instanceof ParallelRun;
}
