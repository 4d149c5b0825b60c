import { randomUUID } from 'node:crypto';
import { Checkpoint } from '../checkpoint/checkpoint.js';
import { CommitEntry } from '../checkpoint/commit-log.js';
import { OffsetEntry } from '../checkpoint/offset-log.js';
import { PrefixedStorage } from '../checkpoint/prefixed-storage.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { CheckpointError, errorMessage, StreamingQueryException } from '../common/errors.js';
import { injectFault } from '../common/faults.js';
import { Row } from '../common/schema.js';
import { OperatorNode, operatorTree } from '../exec/explain.js';
import { emptyEventTimeStats, EventTimeStats, ExecContext } from '../exec/physical.js';
import { PhysicalPlan } from '../exec/planner.js';
import { StreamInput } from '../plan/logical.js';
import { OutputMode } from '../common/output-mode.js';
import { Sink } from '../sinks/sink.js';
import { Offset, sameOffset, Source } from '../sources/source.js';
import { StateStoreProvider } from '../state/state-store.js';
import { ListenerBus, SourceProgress, StreamingQueryProgress } from './progress.js';
import { ResolvedTrigger } from './trigger.js';

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
  readonly listeners: ListenerBus;
  readonly recentProgressSize: number;
  /** Called after the query ended and released everything (e.g. to delete a temporary checkpoint). */
  readonly onTerminated?: () => Promise<void>;
}

interface Waiter { readonly requestedAtRound: number; resolve(): void; reject(err: unknown): void }

/**
 * The micro-batch loop of DESIGN §2: recover, plan, write ahead, execute, sink, commit, clean up.
 * Everything a batch does is derived from its offsets entry, so a batch re-run after a crash has
 * the same input, watermark and timestamp, and starts from the state the previous batch committed.
 */
export class MicroBatchExecution {
  readonly runId = randomUUID();
  id = '';
  readonly recentProgress: StreamingQueryProgress[] = [];
  exception: StreamingQueryException | null = null;
  active = false;
  /** The physical operators with the metrics of the last committed batch (null before one). */
  lastOperatorTree: OperatorNode | null = null;

  private readonly checkpoint: Checkpoint;
  private readonly sources: Source[] = [];
  private readonly stateful;
  private committedOffsets: (Offset | null)[] = [];
  private nextBatchId = 0;
  private watermarkMs = 0;
  private operatorWatermarksMs: number[] = [];
  private lastBatchWatermarkMs = 0;
  private pendingRerun: { batchId: number; entry: OffsetEntry } | null = null;
  private stopRequested = false;
  private wake: (() => void) | null = null;
  private planningRound = 0;
  private waiters: Waiter[] = [];
  private idleReported = false;
  private lastTriggerStartMs = 0;
  private loopDone!: Promise<void>;
  private terminationWaiters: { resolve(): void; reject(err: unknown): void }[] = [];
  private releaseLock: (() => Promise<void>) | null = null;

  constructor(private readonly settings: EngineSettings) {
    this.checkpoint = new Checkpoint(settings.storage);
    this.stateful = settings.plan.stateful;
  }

  /** Recovers from the checkpoint and starts the loop; fails (without running anything) on a bad checkpoint. */
  async start(): Promise<void> {
    const { settings } = this;
    const leaves = settings.plan.leaves as StreamInput[];
    const meta = await this.checkpoint.openMetadata(leaves.map((l) => `${l.description} [${schemaLine(l)}]`),
      settings.statefulFingerprint);
    this.id = meta.id;
    const lock = await settings.storage.lock({ queryId: this.id, runId: this.runId });
    this.releaseLock = () => lock.release();
    try {
      await this.recover();
      for (const [i, leaf] of leaves.entries()) {
        const source = leaf.create();
        this.sources.push(source);
        await source.open({
          storage: new PrefixedStorage(settings.storage, `sources/${i}`), queryId: this.id,
          notifyDataAvailable: () => this.wakeUp(),
        });
      }
      await settings.sink.open({
        queryId: this.id, queryName: settings.name, schema: settings.plan.schema, outputMode: settings.outputMode,
        keyColumns: settings.keyColumns,
      });
      const stateVersion = this.pendingRerun ? this.pendingRerun.batchId - 1 : this.nextBatchId - 1;
      await Promise.all(this.stateful.map((op, i) => op.open({
        storage: new PrefixedStorage(settings.storage, `state/${i}`), provider: settings.stateStoreProvider,
        numPartitions: this.numStatePartitions(), version: stateVersion, snapshotInterval: settings.stateSnapshotInterval,
      })));
      if (settings.trigger.kind === 'availableNow') {
        for (const source of this.sources) await source.prepareForTriggerAvailableNow?.();
      }
    } catch (err) {
      await this.release();
      throw err;
    }
    this.active = true;
    settings.listeners.post('onQueryStarted', { id: this.id, runId: this.runId, name: settings.name, timestamp: new Date().toISOString() });
    this.loopDone = this.runLoop();
  }

