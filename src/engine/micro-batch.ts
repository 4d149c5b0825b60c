import { randomUUID } from 'node:crypto';
import { Checkpoint, Recovery } from '../checkpoint/checkpoint.js';
import { CheckpointPaths, localPath } from '../checkpoint/layout.js';
import { BatchConf, OffsetEntry } from '../checkpoint/offset-log.js';
import { PrefixedStorage } from '../checkpoint/prefixed-storage.js';
import { CheckpointLock, CheckpointStorage, LockOptions } from '../checkpoint/storage.js';
import { descriptorShortage } from '../common/descriptor-shortage.js';
import { CheckpointError, errorMessage, StreamingQueryException, WeirError } from '../common/errors.js';
import { injectFault } from '../common/faults.js';
import { withinTime } from '../common/within-time.js';
import { OutputMode } from '../common/output-mode.js';
import { Row } from '../common/schema.js';
import { OperatorNode, operatorTree } from '../exec/explain.js';
import { emptyEventTimeStats, EventTimeStats, ExecContext, PhysicalOperator, StatefulOperator, StateOpening } from '../exec/physical.js';
import { PhysicalPlan } from '../exec/planner.js';
import { isParallelPlan } from '../exec/parallel/parallel-plan.js';
import { StreamInput } from '../plan/logical.js';
import { Sink } from '../sinks/sink.js';
import { Offset, sameOffset, Source, SourceContext, SplitRead } from '../sources/source.js';
import { StateStoreProvider } from '../state/state-store.js';
import { LogRetention } from './log-retention.js';
import { ListenerBus, OperatorProgress, SourceProgress, StreamingQueryProgress, StreamingQueryStatus, TakeoverReport } from './progress.js';
import { ProgressReporter } from './progress-reporter.js';
import { QueryLifecycle } from './query-lifecycle.js';
import { StandbyFollower } from './standby-follower.js';
import { ResolvedTrigger } from './trigger.js';
import { WatermarkPosition, WatermarkTracker } from './watermark-tracker.js';
import { batchDigest } from './batch-digest.js';

/** How long each step of releasing a stopping query (a source, the sink, the lock…) may take before it is given up. */
const RELEASE_STEP_TIMEOUT_MS = 30_000;

export interface EngineSettings {
  readonly name: string | null;
  readonly storage: CheckpointStorage;
  readonly plan: PhysicalPlan;
  /** One line per stateful operator, for the checkpoint's compatibility check. */
  readonly statefulFingerprint: readonly string[];
  readonly outputMode: OutputMode;
  readonly sink: Sink;
  readonly keyColumns: readonly string[];
  readonly trigger: ResolvedTrigger;
  readonly minBatchesToRetain: number;
  readonly numStatePartitions: number;
  readonly stateSnapshotInterval: number;
  readonly stateStoreProvider: StateStoreProvider;
  readonly multipleWatermarkPolicy: 'min' | 'max';
  /** How long to wait for new data before planning again, when the trigger has no interval. */
  readonly idlePollMs: number;
  /** `standby`: wait for the checkpoint's current writer to go away; `leaseTimeoutMs`: how long a silent writer keeps it. */
  readonly lockOptions: LockOptions;
  readonly listeners: ListenerBus;
  readonly recentProgressSize: number;
  /** Called after the query ended and released everything (e.g. to delete a temporary checkpoint). */
  readonly onTerminated?: () => Promise<void>;
}

/**
 * The micro-batch loop of docs/ARCHITECTURE.md §4: recover, plan, write ahead, execute, sink, commit, clean up.
 * Everything a batch does is derived from its offsets entry, so a batch re-run after a crash has
 * the same input, watermark and timestamp, and starts from the state the previous batch committed.
 */
export class MicroBatchExecution {
  readonly runId = randomUUID();
  id = '';
  exception: StreamingQueryException | null = null;
  active = false;
  /** What the query is doing now (Spark's `StreamingQuery.status`). */
  status: StreamingQueryStatus = { message: 'Initializing sources', isDataAvailable: false, isTriggerActive: false };
  /** The physical operators with the metrics of the last committed batch (null before one). */
  lastOperatorTree: OperatorNode | null = null;

