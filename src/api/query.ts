import { StreamingQueryException } from '../common/errors.js';
import { StreamingQueryProgress, StreamingQueryStatus } from '../engine/progress.js';
import { MicroBatchExecution } from '../engine/micro-batch.js';
import { ExplainMode, explainText, OperatorNode, operatorTree, parseExplainMode } from '../exec/explain.js';
import { PhysicalOperator } from '../exec/physical.js';
import { LogicalPlan } from '../plan/logical.js';

/** A running streaming query (Spark's `StreamingQuery`). */
export class StreamingQuery {
  constructor(private readonly execution: MicroBatchExecution, private readonly logicalPlan: LogicalPlan,
    private readonly physicalRoot: PhysicalOperator, readonly name: string | null,
    /** How the query runs: on worker threads, or on one thread and why. */
    private readonly runsOn: () => string = () => 'one thread') {}

  /** Stable across restarts from the same checkpoint. */
  get id(): string { return this.execution.id; }
  /** New on every start. */
  get runId(): string { return this.execution.runId; }
  get isActive(): boolean { return this.execution.active; }
  /** The error the query stopped with, or null. */
  get exception(): StreamingQueryException | null { return this.execution.exception; }
  /** What the query is doing now: Spark's `status` (message, isDataAvailable, isTriggerActive). */
  get status(): StreamingQueryStatus { return this.execution.status; }
  get lastProgress(): StreamingQueryProgress | null {
    return this.execution.recentProgress[this.execution.recentProgress.length - 1] ?? null;
  }
  get recentProgress(): StreamingQueryProgress[] { return [...this.execution.recentProgress]; }

  /**
   * Resolves when all input available now is processed and committed, including any no-data
   * batch it makes due; rejects if the query fails meanwhile.
   */
  processAllAvailable(): Promise<void> { return this.execution.processAllAvailable(); }
  /**
   * Resolves with true when the query stops (rejects with its exception if it failed); with a
   * timeout, resolves with false if it is still running after `timeoutMs`, as Spark's does.
   */
  async awaitTermination(timeoutMs?: number): Promise<boolean> {
    const terminated = this.execution.awaitTermination().then(() => true);
    if (timeoutMs === undefined) return terminated;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    try {
      return await Promise.race([terminated, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
  /** Stops after the batch in flight completes; never leaves a half-written batch. */
  stop(): Promise<void> { return this.execution.stop(); }
  /**
   * The plan as text, in one of Spark's explain modes (see `DataFrame.explain`); `formatted` shows each
   * operator's metrics of the last completed batch, `codegen` the JavaScript the query runs.
   */
  explain(mode: ExplainMode | boolean = 'simple'): string {
    const parsed = parseExplainMode(mode);
    const text = explainText(this.logicalPlan, this.physicalRoot, this.planMetrics(), parsed);
    // How it runs (worker threads or one thread, and why) goes with the detailed modes; simple stays Spark's plan alone.
    return parsed === 'simple' || parsed === 'codegen' ? text : `${text.replace(/\n+$/, '')}\n\n== Execution ==\n${this.runsOn()}\n`;
  }

  /**
   * The physical plan as a tree of operators, each with its output, arguments and the metrics of the
   * last completed batch (rows in and out, own time, and for stateful operators their state figures),
   * for monitoring. A snapshot: read it again after later batches.
   */
  planMetrics(): OperatorNode {
    return this.execution.lastOperatorTree ?? operatorTree(this.physicalRoot, false);
  }
}