  private conf: Record<string, string | number> = {};

  private numStatePartitions(): number {
    return Number(this.conf['numStatePartitions'] ?? this.settings.numStatePartitions);
  }

  private async recover(): Promise<void> {
    const recovery = await this.checkpoint.recover();
    const leaves = this.settings.plan.leaves.length;
    const watermarks = this.settings.plan.watermarks.length;
    this.committedOffsets = new Array<Offset | null>(leaves).fill(null);
    this.operatorWatermarksMs = new Array<number>(watermarks).fill(0);
    this.conf = {
      numStatePartitions: this.settings.numStatePartitions,
      multipleWatermarkPolicy: this.settings.multipleWatermarkPolicy,
    };
    const restore = (commit: CommitEntry | null): void => {
      if (commit && commit.operatorWatermarksMs.length === watermarks) this.operatorWatermarksMs = [...commit.operatorWatermarksMs];
    };
    switch (recovery.kind) {
      case 'fresh': return;
      case 'committed':
        this.checkSourceCount(recovery.offsets, recovery.batchId);
        this.conf = { ...recovery.offsets.conf };
        this.committedOffsets = [...recovery.offsets.sources];
        this.nextBatchId = recovery.batchId + 1;
        this.watermarkMs = recovery.commit.nextBatchWatermarkMs;
        this.lastBatchWatermarkMs = recovery.offsets.batchWatermarkMs;
        restore(recovery.commit);
        return;
      case 'rerun':
        this.checkSourceCount(recovery.offsets, recovery.batchId);
        // Settings that shape state come from the log, not from this run's options.
        this.conf = { ...recovery.offsets.conf };
        if (recovery.previousOffsets) this.committedOffsets = [...recovery.previousOffsets.sources];
        this.nextBatchId = recovery.batchId;
        this.watermarkMs = recovery.offsets.batchWatermarkMs;
        this.lastBatchWatermarkMs = recovery.previousOffsets?.batchWatermarkMs ?? 0;
        restore(recovery.previousCommit);
        this.pendingRerun = { batchId: recovery.batchId, entry: recovery.offsets };
    }
  }

  private checkSourceCount(entry: OffsetEntry, batchId: number): void {
    if (entry.sources.length !== this.settings.plan.leaves.length) {
      const where = this.checkpoint.offsets.locate(batchId);
      throw new CheckpointError('CHECKPOINT_MISMATCH', where, `${where} has offsets for ${entry.sources.length} ` +
        `source(s) but the query reads ${this.settings.plan.leaves.length}. Use a new checkpointLocation for this query.`);
    }
  }