  private readonly checkpoint: Checkpoint;
  private readonly sources: Source[] = [];
  private readonly stateful;
  private readonly retention: LogRetention;
  private readonly lifecycle = new QueryLifecycle();
  private progress: ProgressReporter | null = null;
  // Set by recovery: the conf from the offset log (this run's options on a fresh checkpoint), the watermarks as last committed.
  private conf!: BatchConf;
  private watermark!: WatermarkTracker;
  private committedOffsets: (Offset | null)[] = [];
  private nextBatchId = 0;
  private pendingRerun: { batchId: number; entry: OffsetEntry } | null = null;
  private currentBatchId: number | null = null;
  private lock: CheckpointLock | null = null;
  private readonly openedOperators: StatefulOperator[] = [];

  constructor(private readonly settings: EngineSettings) {
    this.checkpoint = new Checkpoint(settings.storage);
    this.stateful = settings.plan.stateful;
    this.retention = new LogRetention(this.checkpoint, this.stateful, settings.minBatchesToRetain);
  }

  get recentProgress(): readonly StreamingQueryProgress[] {
    return this.progress?.recentProgress ?? [];
  }

  /** Recovers from the checkpoint and starts the loop; fails (without running anything) on a bad checkpoint. */
  async start(): Promise<void> {
    const startedAt = performance.now();
    const { settings } = this;
    const leaves = settings.plan.leaves as StreamInput[];
    const meta = await this.checkpoint.openMetadata(leaves.map((l) => `${l.description} [${schemaLine(l)}]`),
      settings.statefulFingerprint);
    this.id = meta.id;
    // A standby keeps its state warm while it waits, so that taking over loads nothing (or little).
    const follower = settings.lockOptions.standby ? new StandbyFollower(this.checkpoint, this.stateful, {
      storage: settings.storage, provider: settings.stateStoreProvider, snapshotInterval: settings.stateSnapshotInterval,
      onFollowed: (batchId, stateRows) => settings.listeners.post('onQueryStandby', {
        id: this.id, runId: this.runId, name: settings.name, timestamp: new Date().toISOString(), followedBatchId: batchId, stateRows,
      }),
    }) : null;
    const openings: StateOpening[] = [];
    let recovery: Recovery;
    let lockedAt: number;
    const contexts: SourceContext[] = [];
    try {
      try {
        // Sources are made before the wait: a standby's may take input while it waits (see acceptWhileStandby).
        for (const [i, leaf] of leaves.entries()) {
          const source = leaf.create();
          const pushdown = settings.plan.pushdown[i];
          if (pushdown && (pushdown.columns !== null || pushdown.filter !== null)) source.pushDown?.(pushdown);
          this.sources.push(source);
          contexts.push({
            storage: new PrefixedStorage(settings.storage, CheckpointPaths.source(i)), queryId: this.id,
            notifyDataAvailable: () => this.lifecycle.dataArrived(),
          });
        }
        if (settings.lockOptions.standby) {
          for (const [i, source] of this.sources.entries()) await source.acceptWhileStandby?.(contexts[i]!);
        }
        this.lock = await settings.storage.lock({ queryId: this.id, runId: this.runId }, settings.lockOptions);
      } finally {
        await follower?.stop();
      }
      lockedAt = performance.now();
      recovery = await this.recover();
      for (const [i, source] of this.sources.entries()) await source.open(contexts[i]!);
      await settings.sink.open({
        queryId: this.id, queryName: settings.name, schema: settings.plan.schema, outputMode: settings.outputMode,
        keyColumns: settings.keyColumns,
      });
      const stateVersion = this.pendingRerun ? this.pendingRerun.batchId - 1 : this.nextBatchId - 1;
      if (this.conf.statePartitioning === 'group' && !isParallelPlan(settings.plan) && this.stateful.length > 0) {
        const where = settings.storage.locate(CheckpointPaths.operatorState(0));
        throw new CheckpointError('STATE_PARTITIONING', where, `The state in ${where} is partitioned by group: the query ran ` +
          'on worker threads (numWorkers > 1), and this run cannot: its plan or state store provider is not run on worker ' +
          'threads. Run the query as it was (see query.explain()), or start it on a new checkpointLocation.');
      }
      await Promise.all(this.stateful.map(async (op, i) => {
        openings[i] = await op.open({
          storage: new PrefixedStorage(settings.storage, CheckpointPaths.operatorState(i)), provider: settings.stateStoreProvider,
          numPartitions: this.conf.numStatePartitions, version: stateVersion, snapshotInterval: settings.stateSnapshotInterval,
          statePartitioning: this.conf.statePartitioning ?? 'key',
        });
        this.openedOperators.push(op);
      }));
      if (settings.trigger.kind === 'availableNow') {
        for (const source of this.sources) await source.prepareForTriggerAvailableNow?.();
      }
    } catch (err) {
      const failures = await this.release();
      // The start failure is what the caller must act on; what could not be released is still said.
      for (const failure of failures) process.emitWarning(`Query ${this.id} failed to start; then ${failure}`);
      throw err;
    }
    this.progress = new ProgressReporter({ id: this.id, runId: this.runId, name: settings.name }, settings.listeners,
      settings.recentProgressSize, topDown(settings.plan.root, this.stateful), settings.sink.description,
      settings.plan.watermarks.length > 0);
    this.active = true;
    this.postRecovered(recovery, performance.now() - startedAt);
    const takeover = this.lock.takeoverMs === undefined ? null
      : takeoverReport(this.lock.takeoverMs, performance.now() - lockedAt, recovery, openings, follower, settings.stateStoreProvider);
    if (takeover) this.progress.tookOver(takeover);
    settings.listeners.post('onQueryStarted', {
      id: this.id, runId: this.runId, name: settings.name, timestamp: new Date().toISOString(),
      ...(takeover ? { takeoverMs: takeover.waitedMs, takeover } : {}),
    });
    this.lifecycle.loopDone = this.runLoop();
  }

