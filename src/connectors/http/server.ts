import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { isPowerOfTen } from '../../common/descriptor-shortage.js';
import { JsonRowReader } from '../../codec/json-rows.js';
import { ConnectorError, errorMessage } from '../../common/errors.js';
import { Schema } from '../../common/schema.js';
import { BodyResult, parseBody } from './body.js';
import { digestBody, sameBody } from './digest.js';
import { deepestNesting } from './nesting.js';
import { AppendResult, IngestLog, RequestKey } from '../../sources/ingest-log.js';

export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly maxBacklogRecords: number;
  readonly authToken: string | undefined;
  /** With authToken: GET /health needs the token too. */
  readonly authenticateHealth: boolean;
  /** Open connections at most; further ones are closed as they arrive. */
  readonly maxConnections: number;
  /** A connection must have sent a request's headers this long after it opened or began the request. */
  readonly headersTimeoutMs: number;
  /** A request must have arrived whole (headers and body) this long after it started. */
  readonly requestTimeoutMs: number;
  readonly schema: Schema;
}

/** What the server asks of its source: the WAL and the query's progress through it. */
export interface IngestBackend {
  readonly wal: IngestLog;
  /** Set once this process was fenced off its checkpoint (another took the lease over): it acknowledges nothing more. */
  fenced(): Error | null;
  /** Records in the WAL that no committed batch has processed yet. */
  backlog(): number;
  /** Records committed by the query (the start of the backlog). */
  committed(): number;
  /** A standby's source: it accepts into a shared log that the active instance reads (said by GET /health). */
  standby(): boolean;
  /** How long a client refused with 429 should wait before `records` more fit, in whole seconds. */
  retryAfterSeconds(records: number): number;
}

/** Connections the server could not take, cumulative since it started listening. */
export interface ConnectionStats {
  /** Closed on arrival because maxConnections were open. */
  readonly refusedConnections: number;
  /** Lost because accepting failed, mostly for want of file descriptors (EMFILE). */
  readonly acceptFailures: number;
}

const INGEST_PATHS = new Set(['/ingest', '/']);
/**
 * Form content types (what curl sends by default) are refused on purpose: a browser page may POST a
 * form to any address without asking the server first, JSON it may not, so accepting them would let
 * any web page a user opens write records into a source on their machine.
 */
const JSON_TYPES = new Set(['', 'application/json', 'application/x-ndjson', 'application/jsonl', 'application/json-seq']);
const MAX_KEY_LENGTH = 255;
/** Retry-After of a 503: the log could not take the request now (a lost quorum is usually back within seconds). */
const UNAVAILABLE_RETRY_AFTER_S = 2;
/** The stack holds thousands of nested values; a RangeError from a body nested less deeply has another cause. */
const MIN_OVERFLOW_DEPTH = 100;
const utf8 = new TextDecoder('utf-8', { fatal: true });

type Body = { readonly kind: 'ok'; readonly data: Buffer } | { readonly kind: 'too-large' } | { readonly kind: 'aborted' };

/**
 * The HTTP side of the ingest source (node:http, no framework):
 *   POST /ingest (or /)  JSON lines or a JSON array -> 200 {"offsets": {"start", "end"}} once durable;
 *                        a retry with a known Idempotency-Key gets its first offsets with "duplicate": true
 *   GET /health          -> 200 {status, walEnd, committed, backlog, standby?} (503 when the WAL failed or stopping)
 * Refusals: 400 malformed (with the line) or two Idempotency-Key headers, 401 bad or missing bearer
 * token, 408 headers or request too slow (node's, by the timeouts), 413 body too large or holding more
 * records than maxBacklogRecords, 415 content type, 422 idempotency key reused for another body,
 * 429 backlog full (Retry-After), 503 WAL failure or unreachable, or fenced (Retry-After), or stopping. The health
 * endpoint needs no token unless authenticateHealth is set.
 *
 * Everything decided from the headers (token, content type, key, declared size) is decided before any
 * of the body is read: such a refusal closes the connection instead of draining the body, and a client
 * that sent `Expect: 100-continue` is refused without being asked for the body. Connections are bounded
 * in number (maxConnections) and in how long they may take to send headers and a whole request, so idle
 * or slow clients cannot hold the descriptors the query needs.
 */
