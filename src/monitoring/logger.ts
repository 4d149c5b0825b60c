import { createRequire } from 'node:module';
import { pino } from 'pino';
import { AnalysisError } from '../common/errors.js';
import { QueryHealthStatus, StreamingQueryListener } from '../engine/progress.js';

/** The logger weir writes to: pino's, or any object with these four methods (fields first, then the message). */
export interface WeirLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The level from the option, else from WEIR_LOG_LEVEL, else `info`; an unknown name is refused, naming where it came from. */
export function resolveLogLevel(option: string | undefined, env: string | undefined = process.env['WEIR_LOG_LEVEL']): LogLevel {
  const [value, from] = option !== undefined ? [option, "option 'logLevel'"] : env ? [env, 'WEIR_LOG_LEVEL'] : ['info', ''];
  const level = LOG_LEVELS.find((l) => l === value.toLowerCase());
  if (!level) {
    throw new AnalysisError(`Unknown log level '${value}' in ${from}: use one of ${LOG_LEVELS.join(', ')}.`, 'INVALID_OPTION');
  }
  return level;
}

/**
 * JSON lines on standard error (standard output stays the console sink's). On a terminal, when the
 * optional pino-pretty package is installed, lines are pretty-printed instead.
 */
export function createLogger(level: LogLevel): WeirLogger {
  const base = { level, base: { name: 'weir' } };
  if (process.stderr.isTTY && prettyAvailable()) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 2 } } });
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

const TROUBLE: ReadonlySet<QueryHealthStatus> = new Set(['stalled', 'falling-behind', 'watermark-stuck']);

/**
 * What the session logs about its queries: `info` for start, resume (with the batch re-run), stop and
 * failure (with the error code; the message says what to do), `warn` when health turns to trouble,
 * `debug` for every batch.
 */
export function loggingListener(logger: WeirLogger): StreamingQueryListener {
  const names = new Map<string, string | null>();
  const query = (id: string, runId: string): object => ({ queryId: id, runId, queryName: names.get(id) ?? null });
  return {
    onQueryRecovered(e) {
      names.set(e.id, e.name);
      const rerun = e.rerun
        ? `; re-running batch ${e.rerun.batchId} with its logged offsets ${JSON.stringify(e.rerun.sources)}`
        : '';
      const after = e.lastCommittedBatchId === null ? 'before any committed batch' : `after batch ${e.lastCommittedBatchId}`;
      logger.info({ ...query(e.id, e.runId), lastCommittedBatchId: e.lastCommittedBatchId, rerunBatchId: e.rerun?.batchId ?? null,
        rerunOffsets: e.rerun?.sources ?? null, nextBatchId: e.nextBatchId, recoveryMs: e.recoveryMs },
      `query resumed from the checkpoint ${after}${rerun}`);
    },
    onQueryStarted(e) {
      names.set(e.id, e.name);
      logger.info(query(e.id, e.runId), 'query started');
      const t = e.takeover;
      if (t) {
        // Operators read this line to see that a failover happened and what it cost.
        logger.info({ ...query(e.id, e.runId), takeover: t }, `query took over the checkpoint after waiting ${t.waitedMs} ms: ` +
          `${t.warm ? 'warm' : 'cold'}, ready in ${t.ms} ms with ${t.stateRows} state rows` +
          `${t.coldReason ? ` (cold because ${t.coldReason})` : ''}, continuing after batch ${t.fromBatch ?? 'none'}`);
      }
    },
    onQueryStandby(e) {
      names.set(e.id, e.name);
      logger.debug({ ...query(e.id, e.runId), followedBatchId: e.followedBatchId, stateRows: e.stateRows },
        `standby: warm state at batch ${e.followedBatchId}`);
    },
    onQueryProgress({ progress: p }) {
      logger.debug({ ...query(p.id, p.runId), batchId: p.batchId, numInputRows: p.numInputRows,
        inputRowsPerSecond: p.inputRowsPerSecond, processedRowsPerSecond: p.processedRowsPerSecond, durationMs: p.durationMs,
        watermark: p.eventTime['watermark'] ?? null, numOutputRows: p.sink.numOutputRows }, `batch ${p.batchId} committed`);
    },
    onQueryTerminated(e) {
      if (e.exception === null) logger.info(query(e.id, e.runId), 'query stopped');
      else logger.error({ ...query(e.id, e.runId), errorCode: e.errorClassOnException, error: e.exception }, 'query failed');
    },
    onQueryStatus(e) {
      if (TROUBLE.has(e.status)) {
        logger.warn({ ...query(e.id, e.runId), status: e.status, reasons: e.reasons }, `query is ${e.status}`);
      } else if (e.previousStatus !== null && TROUBLE.has(e.previousStatus)) {
        logger.info({ ...query(e.id, e.runId), status: e.status, previousStatus: e.previousStatus }, `query is ${e.status} again`);
      }
    },
  };
}