  private async recover(): Promise<Recovery> {
    const recovery = await this.checkpoint.recover();
    const { plan } = this.settings;
    const delaysMs = plan.watermarks.map((w) => w.delayMs);
    this.committedOffsets = new Array<Offset | null>(plan.leaves.length).fill(null);
    const watermarkFrom = (position: WatermarkPosition, logged: BatchConf): void => {
      // Settings that shape state come from the log, not from this run's options.
      this.conf = logged;
      this.watermark = new WatermarkTracker(delaysMs, logged.multipleWatermarkPolicy, position);
    };
    switch (recovery.kind) {
      case 'fresh':
        watermarkFrom({ nextBatchMs: 0, lastBatchMs: 0, operatorMs: [] }, {
          numStatePartitions: this.settings.numStatePartitions, multipleWatermarkPolicy: this.settings.multipleWatermarkPolicy,
          ...(isParallelPlan(plan) && plan.freshPartitioning === 'group' ? { statePartitioning: 'group' } : {}),
        });
        return recovery;
      case 'committed':
        this.checkSourceCount(recovery.offsets, recovery.batchId);
        this.committedOffsets = [...recovery.offsets.sources];
        this.nextBatchId = recovery.batchId + 1;
        watermarkFrom({
          nextBatchMs: recovery.commit.nextBatchWatermarkMs, lastBatchMs: recovery.offsets.batchWatermarkMs,
          operatorMs: recovery.commit.operatorWatermarksMs,
        }, recovery.offsets.conf);
        return recovery;
      case 'rerun':
        this.checkSourceCount(recovery.offsets, recovery.batchId);
        if (recovery.previousOffsets) this.committedOffsets = [...recovery.previousOffsets.sources];
        this.nextBatchId = recovery.batchId;
        watermarkFrom({
          nextBatchMs: recovery.offsets.batchWatermarkMs, lastBatchMs: recovery.previousOffsets?.batchWatermarkMs ?? 0,
          operatorMs: recovery.previousCommit?.operatorWatermarksMs ?? [],
        }, recovery.offsets.conf);
        this.pendingRerun = { batchId: recovery.batchId, entry: recovery.offsets };
        return recovery;
    }
  }

