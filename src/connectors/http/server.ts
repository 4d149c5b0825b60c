import { timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { JsonRowReader } from '../../codec/json-rows.js';
import { ConnectorError, errorMessage } from '../../common/errors.js';
import { Schema } from '../../common/schema.js';
import { parseBody } from './body.js';
import { AppendResult, IngestWal } from './wal.js';

export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly maxBacklogRecords: number;
  readonly authToken: string | undefined;
  readonly schema: Schema;
}

/** What the server asks of its source: the WAL and the query's progress through it. */
export interface IngestBackend {
  readonly wal: IngestWal;
  /** Records in the WAL that no committed batch has processed yet. */
  backlog(): number;
  /** Records committed by the query (the start of the backlog). */
  committed(): number;
  /** How long a client refused with 429 should wait, in whole seconds. */
  retryAfterSeconds(): number;
}

const INGEST_PATHS = new Set(['/ingest', '/']);
const JSON_TYPES = new Set(['', 'application/json', 'application/x-ndjson', 'application/jsonl', 'application/json-seq']);
const MAX_KEY_LENGTH = 255;
const utf8 = new TextDecoder('utf-8', { fatal: true });

type Body = { readonly kind: 'ok'; readonly data: Buffer } | { readonly kind: 'too-large' } | { readonly kind: 'aborted' };

/**
 * The HTTP side of the ingest source (node:http, no framework):
 *   POST /ingest (or /)  JSON lines or a JSON array -> 200 {"offsets": {"start", "end"}} once durable;
 *                        a retry with a known Idempotency-Key gets its first offsets with "duplicate": true
 *   GET /health          -> 200 {status, walEnd, committed, backlog} (503 when the WAL failed or stopping)
 * Refusals: 400 malformed (with the line), 401 bad or missing bearer token, 413 body too large,
 * 415 content type, 422 idempotency key reused for another body, 429 backlog full (Retry-After),
 * 503 WAL failure or stopping. The health endpoint needs no token, so load balancers can probe it.
 */
export class IngestServer {
  private readonly server: Server;
  private stopping = false;
  /** Requests still receiving their body: cut off on stop, since none of them was acknowledged. */
  private readonly receiving = new Set<IncomingMessage>();
  /** Requests past their body: stop waits for their answers. */
  private readonly answering = new Set<Promise<void>>();
  /** Converts request bodies; compiled once for the schema (bodies are converted one at a time, synchronously). */
  private readonly reader: JsonRowReader;

  private constructor(private readonly settings: ServerSettings, private readonly backend: IngestBackend) {
    this.reader = new JsonRowReader(settings.schema);
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  static async listen(settings: ServerSettings, backend: IngestBackend): Promise<IngestServer> {
    const s = new IngestServer(settings, backend);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', (err) => reject(new ConnectorError('HTTP_LISTEN',
        `The http source could not listen on ${settings.host}:${settings.port}: ${errorMessage(err)}. ` +
          "Choose another 'port' (0 picks a free one) or stop the process that holds it.", { cause: err })));
      s.server.listen(settings.port, settings.host, () => resolve());
    });
    return s;
  }

  address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/health') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return void reply(res, 405, { error: 'Use GET /health.' }, { allow: 'GET, HEAD' });
        return void this.health(res);
      }
      if (!INGEST_PATHS.has(path)) {
        return void reply(res, 404, { error: `No endpoint ${path}: POST records to /ingest, GET /health for status.` });
      }
      if (req.method !== 'POST') return void reply(res, 405, { error: `Use POST ${path} to send records.` }, { allow: 'POST' });
      await this.ingest(req, res);
    } catch (err) {
      if (!res.headersSent) reply(res, 500, { error: `Internal error: ${errorMessage(err)}` });
      else res.destroy();
    }
  }

  private health(res: ServerResponse): void {
    const { wal } = this.backend;
    const failure = wal.failed;
    const status = failure ? 'failed' : this.stopping ? 'stopping' : 'ok';
    reply(res, status === 'ok' ? 200 : 503, {
      status, walEnd: wal.end, committed: this.backend.committed(), backlog: this.backend.backlog(),
      ...(failure ? { error: failure.message } : {}),
    });
  }

  private async ingest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { settings } = this;
    if (this.stopping) return void reply(res, 503, { error: 'The source is stopping; retry against its next run.' });
    if (settings.authToken !== undefined && !bearerMatches(req.headers.authorization, settings.authToken)) {
      return void reply(res, 401, { error: 'Missing or wrong bearer token: send header Authorization: Bearer <authToken>.' },
        { 'www-authenticate': 'Bearer realm="weir"' });
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!JSON_TYPES.has(type)) {
      return void reply(res, 415, { error: `Content-Type ${type} is not accepted: send application/json (a JSON array ` +
        'or JSON lines) or application/x-ndjson.' });
    }
    const key = req.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH)) {
      return void reply(res, 400, { error: `Idempotency-Key must be one value of 1 to ${MAX_KEY_LENGTH} characters.` });
    }
    if (Number(req.headers['content-length']) > settings.maxBodyBytes) return void this.tooLarge(res);
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
    const hash = crc32(data);
    if (key !== null) {
      const prior = await wal.lookup(key);
      if (prior) return acknowledge(res, prior, hash);
    }
    if (wal.failed) return reply(res, 503, { error: wal.failed.message });
    const backlog = this.backend.backlog();
    if (backlog >= this.settings.maxBacklogRecords) {
      return reply(res, 429, {
        error: `The source holds ${backlog} records not yet processed (option maxBacklogRecords is ` +
          `${this.settings.maxBacklogRecords}); retry after the Retry-After delay.`,
      }, { 'retry-after': String(this.backend.retryAfterSeconds()) });
    }
    let text: string;
    try {
      text = utf8.decode(data);
    } catch {
      return reply(res, 400, { error: 'The body is not valid UTF-8 text; nothing of it was ingested.' });
    }
    const parsed = parseBody(text, this.reader);
    if (!parsed.ok) {
      return reply(res, 400, {
        error: `Record ${parsed.record} at line ${parsed.line}: ${parsed.reason}. Nothing of this request was ingested.`,
        line: parsed.line, record: parsed.record,
      });
    }
    if (parsed.rows.length === 0) return reply(res, 400, { error: 'The body holds no records: send JSON lines or a JSON array of objects.' });
    let result: AppendResult;
    try {
      result = await wal.append(parsed.rows, key, hash);
    } catch (err) {
      return reply(res, 503, { error: errorMessage(err) });
    }
    return acknowledge(res, result, hash);
  }

  private tooLarge(res: ServerResponse): void {
    reply(res, 413, { error: `The body is larger than ${this.settings.maxBodyBytes} bytes (option maxBodyBytes): ` +
      'split it into smaller requests.' }, { connection: 'close' });
  }
}

/** 200 with the offsets; a key first used for a different body is refused instead. */
function acknowledge(res: ServerResponse, result: AppendResult, hash: number): Promise<void> {
  const offsets = { start: result.start, end: result.end };
  if (result.duplicate && result.hash !== hash) {
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

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
