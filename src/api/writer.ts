import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystemStorage } from '../checkpoint/fs-storage.js';
import { AnalysisError } from '../common/errors.js';
import { Options, OptionValue } from '../common/options.js';
import { loadStaticJoinSides } from '../engine/batch-execution.js';
import { MicroBatchExecution } from '../engine/micro-batch.js';
import { ListenerBus } from '../engine/progress.js';
import { resolveTrigger, Trigger } from '../engine/trigger.js';
import { planPhysical } from '../exec/planner.js';
import { nameOf } from '../plan/analyzer.js';
import { isStreaming, LogicalPlan, postOrder } from '../plan/logical.js';
import { checkStreamingPlan, resultKeyColumns } from '../plan/streaming-rules.js';
import { ForeachBatchFunction, foreachBatchSink } from '../connectors/foreach-batch/sink.js';
import { MemoryTable } from '../connectors/memory/sink.js';
import { createSink } from '../sinks/registry.js';
import { OutputMode } from '../common/output-mode.js';
import { Sink } from '../sinks/sink.js';
import { inMemoryStateProvider } from '../state/memory-provider.js';
import type { DataFrame } from './dataframe.js';
import { StreamingQuery } from './query.js';

/** What the writer needs from its session. */
export interface WriterSession {
  readonly listeners: ListenerBus;
  memoryTable(name: string): MemoryTable;
  register(query: StreamingQuery): void;
}

const OUTPUT_MODES: readonly OutputMode[] = ['append', 'update', 'complete'];

/** `df.writeStream`: where and how a streaming query writes (Spark's `DataStreamWriter`). */
export class DataStreamWriter {
  private sinkFormat = 'console';
  private mode: OutputMode = 'append';
  private readonly optionValues = new Map<string, string>();
  private triggerSpec: Trigger | undefined;
  private name: string | null = null;
  private batchFunction: ForeachBatchFunction | null = null;

  constructor(private readonly df: DataFrame, private readonly session: WriterSession) {}

  format(format: string): this {
    this.sinkFormat = format;
    return this;
  }

  outputMode(mode: OutputMode | string): this {
    const m = OUTPUT_MODES.find((o) => o === mode.toLowerCase());
    if (!m) throw new AnalysisError(`Unknown output mode '${mode}': use append, update or complete.`, 'INVALID_OUTPUT_MODE');
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

  /** Checks the query, recovers from its checkpoint and starts it. */
  async start(path?: string): Promise<StreamingQuery> {
    const plan = await loadStaticJoinSides(this.df.plan);
    const options = new Options(this.optionValues, `${this.sinkFormat} sink`);
    const sink = this.createSink(path, options);
    checkStreamingPlan(plan, this.mode);
    if (!sink.supportedModes.includes(this.mode)) {
      throw new AnalysisError(`The ${sink.description} sink does not support output mode '${this.mode}'; it supports ` +
        `${sink.supportedModes.join(', ')}.`, 'UNSUPPORTED_OUTPUT_MODE');
    }
    const location = options.string('checkpointLocation');
    let temporary: string | null = null;
    if (!location && !this.batchFunction && !['memory', 'console'].includes(this.sinkFormat)) {
      throw new AnalysisError(`The ${this.sinkFormat} sink needs option 'checkpointLocation' (a folder for the ` +
        "query's offsets, commits and state): .option('checkpointLocation', 'checkpoints/my-query').", 'MISSING_OPTION');
    }
    if (!location) temporary = await mkdtemp(join(tmpdir(), 'weir-checkpoint-'));
    const policy = options.oneOf('multipleWatermarkPolicy', ['min', 'max'] as const, 'min');
    const physical = planPhysical(plan);
    const execution = new MicroBatchExecution({
      name: this.name, storage: new FileSystemStorage(location ?? temporary!), plan: physical,
      statefulFingerprint: statefulFingerprint(plan), outputMode: this.mode, sink, keyColumns: resultKeyColumns(plan),
      trigger: resolveTrigger(this.triggerSpec),
      minBatchesToRetain: options.integer('minBatchesToRetain', 100, 1),
      numStatePartitions: options.integer('numStatePartitions', 4, 1),
      stateSnapshotInterval: options.integer('stateSnapshotInterval', 10, 1),
      stateStoreProvider: inMemoryStateProvider, multipleWatermarkPolicy: policy,
      idlePollMs: options.integer('pollIntervalMs', 10, 1),
      listeners: this.session.listeners, recentProgressSize: 100,
      onTerminated: temporary ? () => rm(temporary!, { recursive: true, force: true }) : undefined,
    });
    try {
      await execution.start();
    } catch (err) {
      if (temporary) await rm(temporary, { recursive: true, force: true });
      throw err;
    }
    const query = new StreamingQuery(execution, plan, physical.root, this.name);
    this.session.register(query);
    return query;
  }

  private createSink(path: string | undefined, options: Options): Sink {
    if (this.batchFunction) return foreachBatchSink(this.batchFunction);
    if (this.sinkFormat === 'memory') {
      if (!this.name) {
        throw new AnalysisError("The memory sink needs a query name: .queryName('counts'); read the rows with " +
          "weir.memorySink('counts').rows.", 'MISSING_OPTION');
      }
      return this.session.memoryTable(this.name).createSink();
    }
    return createSink({ format: this.sinkFormat, options, path: path ?? options.string('path') ?? null });
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