  /** Tells listeners where a query that had run before resumed (nothing for a fresh checkpoint). */
  private postRecovered(recovery: Recovery, recoveryMs: number): void {
    if (recovery.kind === 'fresh') return;
    const rerun = recovery.kind === 'rerun'
      ? { batchId: recovery.batchId, sources: recovery.offsets.sources, batchWatermarkMs: recovery.offsets.batchWatermarkMs }
      : null;
    this.settings.listeners.post('onQueryRecovered', {
      id: this.id, runId: this.runId, name: this.settings.name, timestamp: new Date().toISOString(),
      lastCommittedBatchId: lastCommittedBatch(recovery),
      nextBatchId: recovery.batchId + 1, rerun, recoveryMs: Math.round(recoveryMs),
    });
  }

  private checkSourceCount(entry: OffsetEntry, batchId: number): void {
    if (entry.sources.length !== this.settings.plan.leaves.length) {
      const where = this.checkpoint.offsets.locate(batchId);
      throw new CheckpointError('CHECKPOINT_MISMATCH', where, `${where} has offsets for ${entry.sources.length} ` +
        `source(s) but the query reads ${this.settings.plan.leaves.length}. Use a new checkpointLocation for this query.`);
    }
  }

  /** Resolves once everything available now has been processed and committed (including a no-data batch that this input makes due). */
  processAllAvailable(): Promise<void> {
    if (!this.active) return this.exception ? Promise.reject(this.exception) : Promise.resolve();
    return this.lifecycle.awaitAllAvailable();
  }

  awaitTermination(): Promise<void> {
    if (!this.active) return this.exception ? Promise.reject(this.exception) : Promise.resolve();
    return this.lifecycle.awaitTermination();
  }

  /** Stops after the batch in flight finishes (a batch is never cut in half), then releases everything. */
  async stop(): Promise<void> {
    if (!this.active) return;
    this.lifecycle.requestStop();
    await this.lifecycle.loopDone;
  }

  private async runLoop(): Promise<void> {
    let failure: StreamingQueryException | null = null;
    try {
      await this.loop();
    } catch (err) {
      // The failed batch's state changes belong to no committed version: discard them.
      await Promise.all(this.stateful.map((op) => op.abort().catch(() => undefined)));
      const batchId = this.currentBatchId;
      failure = err instanceof StreamingQueryException ? err : new StreamingQueryException(
        `${this.describe()} terminated with an error in batch ${batchId ?? '(planning)'}: ${errorMessage(err)}. Fix the ` +
          'cause and restart the query: it resumes from the checkpoint.', batchId, err);
    }
    const releaseFailures = await this.release();
    if (releaseFailures.length > 0) failure = this.withReleaseFailures(failure, releaseFailures);
    this.exception = failure;
    this.status = { message: 'Stopped', isDataAvailable: false, isTriggerActive: false };
    this.active = false;
    this.settings.listeners.post('onQueryTerminated', {
      id: this.id, runId: this.runId, exception: failure?.message ?? null,
      errorClassOnException: failure ? (failure.cause instanceof WeirError ? failure.cause.code : failure.code) : null,
    });
    this.lifecycle.terminated(failure);
  }

  private describe(): string {
    return `Query ${this.settings.name ?? ''} [id = ${this.id}, runId = ${this.runId}]`;
  }

  private withReleaseFailures(failure: StreamingQueryException | null, releaseFailures: readonly string[]): StreamingQueryException {
    const list = releaseFailures.join('; ');
    if (failure) {
      return new StreamingQueryException(`${failure.message} Releasing the query's resources then failed too: ${list}.`,
        failure.batchId, failure.cause);
    }
    return new StreamingQueryException(`${this.describe()} stopped, but releasing its resources failed: ${list}. ` +
      'Its batches are committed; check what is named before restarting it.', null, undefined);
  }

  /** Process-wide descriptor wait when the current trigger started (see descriptor-shortage.ts). */
  private descriptorWaitAtTrigger = 0;

