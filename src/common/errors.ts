/**
 * Every error weir raises on purpose is a WeirError with a stable `code`, so callers can branch on
 * the kind of failure without parsing messages. Messages name the culprit (option, column, file,
 * record) and say what to do.
 */
export class WeirError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A query, option or expression that cannot be run as written (caught before any batch runs). */
export class AnalysisError extends WeirError {
  constructor(message: string, code = 'ANALYSIS') {
    super(code, message);
  }
}

/** A checkpoint file or folder that is corrupt, foreign, incomplete or in use by another query. */
export class CheckpointError extends WeirError {
  readonly path: string;
  constructor(code: string, path: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.path = path;
  }
}

/** An input record that cannot be parsed or does not fit the schema (FAILFAST mode). */
export class MalformedRecordError extends WeirError {
  readonly file: string;
  readonly line: number;
  /** What is wrong with the record, without where it is. */
  readonly reason: string;
  constructor(file: string, line: number, reason: string) {
    super('MALFORMED_RECORD', `Malformed record in ${file} at line ${line}: ${reason}. ` +
      `Fix the record, or read with option mode 'PERMISSIVE' (keeps it in _corrupt_record) or 'DROPMALFORMED'` +
      ` (optionally with badRecordsPath to keep a copy).`);
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

/** A failure while talking to an external system (file system, database, broker). */
export class ConnectorError extends WeirError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The error a query terminates with when a batch fails; carries the batch id. */
export class StreamingQueryException extends WeirError {
  readonly batchId: number | null;
  constructor(message: string, batchId: number | null, cause: unknown) {
    super('QUERY_FAILED', message, { cause });
    this.batchId = batchId;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