export class IngestServer {
  private readonly server: Server;
  private stopping = false;
  /** Requests still receiving their body: cut off on stop, since none of them was acknowledged. */
  private readonly receiving = new Set<IncomingMessage>();
  /** Requests past their body: stop waits for their answers. */
  private readonly answering = new Set<Promise<void>>();
  private refusedConnections = 0;
  private acceptFailures = 0;
  /** Converts request bodies; compiled once for the schema (bodies are converted one at a time, synchronously). */
  private readonly reader: JsonRowReader;

  private constructor(private readonly settings: ServerSettings, private readonly backend: IngestBackend) {
    this.reader = new JsonRowReader(settings.schema);
    this.server = createServer({
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      // How often node looks for connections past those timeouts (its default, 30 s, would let them live far longer).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(settings.headersTimeoutMs / 4))),
    }, (req, res) => void this.handle(req, res, false));
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res, true));
    this.server.maxConnections = settings.maxConnections;
    this.server.on('drop', () => {
      this.refusedConnections++;
      if (isPowerOfTen(this.refusedConnections)) {
        process.emitWarning(`The http source on port ${this.address().port} has ${settings.maxConnections} connections ` +
          `open (option maxConnections) and closed a new one (${this.refusedConnections} so far); the query continues.`,
        { code: 'WEIR_HTTP_CONNECTIONS' });
      }
    });
  }

  static async listen(settings: ServerSettings, backend: IngestBackend): Promise<IngestServer> {
    const s = new IngestServer(settings, backend);
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void => reject(new ConnectorError('HTTP_LISTEN',
        `The http source could not listen on ${settings.host}:${settings.port}: ${errorMessage(err)}. ` +
          "Choose another 'port' (0 picks a free one) or stop the process that holds it.", { cause: err }));
      s.server.once('error', failed);
      s.server.listen(settings.port, settings.host, () => {
        s.server.off('error', failed);
        // Once listening, errors are failed accepts: that connection is lost, the server and the query go on.
        s.server.on('error', (err) => s.acceptFailed(err));
        resolve();
      });
    });
    return s;
  }

  address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  get connectionStats(): ConnectionStats {
    return { refusedConnections: this.refusedConnections, acceptFailures: this.acceptFailures };
  }

  /** Stops accepting, cuts off requests still sending their bodies, answers those already in the WAL's queue. */
  async close(): Promise<void> {
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    for (const req of this.receiving) req.destroy();
    await Promise.allSettled([...this.answering]);
    this.server.closeAllConnections();
    await closed;
  }

  private acceptFailed(err: Error): void {
    this.acceptFailures++;
    if (isPowerOfTen(this.acceptFailures)) {
      process.emitWarning(`The http source on port ${this.address().port} could not accept a connection ` +
        `(${errorMessage(err)}; ${this.acceptFailures} so far); the query continues. Out of file descriptors: raise ` +
        'the limit (ulimit -n) or lower option maxConnections.', { code: 'WEIR_HTTP_ACCEPT' });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/health') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return void refuse(res, 405, { error: 'Use GET /health.' }, { allow: 'GET, HEAD' });
        if (this.settings.authenticateHealth && !this.authorized(req)) return void this.unauthorized(res);
        return void this.health(res);
      }
      if (!INGEST_PATHS.has(path)) {
        return void refuse(res, 404, { error: `No endpoint ${path}: POST records to /ingest, GET /health for status.` });
      }
      if (req.method !== 'POST') return void refuse(res, 405, { error: `Use POST ${path} to send records.` }, { allow: 'POST' });
      await this.ingest(req, res, expectsContinue);
    } catch (err) {
      if (!res.headersSent) reply(res, 500, { error: `Internal error: ${errorMessage(err)}` });
      else res.destroy();
    }
  }

  private authorized(req: IncomingMessage): boolean {
    return this.settings.authToken === undefined || bearerMatches(req.headers.authorization, this.settings.authToken);
  }

  private unauthorized(res: ServerResponse): void {
    refuse(res, 401, { error: 'Missing or wrong bearer token: send header Authorization: Bearer <authToken>.' },
      { 'www-authenticate': 'Bearer realm="weir"' });
  }

  private health(res: ServerResponse): void {
    const { wal } = this.backend;
    const failure = wal.failed;
    const status = failure ? 'failed' : this.stopping ? 'stopping' : 'ok';
    reply(res, status === 'ok' ? 200 : 503, {
      status, walEnd: wal.end, committed: this.backend.committed(), backlog: this.backend.backlog(),
      ...(this.backend.standby() ? { standby: true } : {}),
      ...(failure ? { error: failure.message } : {}),
    });
  }

  private async ingest(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    const { settings } = this;
    if (this.stopping) return void refuse(res, 503, { error: 'The source is stopping; retry against its next run.' });
    if (!this.authorized(req)) return void this.unauthorized(res);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!JSON_TYPES.has(type)) {
      return void refuse(res, 415, { error: `Content-Type ${type} is not accepted: send application/json (a JSON array ` +
        "or JSON lines) or application/x-ndjson. curl sends a form type unless told: add -H 'Content-Type: application/x-ndjson'." });
    }
    // headersDistinct: node joins repeated headers into one value with commas, which would hide a second key.
    const keys = req.headersDistinct['idempotency-key'] ?? [];
    const key = keys[0];
    if (keys.length > 1 || (key !== undefined && (key.length === 0 || key.length > MAX_KEY_LENGTH))) {
      return void refuse(res, 400, { error: `Idempotency-Key must be one header of 1 to ${MAX_KEY_LENGTH} characters` +
        (keys.length > 1 ? `; this request has ${keys.length} of them.` : '.') });
    }
    if (Number(req.headers['content-length']) > settings.maxBodyBytes) return void this.tooLarge(res);
    if (expectsContinue) res.writeContinue();
    this.receiving.add(req);
    const body = await readBody(req, settings.maxBodyBytes).finally(() => this.receiving.delete(req));
    if (body.kind === 'aborted') return;
    if (body.kind === 'too-large') return void this.tooLarge(res);
    if (this.stopping) return void reply(res, 503, { error: 'The source is stopping; retry against its next run.' });
    const answered = this.answer(res, body.data, key ?? null);
    this.answering.add(answered);
    await answered.finally(() => this.answering.delete(answered));
  }

  private async answer(res: ServerResponse, data: Buffer, key: string | null): Promise<void> {
    const { wal } = this.backend;
    const max = this.settings.maxBacklogRecords;
    if (key !== null) {
      const prior = await wal.lookup(key);
      if (prior) return acknowledge(res, prior, data);
    }
    const refusal = wal.failed ?? this.backend.fenced();
    if (refusal) return this.unavailable(res, refusal.message);
    if (this.backend.backlog() >= max) return this.backlogFull(res, 0);
    let text: string;
    try {
      text = utf8.decode(data);
    } catch {
      return reply(res, 400, { error: 'The body is not valid UTF-8 text; nothing of it was ingested.' });
    }
    const parsed = parseNested(text, this.reader);
    if (!parsed.ok) {
      return reply(res, 400, {
        error: `Record ${parsed.record} at line ${parsed.line}: ${parsed.reason}. Nothing of this request was ingested.`,
        line: parsed.line, record: parsed.record,
      });
    }
    const count = parsed.rows.length;
    if (count === 0) return reply(res, 400, { error: 'The body holds no records: send JSON lines or a JSON array of objects.' });
    if (count > max) {
      return reply(res, 413, { error: `The body holds ${count} records, more than the source may hold unprocessed ` +
        `(option maxBacklogRecords is ${max}): split it into smaller requests. Nothing of it was ingested.` });
    }
    if (this.backend.backlog() + count > max) return this.backlogFull(res, count);
    let result: AppendResult;
    try {
      const requestKey: RequestKey | null = key === null ? null : { key, digest: digestBody(data) };
      result = await wal.append(parsed.rows, requestKey);
    } catch (err) {
      return this.unavailable(res, errorMessage(err));
    }
    // A process fenced meanwhile says nothing was taken: with an Idempotency-Key, the retry finds the records if they landed.
    const fenced = this.backend.fenced();
    if (fenced) return this.unavailable(res, fenced.message);
    return acknowledge(res, result, data);
  }

  /** 503: nothing of the request is acknowledged; a retry after the delay may succeed (e.g. once a quorum is back). */
  private unavailable(res: ServerResponse, error: string): Promise<void> {
    return reply(res, 503, { error }, { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_S) });
  }

  private backlogFull(res: ServerResponse, records: number): Promise<void> {
    const max = this.settings.maxBacklogRecords;
    return reply(res, 429, {
      error: `The source holds ${this.backend.backlog()} records not yet processed${records > 0 ? `, and this request ` +
        `adds ${records}` : ''} (option maxBacklogRecords is ${max}); retry after the Retry-After delay.`,
    }, { 'retry-after': String(this.backend.retryAfterSeconds(Math.max(1, records))) });
  }

  private tooLarge(res: ServerResponse): void {
    refuse(res, 413, { error: `The body is larger than ${this.settings.maxBodyBytes} bytes (option maxBodyBytes): ` +
      'split it into smaller requests.' });
  }
}