  private async loop(): Promise<void> {
    const { trigger } = this.settings;
    const intervalMs = trigger.kind === 'processingTime' ? trigger.intervalMs : 0;
    while (!this.lifecycle.stopRequested) {
      const triggerStart = Date.now();
      const round = this.lifecycle.newPlanningRound();
      const ran = await this.runTrigger(triggerStart);
      this.status = ran === 'none'
        ? { message: 'Waiting for data to arrive', isDataAvailable: false, isTriggerActive: false }
        : { ...this.status, message: 'Waiting for next trigger', isTriggerActive: false };
      if (trigger.kind === 'once' && ran !== 'none') return;
      if (ran === 'none') {
        this.lifecycle.planningRoundFoundNothing(round);
        if (trigger.kind !== 'processingTime') return;
        this.progress!.triggerIdle();
      }
      if (this.lifecycle.stopRequested) return;
      if (intervalMs > 0) {
        // Batches start on the trigger's interval whatever the source (Spark's ProcessingTimeExecutor): data
        // arriving meanwhile waits for the next tick. Only processAllAvailable() and stop() cut the wait short.
        await this.lifecycle.waitUntil(triggerStart + intervalMs, { wakeOnData: false });
      } else if (ran === 'none') {
        await this.lifecycle.waitUntil(Date.now() + this.settings.idlePollMs, { wakeOnData: true });
      } else {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }

  /** Plans and runs at most one batch. */
  private async runTrigger(triggerStart: number): Promise<'data' | 'noData' | 'none'> {
    this.retention.throwIfFailed();
    this.lock!.assertHeld();
    const durations: Record<string, number> = {};
    this.descriptorWaitAtTrigger = descriptorShortage().waitedMs;
    this.status = { ...this.status, message: 'Getting offsets from sources', isTriggerActive: true };
    if (this.pendingRerun) {
      const { batchId, entry } = this.pendingRerun;
      this.pendingRerun = null;
      this.status = { message: 'Processing new data', isDataAvailable: true, isTriggerActive: true };
      await this.runBatch(batchId, entry, triggerStart, durations);
      return 'data';
    }
    const t0 = performance.now();
    const ends: (Offset | null)[] = [];
    for (const [i, source] of this.sources.entries()) ends.push(await source.latestOffset(this.committedOffsets[i] ?? null));
    durations['latestOffset'] = performance.now() - t0;
    const hasData = ends.some((end, i) => end !== null && !sameOffset(end, this.committedOffsets[i] ?? null));
    const noDataDue = !hasData && this.settings.trigger.kind !== 'once' && this.watermark.movedSinceLastBatch &&
      this.stateful.some((op) => op.evictsByWatermark(this.settings.outputMode));
    if (!hasData && !noDataDue) return 'none';
    this.status = { message: 'Processing new data', isDataAvailable: hasData, isTriggerActive: true };
    const entry: OffsetEntry = {
      batchWatermarkMs: this.watermark.nextBatchWatermarkMs, batchTimestampMs: Date.now(), conf: this.conf,
      sources: hasData ? ends : this.committedOffsets,
    };
    const t1 = performance.now();
    const batchId = this.nextBatchId;
    this.currentBatchId = batchId;
    // The WAL write overlaps reading and computing the batch (both only read the inputs); runBatch
    // awaits it before anything reaches the sink or the state store's files.
    const walWritten = this.checkpoint.offsets.add(batchId, entry).then(() => {
      durations['walCommit'] = performance.now() - t1;
      injectFault('afterOffsetWrite', batchId);
    });
    walWritten.catch(() => undefined); // awaited in runBatch; this only keeps an early failure there from going unhandled
    try {
      await this.runBatch(batchId, entry, triggerStart, durations, walWritten);
    } catch (err) {
      // A batch that fails while computing must not leave its WAL write running past the query's end: a
      // restart would miss offsets/N, plan batch N afresh and collide with the late file.
      await walWritten.catch(() => undefined);
      throw err;
    }
    return hasData ? 'data' : 'noData';
  }

  private async runBatch(batchId: number, entry: OffsetEntry, triggerStart: number, durations: Record<string, number>,
    walWritten: Promise<void> = Promise.resolve()): Promise<void> {
    const started = performance.now();
    this.currentBatchId = batchId;
    const { settings } = this;
    const inputs: Row[][] = [];
    const sourceProgress: SourceProgress[] = [];
    const parallel = isParallelPlan(settings.plan) && settings.plan.readsOnWorkers ? settings.plan : null;
    /** The plan's input read by its worker threads instead of here, when its source can split its read. */
    let split: SplitRead | null = null;
    let t = performance.now();
    for (const [i, source] of this.sources.entries()) {
      const start = this.committedOffsets[i] ?? null;
      const end = entry.sources[i] ?? null;
      let rows: Row[] = [];
      let splits = false;
      if (end !== null && !sameOffset(start, end)) {
        // A plan on workers has one source (several streams run on one thread): the workers read it if it can split its read.
        if (i === 0 && parallel !== null && source.splitRead) {
          split = await source.splitRead(start, end, parallel.numWorkers);
          splits = true;
        } else {
          rows = await source.getBatch(start, end);
        }
      }
      inputs.push(rows);
      sourceProgress.push({
        description: source.description, startOffset: start, endOffset: end, numInputRows: rows.length,
        inputRowsPerSecond: 0, processedRowsPerSecond: 0, metrics: splits ? {} : source.metrics?.(end) ?? {},
      });
    }
    durations['getBatch'] = performance.now() - t;
    t = performance.now();
    const eventTimes: EventTimeStats[] = settings.plan.watermarks.map(() => emptyEventTimeStats());
    const ctx: ExecContext = {
      batchId, watermarkMs: entry.batchWatermarkMs, previousWatermarkMs: this.watermark.lastBatchWatermarkMs,
      batchTimestampMs: entry.batchTimestampMs, streaming: true,
      outputMode: settings.outputMode, inputs, eventTimes,
    };
    let output: Row[];
    if (isParallelPlan(settings.plan)) {
      const result = await settings.plan.run(ctx, split);
      output = result.rows;
      if (split !== null) {
        sourceProgress[0] = { ...sourceProgress[0]!, numInputRows: result.inputRows, metrics: this.sources[0]!.metrics?.(entry.sources[0] ?? null) ?? {} };
      }
    } else {
      output = settings.plan.root.execute(ctx);
    }
    durations['execution'] = performance.now() - t;
    await walWritten;
    const digest = await batchDigest(entry, this.sources, this.committedOffsets);
    // The sink and the state commit are independent until commits/N, so they overlap.
    t = performance.now();
    await Promise.all([
      settings.sink.addBatch(batchId, output, digest).then(() => { durations['addBatch'] = performance.now() - t; }),
      Promise.all(this.stateful.map((op) => op.commit())).then(() => { durations['stateCommit'] = performance.now() - t; }),
    ]);
    injectFault('afterSink', batchId);
    injectFault('midCommit', batchId, settings.storage.localRoot === undefined ? undefined
      : localPath(settings.storage, CheckpointPaths.tornCommit(batchId), 'A torn-commit fault'));
    t = performance.now();
    const advance = this.watermark.advance(eventTimes);
    this.lock!.assertHeld(); // a process that knows it lost the lock does not commit
    await this.checkpoint.commits.add(batchId, {
      nextBatchWatermarkMs: advance.nextBatchMs, operatorWatermarksMs: advance.operatorMs, sink: settings.sink.description,
    });
    durations['commitOffsets'] = performance.now() - t;
    this.lastOperatorTree = operatorTree(settings.plan.root);
    this.committedOffsets = [...entry.sources];
    this.watermark.committed(entry.batchWatermarkMs, advance);
    this.nextBatchId = batchId + 1;
    this.currentBatchId = null;
    for (const [i, source] of this.sources.entries()) {
      const end = entry.sources[i];
      if (end !== null && end !== undefined) await source.commit(end);
    }
    this.retention.afterCommit(batchId);
    // walCommit overlaps the batch (see runTrigger), so it is inside `started`..now already.
    durations['triggerExecution'] = performance.now() - started + (durations['latestOffset'] ?? 0);
    // File operations that ran out of descriptors waited instead of failing the batch: say how long.
    const descriptorWait = descriptorShortage().waitedMs - this.descriptorWaitAtTrigger;
    if (descriptorWait > 0) durations['descriptorWait'] = descriptorWait;
    this.progress!.batchCommitted({
      batchId, batchWatermarkMs: entry.batchWatermarkMs, triggerStartMs: triggerStart, durationsMs: durations,
      sources: sourceProgress, eventTimes, numOutputRows: output.length, sinkMetrics: settings.sink.metrics?.() ?? {},
      operators: operatorProgress(this.lastOperatorTree),
    });
  }

  /** Stops the sources, the sink and the state stores and releases the lock; returns what failed, each named. */
  private async release(): Promise<string[]> {
    const failures: string[] = [];
    // Each step is bounded: a server lost while stopping must not keep the query from ending (its batches are committed).
    const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await withinTime(fn, RELEASE_STEP_TIMEOUT_MS, 'a server it talks to may be unreachable');
      } catch (err) {
        failures.push(`${what}: ${errorMessage(err)}`);
      }
    };
    await attempt('finishing the retention of old batches', () => this.retention.settled());
    for (const source of this.sources) await attempt(`stopping source ${source.description}`, () => source.stop());
    await attempt(`stopping sink ${this.settings.sink.description}`, () => this.settings.sink.stop());
    for (const op of this.openedOperators) {
      await attempt(`closing the state of operator ${this.stateful.indexOf(op)} (${op.operatorName})`, () => op.close());
    }
    const { plan } = this.settings;
    if (isParallelPlan(plan)) await attempt('stopping the worker threads', () => plan.close());
    const lock = this.lock;
    this.lock = null;
    if (lock) await attempt(`releasing the lock of ${this.settings.storage.description}`, () => lock.release());
    if (this.settings.onTerminated) await attempt('cleaning up after the query', this.settings.onTerminated);
    return failures;
  }
}

