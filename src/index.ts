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
  QueryIdleEvent, QueryTerminatedEvent,
} from './engine/progress.js';
export type { StateOperatorProgress, OperatorMetrics } from './exec/physical.js';
export type { ExplainMode, OperatorNode } from './exec/explain.js';
export type { OutputMode } from './common/output-mode.js';
export type { Sink, SinkContext, SinkSpec } from './sinks/sink.js';
export type { Source, SourceContext, Offset } from './sources/source.js';
export type { CheckpointStorage } from './checkpoint/storage.js';
export type { StateStore, StateStoreProvider } from './state/state-store.js';
export { MemoryTable } from './connectors/memory/sink.js';
