import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpointStorage } from '../checkpoint/registry.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { AnalysisError } from '../common/errors.js';
import { Options, OptionValue } from '../common/options.js';
import { loadStaticJoinSides } from '../engine/batch-execution.js';
import { MicroBatchExecution } from '../engine/micro-batch.js';
import { ListenerBus } from '../engine/progress.js';
import { resolveTrigger, Trigger } from '../engine/trigger.js';
import { planPhysical } from '../exec/planner.js';
import { planForWorkers } from '../exec/parallel/parallel-plan.js';
import { nameOf } from '../plan/analyzer.js';
import { isStreaming, LogicalPlan, postOrder } from '../plan/logical.js';
import { checkStreamingPlan, resultKeyColumns } from '../plan/streaming-rules.js';
import { ForeachBatchFunction, foreachBatchSink } from '../connectors/foreach-batch/sink.js';
import { MemoryTable } from '../connectors/memory/sink.js';
import { createSink } from '../sinks/registry.js';
import { OutputMode } from '../common/output-mode.js';
import { Sink } from '../sinks/sink.js';
import { stateStoreProviderNamed } from '../state/registry.js';
import { StateStoreProvider } from '../state/state-store.js';
import { unknownNameError } from '../common/nearest-name.js';
import type { DataFrame } from './dataframe.js';
import { RunSetup } from '../monitoring/session-monitor.js';
import { StreamingQuery } from './query.js';

/** What the writer needs from its session. */
export interface WriterSession {
  readonly listeners: ListenerBus;
  memoryTable(name: string): MemoryTable;
  /**
   * Before the query starts: the monitor learns the run's checkpoint (null when temporary) and trigger
   * interval; the returned function forgets them when the start fails.
   */
  prepareRun(setup: RunSetup): () => void;
  register(query: StreamingQuery): void;
}

const OUTPUT_MODES: readonly OutputMode[] = ['append', 'update', 'complete'];

/** The writer's own options (Spark's query-level settings); every sink accepts them too. */
const QUERY_OPTIONS = [
  'checkpointLocation', 'minBatchesToRetain', 'numStatePartitions', 'stateSnapshotInterval', 'multipleWatermarkPolicy',
  'pollIntervalMs', 'stateStoreProvider', 'stateStore', 'standby', 'leaseTimeoutMs', 'numWorkers',
] as const;

/** More threads than this is a typo, not a machine. */
const MAX_WORKERS = 256;
/**
 * One thread unless asked: on this project's 2-core machine the worker threads measured slower than one
 * thread for W2 and W3 (`npm run bench -- --only WORKERS`, README *Worker threads*), because every
 * source still yields its rows on the main thread. `availableParallelism()` once sources hand workers
 * their input to read.
 */
const DEFAULT_NUM_WORKERS = 1;

/** Sinks the writer makes itself, without the registry. */
const SESSION_SINKS = ['memory'] as const;

/** `df.writeStream`: where and how a streaming query writes (Spark's `DataStreamWriter`). */
export class DataStreamWriter {
  /** A registered format's name, or a sink object to write to. */
  private sinkFormat: string | Sink = 'console';
  private mode: OutputMode = 'append';
  private readonly optionValues = new Map<string, string>();
  private triggerSpec: Trigger | undefined;
  private name: string | null = null;
  private batchFunction: ForeachBatchFunction | null = null;
  private storageInstance: CheckpointStorage | null = null;
  private providerInstance: StateStoreProvider | null = null;

  constructor(private readonly df: DataFrame, private readonly session: WriterSession) {}

  /**
   * A sink format (`json`, `console`, … or one registered with `Weir.registerSink`), or a sink object.
   * An object takes no options of its own (the writer's apply) and serves each query started from this
   * writer; it must skip batch ids it already committed for the query to be exactly-once.
   */
  format(format: string | Sink): this {
    this.sinkFormat = format;
    return this;
  }

  /** `append` (default), `update` or `complete`; checked at runtime too, for callers without types. */
  outputMode(mode: OutputMode): this {
    const given: string = mode;
    const m = OUTPUT_MODES.find((o) => o === given.toLowerCase());
    if (!m) throw unknownNameError({ what: 'output mode', given, known: OUTPUT_MODES, code: 'INVALID_OUTPUT_MODE' });
    this.mode = m;
    return this;
  }