/** What a takeover cost; warm only when every stateful operator opened over its warm copy. */
function takeoverReport(waitedMs: number, readyMs: number, recovery: Recovery, openings: readonly StateOpening[],
  follower: StandbyFollower | null, provider: StateStoreProvider): TakeoverReport {
  const cold = openings.find((o) => !o.warm);
  const coldReason = cold === undefined ? undefined : cold.coldReason ?? (provider.follow === undefined
    ? `the state store provider '${provider.name}' keeps no warm copy`
    : follower?.lastProblem ?? 'the standby saw no committed batch to follow before it took over');
  return {
    ms: Math.round(readyMs), warm: cold === undefined, fromBatch: lastCommittedBatch(recovery),
    stateRows: openings.reduce((n, o) => n + o.rows, 0), waitedMs,
    ...(coldReason !== undefined ? { coldReason } : {}),
  };
}

function lastCommittedBatch(recovery: Recovery): number | null {
  if (recovery.kind === 'fresh') return null;
  if (recovery.kind === 'committed') return recovery.batchId;
  return recovery.previousCommit ? recovery.batchId - 1 : null;
}

function schemaLine(input: StreamInput): string {
  return input.schema.map((f) => `${f.name} ${typeof f.type === 'string' ? f.type : f.type.kind}`).join(', ');
}

