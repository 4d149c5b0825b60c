export { Weir, MemoryStreamInput, StreamingQueryManager } from './api/weir.js';
export { DataFrame, GroupedData } from './api/dataframe.js';
export { DataStreamReader, DataFrameReader } from './api/reader.js';
export { DataStreamWriter } from './api/writer.js';
export { StreamingQuery } from './api/query.js';
export { Column } from './api/column.js';
export type { ColumnLike, Operand } from './api/column.js';
export * from './api/functions.js';
export {
  WeirError, AnalysisError, CheckpointError, MalformedRecordError, ConnectorError, StreamingQueryException,
} from './common/errors.js';
export type { Row, Value, Schema, Field, SchemaLike, DataType, AtomicType } from './common/schema.js';
export type { Duration } from './common/duration.js';
export type { Trigger } from './engine/trigger.js';
export type {
  StreamingQueryProgress, SourceProgress, StreamingQueryListener, QueryStartedEvent, QueryProgressEvent,
  QueryIdleEvent, QueryTerminatedEvent, QueryRecoveredEvent, QueryStatusEvent, QueryHealthStatus, StreamingQueryStatus,
  QueryStandbyEvent, TakeoverReport,
} from './engine/progress.js';
export type { WeirOptions } from './api/weir.js';
export type { MonitoringOptions } from './monitoring/monitoring.js';
export type { UiOptions } from './monitoring/server.js';
export type { HealthThresholds } from './monitoring/health.js';
export type { WeirLogger } from './monitoring/logger.js';
export type { QueryHealthReport } from './monitoring/session-monitor.js';
export type { StateOperatorProgress, OperatorMetrics } from './exec/physical.js';
export type { ExplainMode, OperatorNode } from './exec/explain.js';
export type { OutputMode } from './common/output-mode.js';
export type { Sink, SinkContext, SinkSpec } from './sinks/sink.js';
export type { SinkFactory } from './sinks/registry.js';
export type { Source, SourceContext, SourceSpec, Offset } from './sources/source.js';
export type { SourceFactory } from './sources/registry.js';
export { Options } from './common/options.js';
export { Decimal } from './common/decimal.js';
export type { OptionValue, ConnectorDeclaration } from './common/options.js';
export type { CheckpointStorage, CheckpointLock, LockOwner } from './checkpoint/storage.js';
export { FileExistsError } from './checkpoint/storage.js';
export { FileSystemStorage } from './checkpoint/fs-storage.js';
export type { CheckpointStorageFactory } from './checkpoint/registry.js';
export type {
  StateStore, StateStoreProvider, StateStoreOptions, StateStoreMetrics, StateKey, StateValueCodec, StateFollower, TakeoverResult,
} from './state/state-store.js';
export { inMemoryStateProvider } from './state/memory-provider.js';
export { createLmdbStateStoreProvider, lmdbStateStoreProvider } from './state/lmdb-provider.js';
export type { LmdbStateStoreConfig } from './state/lmdb-provider.js';
export { MemoryTable } from './connectors/memory/sink.js';
