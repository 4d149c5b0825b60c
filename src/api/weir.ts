import { CheckpointStorageFactory, registerCheckpointStorage } from '../checkpoint/registry.js';
import { ConnectorDeclaration } from '../common/options.js';
import { SchemaLike, toSchema, Row } from '../common/schema.js';
import { registerSink, SinkFactory } from '../sinks/registry.js';
import { registerSource, SourceFactory } from '../sources/registry.js';
import { registerStateStoreProvider } from '../state/registry.js';
import { StateStoreProvider } from '../state/state-store.js';
import { ListenerBus, StreamingQueryListener } from '../engine/progress.js';
import { MonitoringOptions, SessionMonitoring } from '../monitoring/monitoring.js';
import { QueryHealthReport } from '../monitoring/session-monitor.js';
import { WeirLogger } from '../monitoring/logger.js';
import { MemoryTable } from '../connectors/memory/sink.js';
import { MemoryStream } from '../connectors/memory/source.js';
import '../connectors/builtin.js';
import { DataFrame, SessionContext } from './dataframe.js';
import { ViewCatalog } from './sql/catalog.js';
import { noQueryError, SqlResult, SqlSession } from './sql/session.js';
import { StreamingQuery } from './query.js';
import { DataFrameReader, DataStreamReader } from './reader.js';
import { DataStreamWriter, WriterSession } from './writer.js';

/** A memory stream with a DataFrame over it: `addData(rows)` in tests, `toDF()` to query it. */
export class MemoryStreamInput<T extends Row = Row> {
  constructor(private readonly stream: MemoryStream, private readonly session: SessionContext) {}

  addData(rows: readonly T[]): number {
    return this.stream.addData(rows);
  }

  toDF(): DataFrame<T> {
    return new DataFrame<T>({
      kind: 'stream',
      // The description is part of the checkpoint's fingerprint, so it must not depend on creation order:
      // a query restarted with a new memory stream (new session or process) on its checkpoint is the same query.
      input: { description: 'MemoryStream', schema: this.stream.schema, create: () => this.stream.createSource() },
    }, this.session);
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

/**
 * The entry point: readers, memory streams and sinks, the query manager, and monitoring. Its static methods
 * extend every session of the process (as Spark's data source registrations do): a name taken by a
 * built-in or an earlier registration is refused.
 */
export class Weir {
  /**
   * Makes `readStream.format(format)` create its sources with `factory`, once at `load()` (for the
   * schema and option checks) and once per query start. With `declaration.options`, options outside
   * that list (and `path`) are refused at `load()`.
   */
  static registerSource(format: string, factory: SourceFactory, declaration?: ConnectorDeclaration): void {
    registerSource(format, factory, declaration);
  }

  /**
   * Makes `writeStream.format(format)` create its sinks with `factory`, once per query start. With
   * `declaration.options`, options outside that list, `path` and the writer's own are refused at `start()`.
   */
  static registerSink(format: string, factory: SinkFactory, declaration?: ConnectorDeclaration): void {
    registerSink(format, factory, declaration);
  }

  /** Makes `writeStream.option('stateStoreProvider', provider.name)` keep operator state with `provider`. */
  static registerStateStoreProvider(provider: StateStoreProvider): void {
    registerStateStoreProvider(provider);
  }

  /** Makes a `checkpointLocation` of the form `<scheme>://…` open its checkpoint with `factory`. */
  static registerCheckpointStorage(scheme: string, factory: CheckpointStorageFactory): void {
    registerCheckpointStorage(scheme, factory);
  }

  readonly streams: StreamingQueryManager;
  private readonly memoryTables = new Map<string, MemoryTable>();
  private readonly session: SessionContext;
  private readonly monitoring: SessionMonitoring;
  private readonly sqlSession: SqlSession;

  constructor(options: WeirOptions = {}) {
    const listeners = new ListenerBus();
    this.monitoring = new SessionMonitoring(listeners, options);
    this.streams = new StreamingQueryManager(listeners, this.monitoring);
    const writerSession: WriterSession = {
      listeners,
      memoryTable: (name) => this.memorySink(name),
      prepareRun: (setup) => this.monitoring.prepareRun(setup),
      register: (query) => this.streams.register(query),
    };
    this.session = { writer: (df) => new DataStreamWriter(df, writerSession), views: new ViewCatalog() };
    this.sqlSession = new SqlSession(this.session.views, () => this.readStream);
  }

  /**
   * Runs SQL statements: `CREATE [OR REPLACE] TEMPORARY VIEW v AS SELECT …`, `CREATE TABLE t (…) WITH (…)`
   * and queries. Returns the DataFrame of the last SELECT (streaming when it reads a stream), to be
   * written with `writeStream` or collected like any other.
   */
  sql(text: string): DataFrame {
    const { query, inserts } = this.sqlSession.run(text);
    if (query === null || inserts.length > 0) throw noQueryError();
    return query;
  }

  /** A temporary view or a table declared in SQL, by name. */
  table(name: string): DataFrame {
    return this.sqlSession.table(name);
  }

  /** Runs a SQL script for `weir run`: its declarations, and the DataFrames its INSERT INTO statements write. */
  sqlScript(text: string): SqlResult {
    return this.sqlSession.run(text);
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
    return new DataStreamReader(this.session);
  }

  get read(): DataFrameReader {
    return new DataFrameReader(this.session);
  }

  memoryStream<T extends Row = Row>(schema: SchemaLike): MemoryStreamInput<T> {
    return new MemoryStreamInput<T>(new MemoryStream(toSchema(schema)), this.session);
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
    }, this.session);
  }
}