/**
 * parseBody, with JSON nested too deeply to convert (the stack overflows) refused as a bad record
 * rather than failing the request with 500.
 */
function parseNested(text: string, reader: JsonRowReader): BodyResult {
  try {
    return parseBody(text, reader);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const { depth, line, record } = deepestNesting(text);
    if (depth < MIN_OVERFLOW_DEPTH) throw err;
    return { ok: false, line, record, reason: `its JSON nests ${depth} levels deep, too deep to convert; flatten it` };
  }
}

/** 200 with the offsets; a key first used for a different body is refused instead. */
function acknowledge(res: ServerResponse, result: AppendResult, body: Buffer): Promise<void> {
  const offsets = { start: result.start, end: result.end };
  if (result.duplicate && (result.digest === null || !sameBody(body, result.digest))) {
    return reply(res, 422, { error: 'This Idempotency-Key was already used for a request with a different body; use a ' +
      'new key for new records.', offsets });
  }
  return reply(res, 200, result.duplicate ? { offsets, duplicate: true } : { offsets });
}

function reply(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): Promise<void> {
  const text = JSON.stringify(body);
  return new Promise((resolve) => {
    res.once('close', resolve);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  });
}

/** A refusal decided from the headers: the connection closes, so the unread body is never drained. */
function refuse(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): Promise<void> {
  return reply(res, status, body, { ...headers, connection: 'close' });
}

function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) resolve({ kind: 'too-large' }); // later data is dropped; the answer closes the connection
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? { kind: 'too-large' } : { kind: 'ok', data: Buffer.concat(chunks) }));
    req.on('error', () => resolve({ kind: 'aborted' }));
    req.on('close', () => resolve({ kind: 'aborted' }));
  });
}

/** `Authorization: Bearer <token>`, the scheme in any case (RFC 7235); compared in constant time. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^\s*(\S+)\s+(.*?)\s*$/.exec(header ?? '');
  if (!m || m[1]!.toLowerCase() !== 'bearer') return false;
  // Digests have equal lengths, so the comparison does not reveal the token's length either.
  return timingSafeEqual(sha256(m[2]!), sha256(token));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