  option(name: string, value: OptionValue): this {
    this.optionValues.set(name, String(value));
    return this;
  }

  options(values: Record<string, OptionValue>): this {
    for (const [k, v] of Object.entries(values)) this.option(k, v);
    return this;
  }

  trigger(trigger: Trigger): this {
    resolveTrigger(trigger);
    this.triggerSpec = trigger;
    return this;
  }

  queryName(name: string): this {
    this.name = name;
    return this;
  }

  foreachBatch(fn: ForeachBatchFunction): this {
    this.batchFunction = fn;
    return this;
  }

  /**
   * Keeps the query's checkpoint in `storage` instead of the one `checkpointLocation` names (a local
   * folder, or a URL whose scheme has a storage registered with `Weir.registerCheckpointStorage`).
   */
  checkpointStorage(storage: CheckpointStorage): this {
    this.storageInstance = storage;
    return this;
  }

  /**
   * Keeps the query's operator state with `provider` (default: the in-memory provider, `'memory'`);
   * a registered provider may also be chosen by name with `option('stateStoreProvider', name)`.
   */
  stateStore(provider: StateStoreProvider): this {
    this.providerInstance = provider;
    return this;
  }

  /** Checks the query, recovers from its checkpoint and starts it. */
  async start(path?: string): Promise<StreamingQuery> {
    const options = new Options(this.optionValues, `${this.batchFunction ? 'foreachBatch' : this.sinkName} sink`);
    const sink = this.createSink(path, options);
    const durable = this.checkpoint(options);
    const stateStoreProvider = this.stateStoreProvider(options);
    const plan = await loadStaticJoinSides(this.df.plan);
    checkStreamingPlan(plan, this.mode);
    if (!sink.supportedModes.includes(this.mode)) {
      throw new AnalysisError(`The ${sink.description} sink does not support output mode '${this.mode}'; it supports ` +
        `${sink.supportedModes.join(', ')}.`, 'UNSUPPORTED_OUTPUT_MODE');
    }
    const temporary = durable ? null : await mkdtemp(join(tmpdir(), 'weir-checkpoint-'));
    const policy = options.oneOf('multipleWatermarkPolicy', ['min', 'max'] as const, 'min');
    const storage = durable ?? openCheckpointStorage(temporary!);
    const trigger = resolveTrigger(this.triggerSpec);
    const physical = planPhysical(plan);
    const numWorkers = options.integer('numWorkers', DEFAULT_NUM_WORKERS, 1);
    if (numWorkers > MAX_WORKERS) {
      throw new AnalysisError(`Option 'numWorkers' of the ${this.batchFunction ? 'foreachBatch' : this.sinkName} sink is ` +
        `${numWorkers}; at most ${MAX_WORKERS} worker threads are allowed (this machine has ${availableParallelism()} cores).`,
      'INVALID_OPTION');
    }
    const workers = planForWorkers(plan, physical, numWorkers, stateStoreProvider, this.name ?? storage.description);
    const execution = new MicroBatchExecution({
      name: this.name, storage, plan: workers.plan,
      statefulFingerprint: statefulFingerprint(plan), outputMode: this.mode, sink, keyColumns: resultKeyColumns(plan),
      trigger,
      minBatchesToRetain: options.integer('minBatchesToRetain', 100, 1),
      numStatePartitions: options.integer('numStatePartitions', 4, 1),
      stateSnapshotInterval: options.integer('stateSnapshotInterval', 10, 1),
      stateStoreProvider, multipleWatermarkPolicy: policy,
      idlePollMs: options.integer('pollIntervalMs', 10, 1),
      lockOptions: { standby: options.boolean('standby', false), leaseTimeoutMs: options.integer('leaseTimeoutMs', 10_000, 100) },
      listeners: this.session.listeners, recentProgressSize: 100,
      onTerminated: temporary ? () => rm(temporary!, { recursive: true, force: true }) : undefined,
    });
    const forgetRun = this.session.prepareRun({
      runId: execution.runId, storage: temporary ? null : storage,
      triggerIntervalMs: trigger.kind === 'processingTime' ? trigger.intervalMs : 0,
    });
    try {
      await execution.start();
    } catch (err) {
      forgetRun();
      if (temporary) await rm(temporary, { recursive: true, force: true });
      throw err;
    }
    const query = new StreamingQuery(execution, plan, workers.plan.root, this.name, workers.execution);
    this.session.register(query);
    return query;
  }