  /** Resolves once everything available now has been processed and committed (see DESIGN §5). */
  processAllAvailable(): Promise<void> {
    if (!this.active) return this.exception ? Promise.reject(this.exception) : Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ requestedAtRound: this.planningRound, resolve, reject });
      this.wakeUp();
    });
  }

  awaitTermination(): Promise<void> {
    if (!this.active) return this.exception ? Promise.reject(this.exception) : Promise.resolve();
    return new Promise((resolve, reject) => this.terminationWaiters.push({ resolve, reject }));
  }

  /** Stops after the batch in flight finishes (a batch is never cut in half), then releases everything. */
  async stop(): Promise<void> {
    if (!this.active) return;
    this.stopRequested = true;
    this.wakeUp();
    await this.loopDone;
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
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
        `Query ${this.settings.name ?? ''} [id = ${this.id}, runId = ${this.runId}] terminated with an error in batch ` +
          `${batchId ?? '(planning)'}: ${errorMessage(err)}. Fix the cause and restart the query: it resumes from ` +
          'the checkpoint.', batchId, err);
    }
    this.exception = failure;
    await this.release().catch(() => undefined);
    this.active = false;
    for (const w of this.waiters) failure ? w.reject(failure) : w.resolve();
    this.waiters = [];
    this.settings.listeners.post('onQueryTerminated', { id: this.id, runId: this.runId, exception: failure?.message ?? null });
    for (const w of this.terminationWaiters) failure ? w.reject(failure) : w.resolve();
    this.terminationWaiters = [];
  }

  private currentBatchId: number | null = null;

  private async loop(): Promise<void> {
    const { trigger } = this.settings;
    while (!this.stopRequested) {
      const triggerStart = Date.now();
      const round = ++this.planningRound;
      const ran = await this.runTrigger(triggerStart);
      if (trigger.kind === 'once' && ran !== 'none') return;
      if (ran === 'none') {
        this.resolveWaiters(round);
        if (trigger.kind !== 'processingTime') return;
        if (!this.idleReported) {
          this.idleReported = true;
          this.settings.listeners.post('onQueryIdle', { id: this.id, runId: this.runId, timestamp: new Date().toISOString() });
        }
      } else {
        this.idleReported = false;
      }
      if (this.stopRequested) return;
      const interval = trigger.kind === 'processingTime' ? trigger.intervalMs : 0;
      const waitMs = interval > 0 ? triggerStart + interval - Date.now() : ran === 'none' ? this.settings.idlePollMs : 0;
      if (waitMs > 0 && !(interval > 0 && this.waiters.length > 0 && ran === 'none')) await this.sleep(waitMs);
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private resolveWaiters(round: number): void {
    const done = this.waiters.filter((w) => w.requestedAtRound < round);
    this.waiters = this.waiters.filter((w) => w.requestedAtRound >= round);
    for (const w of done) w.resolve();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = () => { clearTimeout(timer); resolve(); };
    });
  }

  /** Plans and runs at most one batch. */
  private async runTrigger(triggerStart: number): Promise<'data' | 'noData' | 'none'> {
    if (this.purgeFailure !== null) throw this.purgeFailure;
    const durations: Record<string, number> = {};
    if (this.pendingRerun) {
      const { batchId, entry } = this.pendingRerun;
      this.pendingRerun = null;
      await this.runBatch(batchId, entry, triggerStart, durations);
      return 'data';
    }
    const t0 = performance.now();
    const ends: (Offset | null)[] = [];
    for (const [i, source] of this.sources.entries()) ends.push(await source.latestOffset(this.committedOffsets[i] ?? null));
    durations['latestOffset'] = performance.now() - t0;
    const hasData = ends.some((end, i) => end !== null && !sameOffset(end, this.committedOffsets[i] ?? null));
    const noDataDue = !hasData && this.settings.trigger.kind !== 'once' && this.watermarkMs > this.lastBatchWatermarkMs &&
      this.stateful.some((op) => op.evictsByWatermark(this.settings.outputMode));
    if (!hasData && !noDataDue) return 'none';
    const entry: OffsetEntry = {
      batchWatermarkMs: this.watermarkMs, batchTimestampMs: Date.now(), conf: this.conf,
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
    let t = performance.now();
    for (const [i, source] of this.sources.entries()) {
      const start = this.committedOffsets[i] ?? null;
      const end = entry.sources[i] ?? null;
      const rows = end === null || sameOffset(start, end) ? [] : await source.getBatch(start, end);
      inputs.push(rows);
      sourceProgress.push({
        description: source.description, startOffset: start, endOffset: end, numInputRows: rows.length,
        inputRowsPerSecond: 0, processedRowsPerSecond: 0, metrics: source.metrics?.(end) ?? {},
      });
    }
    durations['getBatch'] = performance.now() - t;
    t = performance.now();
    const eventTimes: EventTimeStats[] = settings.plan.watermarks.map(() => emptyEventTimeStats());
    const ctx: ExecContext = {
      batchId, watermarkMs: entry.batchWatermarkMs, batchTimestampMs: entry.batchTimestampMs, streaming: true,
      outputMode: settings.outputMode, inputs, eventTimes,
    };
    const output = settings.plan.root.execute(ctx);
    durations['execution'] = performance.now() - t;
    await walWritten;
    // The sink and the state commit are independent until commits/N, so they overlap.
    t = performance.now();
    await Promise.all([
      settings.sink.addBatch(batchId, output).then(() => { durations['addBatch'] = performance.now() - t; }),
      Promise.all(this.stateful.map((op) => op.commit())).then(() => { durations['stateCommit'] = performance.now() - t; }),
    ]);
    injectFault('afterSink', batchId);
    injectFault('midCommit', batchId, settings.storage.locate(`commits/.${batchId}.torn.tmp`));
    t = performance.now();
    const nextWatermark = this.advanceWatermark(eventTimes);
    await this.checkpoint.commits.add(batchId, {
      nextBatchWatermarkMs: nextWatermark, operatorWatermarksMs: this.operatorWatermarksMs, sink: settings.sink.description,
    });
    durations['commitOffsets'] = performance.now() - t;
    this.lastOperatorTree = operatorTree(settings.plan.root);
    this.committedOffsets = [...entry.sources];
    this.lastBatchWatermarkMs = entry.batchWatermarkMs;
    this.watermarkMs = nextWatermark;
    this.nextBatchId = batchId + 1;
    this.currentBatchId = null;
    await this.cleanUp(batchId, entry);
    // walCommit overlaps the batch (see runTrigger), so it is inside `started`..now already.
    const triggerMs = performance.now() - started + (durations['latestOffset'] ?? 0);
    durations['triggerExecution'] = triggerMs;
    this.reportProgress(batchId, entry, triggerStart, durations, sourceProgress, eventTimes, output.length);
  }

  /** Each watermark node moves to max(previous, max event time − delay); the global one never goes back. */
  private advanceWatermark(eventTimes: readonly EventTimeStats[]): number {
    const { watermarks } = this.settings.plan;
    if (watermarks.length === 0) return this.watermarkMs;
    this.operatorWatermarksMs = this.operatorWatermarksMs.map((previous, i) => {
      const stats = eventTimes[i]!;
      return stats.count === 0 ? previous : Math.max(previous, stats.max - watermarks[i]!.delayMs);
    });
    const policy = this.conf['multipleWatermarkPolicy'] === 'max' ? Math.max : Math.min;
    return Math.max(this.watermarkMs, policy(...this.operatorWatermarksMs));
  }

  private async cleanUp(batchId: number, entry: OffsetEntry): Promise<void> {
    for (const [i, source] of this.sources.entries()) {
      const end = entry.sources[i];
      if (end !== null && end !== undefined) await source.commit(end);
    }
    const retain = this.settings.minBatchesToRetain;
    const oldest = batchId - retain + 1;
    // Purging every batch costs a listing; every tenth keeps the logs bounded just as well. It runs off
    // the batch path (it waits for a state snapshot in progress, which made every tenth batch slow):
    // it only deletes entries older than any re-run needs, and a failure stops the query at its next batch.
    if (oldest > 0 && batchId % 10 === 0) {
      this.purging = this.purging.then(async () => {
        await this.checkpoint.offsets.purgeBefore(oldest);
        await this.checkpoint.commits.purgeBefore(oldest);
        await Promise.all(this.stateful.map((op) => op.purgeBefore(oldest)));
      }).catch((err: unknown) => { this.purgeFailure ??= err; });
    }
  }

  private purging: Promise<void> = Promise.resolve();
  private purgeFailure: unknown = null;

  private reportProgress(batchId: number, entry: OffsetEntry, triggerStart: number, durations: Record<string, number>,
    sources: SourceProgress[], eventTimes: readonly EventTimeStats[], numOutputRows: number): void {
    const numInputRows = sources.reduce((n, s) => n + s.numInputRows, 0);
    const sinceLast = this.lastTriggerStartMs > 0 ? (triggerStart - this.lastTriggerStartMs) / 1000 : 0;
    this.lastTriggerStartMs = triggerStart;
    const seconds = (durations['triggerExecution'] ?? 0) / 1000;
    const rate = (rows: number, s: number): number => (s > 0 ? Math.round((rows / s) * 10) / 10 : 0);
    const eventTime: Record<string, string> = {};
    if (this.settings.plan.watermarks.length > 0) {
      eventTime['watermark'] = new Date(entry.batchWatermarkMs).toISOString();
      const all = eventTimes.filter((s) => s.count > 0);
      if (all.length > 0) {
        const count = all.reduce((n, s) => n + s.count, 0);
        eventTime['min'] = new Date(Math.min(...all.map((s) => s.min))).toISOString();
        eventTime['max'] = new Date(Math.max(...all.map((s) => s.max))).toISOString();
        eventTime['avg'] = new Date(Math.round(all.reduce((n, s) => n + s.sum, 0) / count)).toISOString();
      }
    }
    const progress: StreamingQueryProgress = {
      id: this.id, runId: this.runId, name: this.settings.name, timestamp: new Date(triggerStart).toISOString(), batchId,
      numInputRows, inputRowsPerSecond: rate(numInputRows, sinceLast), processedRowsPerSecond: rate(numInputRows, seconds),
      durationMs: Object.fromEntries(Object.entries(durations).map(([k, v]) => [k, Math.round(v)])),
      eventTime, stateOperators: this.stateful.map((op) => op.progress()),
      sources: sources.map((s) => ({
        ...s, inputRowsPerSecond: rate(s.numInputRows, sinceLast), processedRowsPerSecond: rate(s.numInputRows, seconds),
      })),
      sink: { description: this.settings.sink.description, numOutputRows },
    };
    this.recentProgress.push(progress);
    if (this.recentProgress.length > this.settings.recentProgressSize) this.recentProgress.shift();
    this.settings.listeners.post('onQueryProgress', { progress });
  }

  private async release(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<void>): Promise<void> => {
      try { await fn(); } catch (err) { errors.push(err); }
    };
    await this.purging;
    for (const source of this.sources) await attempt(() => source.stop());
    await attempt(() => this.settings.sink.stop());
    for (const op of this.stateful) await attempt(async () => { try { await op.close(); } catch { /* never opened */ } });
    if (this.releaseLock) await attempt(this.releaseLock);
    this.releaseLock = null;
    if (this.settings.onTerminated) await attempt(this.settings.onTerminated);
  }
}

function schemaLine(input: StreamInput): string {
  return input.schema.map((f) => `${f.name} ${typeof f.type === 'string' ? f.type : f.type.kind}`).join(', ');
}
