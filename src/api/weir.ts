import { SchemaLike, toSchema, Row } from '../common/schema.js';
import { ListenerBus, StreamingQueryListener } from '../engine/progress.js';
import { MonitoringOptions, SessionMonitoring } from '../monitoring/monitoring.js';
import { QueryHealthReport } from '../monitoring/session-monitor.js';
import { WeirLogger } from '../monitoring/logger.js';
import { MemoryTable } from '../connectors/memory/sink.js';
import { MemoryStream } from '../connectors/memory/source.js';
import '../connectors/builtin.js';
import { DataFrame, WriterFactory } from './dataframe.js';
import { StreamingQuery } from './query.js';
import { DataFrameReader, DataStreamReader } from './reader.js';
import { DataStreamWriter, WriterSession } from './writer.js';

/** A memory stream with a DataFrame over it: `addData(rows)` in tests, `toDF()` to query it. */
export class MemoryStreamInput<T extends Row = Row> {
  constructor(private readonly stream: MemoryStream, private readonly writerFactory: WriterFactory) {}

  addData(rows: readonly T[]): number {
    return this.stream.addData(rows);
  }

  toDF(): DataFrame<T> {
    return new DataFrame<T>({
      kind: 'stream',
      // The description is part of the checkpoint's fingerprint, so it must not depend on creation order:
      // a query restarted with a new memory stream (new session or process) on its checkpoint is the same query.
      input: { description: 'MemoryStream', schema: this.stream.schema, create: () => this.stream.createSource() },
    }, this.writerFactory);
  }
}

/** Active queries and listeners of a session (Spark's `StreamingQueryManager`). */
export class StreamingQueryManager {
  private readonly queries = new Set<StreamingQuery>();

  constructor(readonly listeners: ListenerBus, private readonly monitoring: SessionMonitoring) {}

  get active(): StreamingQuery[] {
    return [...this.queries].filter((q) => q.isActive);
  }

  /** The query with this id (stable across restarts) started in this session, or null. */
  get(id: string): StreamingQuery | null {
    return [...this.queries].reverse().find((q) => q.id === id) ?? null;
  }

  /** Resolves when any active query of this session stops; rejects with its exception if it failed. */
  async awaitAnyTermination(): Promise<void> {
    const active = this.active;
    if (active.length === 0) return;
    await Promise.race(active.map((q) => q.awaitTermination()));
  }

  /**
   * Each query's health with the reasons: healthy, idle, stalled, falling-behind, watermark-stuck,
   * failed or stopped (thresholds: `new Weir({ health })`). Listeners hear changes as `onQueryStatus`.
   */
  health(): QueryHealthReport[] {
    return this.monitoring.health();
  }

  addListener(listener: StreamingQueryListener): void {
    this.listeners.add(listener);
  }

  removeListener(listener: StreamingQueryListener): void {
    this.listeners.remove(listener);
  }

  register(query: StreamingQuery): void {
    for (const q of this.queries) if (!q.isActive) this.queries.delete(q);
    this.queries.add(query);
    this.monitoring.register(query);
  }
}

/** The session's options: monitoring (web UI, logs, health thresholds). */
export type WeirOptions = MonitoringOptions;

/** The entry point: readers, memory streams and sinks, the query manager, and monitoring. */
export class Weir {
  readonly streams: StreamingQueryManager;
  private readonly memoryTables = new Map<string, MemoryTable>();
  private readonly writerFactory: WriterFactory;
  private readonly monitoring: SessionMonitoring;

  constructor(options: WeirOptions = {}) {
    const listeners = new ListenerBus();
    this.monitoring = new SessionMonitoring(listeners, options);
    this.streams = new StreamingQueryManager(listeners, this.monitoring);
    const session: WriterSession = {
      listeners,
      memoryTable: (name) => this.memorySink(name),
      prepareRun: (setup) => this.monitoring.prepareRun(setup),
      register: (query) => this.streams.register(query),
    };
    this.writerFactory = (df) => new DataStreamWriter(df, session);
  }

  /** The web UI's address (`http://127.0.0.1:<port>`) once it listens; rejects when it could not, or without `ui`. */
  uiUrl(): Promise<string> {
    return this.monitoring.uiUrl();
  }

  /** The session's logger (structured, pino), for the program's own lines. */
  get logger(): WeirLogger {
    return this.monitoring.logger;
  }

  /** Closes the web UI and stops health checks (queries keep running; stop them first to end cleanly). */
  close(): Promise<void> {
    return this.monitoring.close();
  }

  get readStream(): DataStreamReader {
    return new DataStreamReader(this.writerFactory);
  }

  get read(): DataFrameReader {
    return new DataFrameReader(this.writerFactory);
  }

  memoryStream<T extends Row = Row>(schema: SchemaLike): MemoryStreamInput<T> {
    return new MemoryStreamInput<T>(new MemoryStream(toSchema(schema)), this.writerFactory);
  }

  /** The result table of the memory sink of the query named `queryName`. */
  memorySink(queryName: string): MemoryTable {
    let table = this.memoryTables.get(queryName);
    if (!table) {
      table = new MemoryTable(queryName);
      this.memoryTables.set(queryName, table);
    }
    return table;
  }

  /** Builds a batch DataFrame over rows in memory. */
  createDataFrame<T extends Row = Row>(rows: readonly T[], schema: SchemaLike): DataFrame<T> {
    const s = toSchema(schema);
    return new DataFrame<T>({
      kind: 'relation', input: { description: 'LocalRelation', schema: s, load: async () => ({ schema: s, rows: [...rows] }) },
    }, this.writerFactory);
  }
}