  private get sinkName(): string {
    return typeof this.sinkFormat === 'string' ? this.sinkFormat : this.sinkFormat.description;
  }

  /** The checkpoint's storage; null when the sink may run on a temporary checkpoint (memory, console, foreachBatch). */
  private checkpoint(options: Options): CheckpointStorage | null {
    const location = options.string('checkpointLocation');
    if (this.storageInstance && location !== undefined) {
      throw new AnalysisError(`Both option 'checkpointLocation' ('${location}') and checkpointStorage(...) are set: keep one.`,
        'CONFLICTING_OPTIONS');
    }
    if (this.storageInstance) return this.storageInstance;
    if (location) return openCheckpointStorage(location);
    if (this.batchFunction || this.sinkFormat === 'memory' || this.sinkFormat === 'console') return null;
    throw new AnalysisError(`The ${this.sinkName} sink needs option 'checkpointLocation' (a folder for the ` +
      "query's offsets, commits and state): .option('checkpointLocation', 'checkpoints/my-query').", 'MISSING_OPTION');
  }

  private stateStoreProvider(options: Options): StateStoreProvider {
    // 'stateStore' is a shorter spelling of the same option.
    const [long, short] = [options.string('stateStoreProvider'), options.string('stateStore')];
    if (long !== undefined && short !== undefined && long !== short) {
      throw new AnalysisError(`Options 'stateStoreProvider' ('${long}') and 'stateStore' ('${short}') name the same setting ` +
        'with different values: keep one.', 'CONFLICTING_OPTIONS');
    }
    const name = long ?? short;
    if (this.providerInstance && name !== undefined) {
      throw new AnalysisError(`Both option 'stateStoreProvider' ('${name}') and stateStore(...) are set: keep one.`,
        'CONFLICTING_OPTIONS');
    }
    return this.providerInstance ?? stateStoreProviderNamed(name ?? 'memory');
  }

  private createSink(path: string | undefined, options: Options): Sink {
    // These sinks read no options of their own: only the check of the names matters.
    if (this.batchFunction || typeof this.sinkFormat !== 'string' || this.sinkFormat === 'memory') {
      options.declare(['path', ...QUERY_OPTIONS]);
    }
    if (this.batchFunction) return foreachBatchSink(this.batchFunction);
    if (typeof this.sinkFormat !== 'string') return this.sinkFormat;
    if (this.sinkFormat === 'memory') {
      if (!this.name) {
        throw new AnalysisError("The memory sink needs a query name: .queryName('counts'); read the rows with " +
          "weir.memorySink('counts').rows.", 'MISSING_OPTION');
      }
      return this.session.memoryTable(this.name).createSink();
    }
    return createSink({ format: this.sinkFormat, options, path: path ?? options.string('path') ?? null }, QUERY_OPTIONS,
      SESSION_SINKS);
  }
}

/** What the checkpoint's state belongs to: each stateful operator with its keys and aggregates. */
function statefulFingerprint(plan: LogicalPlan): string[] {
  return postOrder(plan).flatMap((node) => {
    if (node.kind === 'aggregate') return [`aggregate(keys: ${node.groups.map(nameOf).join(', ')}; aggregates: ${node.aggs.map(nameOf).join(', ')})`];
    if (node.kind === 'dedup') return [`${node.withinWatermark ? 'dedupWithinWatermark' : 'dedup'}(${(node.keys ?? ['*']).join(', ')})`];
    if (node.kind === 'join' && isStreaming(node.left) && isStreaming(node.right)) {
      return [`join(${node.joinType}; ${'using' in node.on ? node.on.using.join(', ') : nameOf(node.on.condition)})`];
    }
    return [];
  });
}