/** The stateful operators from the root down, left before right: Spark's order of `progress.stateOperators`. */
function topDown(root: PhysicalOperator, stateful: readonly StatefulOperator[]): StatefulOperator[] {
  const out: StatefulOperator[] = [];
  const visit = (op: PhysicalOperator): void => {
    const own = stateful.find((s) => s === op);
    if (own) out.push(own);
    op.children.forEach(visit);
  };
  visit(root);
  // A plan run on worker threads reports through a proxy that is not in the tree (such a plan has one stateful operator).
  for (const s of stateful) if (!out.includes(s)) out.push(s);
  return out;
}

/** The operator tree flattened in its own numbering, with the figures progress reports. */
function operatorProgress(tree: OperatorNode | null): OperatorProgress[] {
  if (tree === null) return [];
  const out: OperatorProgress[] = [];
  const visit = (node: OperatorNode): void => {
    node.children.forEach(visit);
    out.push({
      id: node.id, operator: node.name, rowsIn: node.metrics?.rowsIn ?? 0, rowsOut: node.metrics?.rowsOut ?? 0,
      timeMs: Math.round((node.metrics?.timeMs ?? 0) * 100) / 100, stateRows: node.state?.numRowsTotal ?? null,
    });
  };
  visit(tree);
  return out.sort((a, b) => a.id - b.id);
}
