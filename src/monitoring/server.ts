import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectorError, errorMessage } from '../common/errors.js';
import { readCheckpointView } from './checkpoint-view.js';
import { WeirLogger } from './logger.js';
import { SessionMetrics } from './metrics.js';
import { QueryHealthReport, SessionMonitor, TrackedQuery } from './session-monitor.js';

export interface UiOptions {
  /** 0 picks a free port (read it from `weir.ui.url`). */
  readonly port: number;
  /** Default 127.0.0.1: the UI shows data and offsets, so it is not exposed unless asked. */
  readonly host?: string;
  /**
   * When set, data (/api/..., /metrics, /health) needs `Authorization: Bearer <token>`, or `?token=<token>`
   * (open the page as `/?token=<token>`; it passes the token on).
   */
  readonly token?: string;
}

/** One row of the queries list (`GET /api/queries`). */
export interface QuerySummary {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  readonly isActive: boolean;
  readonly health: QueryHealthReport | null;
  readonly message: string | null;
  readonly startedAt: string;
  readonly uptimeMs: number;
  readonly latestBatchId: number | null;
  readonly inputRowsPerSecond: number | null;
  readonly processedRowsPerSecond: number | null;
  readonly lastError: string | null;
}

const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), 'ui');
const UI_FILES: Readonly<Record<string, string>> = {
  '/': 'index.html', '/ui/app.js': 'app.js', '/ui/charts.js': 'charts.js', '/ui/style.css': 'style.css',
};
const UPLOT_FILES: Readonly<Record<string, string>> = { '/vendor/uplot.js': 'uPlot.esm.js', '/vendor/uplot.css': 'uPlot.min.css' };
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8',
};
/** How many batches the fault-tolerance view reads from the checkpoint. */
const CHECKPOINT_BATCHES = 20;

/**
 * The session's monitoring server: the web UI's page and data (`/api/...`, live over server-sent
 * events), Prometheus metrics (`/metrics`) and health (`/health`). It never keeps the process alive:
 * a program whose queries ended may exit with the server open.
 */
export class MonitoringServer {
  private readonly streams = new Set<ServerResponse>();

  private constructor(private readonly server: Server, readonly url: string, private readonly token: string | null,
    private readonly monitor: SessionMonitor, private readonly metrics: SessionMetrics) {}

  static async start(options: UiOptions, monitor: SessionMonitor, metrics: SessionMetrics, logger: WeirLogger):
    Promise<MonitoringServer> {
    const host = options.host ?? '127.0.0.1';
    const server = createServer();
    server.on('connection', (socket) => socket.unref());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new ConnectorError('UI_LISTEN_FAILED',
        `The web UI cannot listen on ${host}:${options.port}: ${err.message}. Pick another port with ` +
          'new Weir({ ui: { port } }) (0 picks a free one).', { cause: err })));
      server.listen(options.port, host, () => resolve());
    });
    server.unref();
    const { port } = server.address() as AddressInfo;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const ui = new MonitoringServer(server, url, options.token ?? null, monitor, metrics);
    server.on('request', (req, res) => {
      ui.handle(req, res).catch((err: unknown) => {
        logger.warn({ url: req.url, error: errorMessage(err) }, 'monitoring request failed');
        if (!res.headersSent) send(res, 500, 'text/plain', `${errorMessage(err)}\n`);
        else res.end();
      });
    });
    const unsubscribe = monitor.subscribe((event) => {
      const frame = `event: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`;
      for (const stream of ui.streams) stream.write(frame);
    });
    server.once('close', unsubscribe);
    logger.info({ url }, 'web UI listening');
    return ui;
  }

  async close(): Promise<void> {
    for (const stream of this.streams) stream.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'Only GET is served here.\n', { allow: 'GET' });
    const path = url.pathname;
    // The page's own files hold no data: they load without the token, which the page then sends with every request.
    const uiFile = UI_FILES[path];
    if (uiFile) return this.sendFile(res, join(UI_DIR, uiFile));
    const vendorFile = UPLOT_FILES[path];
    if (vendorFile) return this.sendFile(res, join(uplotDir(), vendorFile));
    if (!this.authorized(req, url)) {
      return send(res, 401, 'text/plain', 'This weir UI needs its token: Authorization: Bearer <token>, or ?token=<token>.\n',
        { 'www-authenticate': 'Bearer' });
    }
    if (path === '/metrics') {
      const { contentType, body } = await this.metrics.text();
      return send(res, 200, contentType, body);
    }
    if (path === '/health') {
      const queries = this.monitor.health();
      const unhealthy = queries.some((q) => q.status === 'failed' || q.status === 'stalled');
      const degraded = queries.some((q) => q.status === 'falling-behind' || q.status === 'watermark-stuck');
      const status = unhealthy ? 'unhealthy' : degraded ? 'degraded' : 'ok';
      return sendJson(res, unhealthy ? 503 : 200, { status, queries });
    }
    if (path === '/api/events') return this.openEventStream(req, res);
    if (path === '/api/queries') return sendJson(res, 200, this.monitor.list().map((t) => this.summary(t)));
    const match = /^\/api\/queries\/([^/]+)(\/checkpoint)?$/.exec(path);
    const tracked = match ? this.monitor.get(decodeURIComponent(match[1]!)) : undefined;
    if (match && !tracked) return sendJson(res, 404, { error: `No query with id ${match[1]} in this session.` });
    if (tracked && match?.[2]) {
      if (!tracked.storage) return sendJson(res, 200, { location: null, batches: [], state: [] });
      return sendJson(res, 200, await readCheckpointView(tracked.storage, tracked.history, CHECKPOINT_BATCHES));
    }
    if (tracked) {
      await tracked.historyLoaded;
      return sendJson(res, 200, { summary: this.summary(tracked), history: tracked.history, recoveries: tracked.recoveries });
    }
    return send(res, 404, 'text/plain', `Nothing at ${path}.\n`);
  }

  private summary(t: TrackedQuery): QuerySummary {
    const last = t.history[t.history.length - 1] ?? null;
    return {
      id: t.id, runId: t.runId, name: t.name, isActive: t.query?.isActive ?? true,
      health: this.monitor.health().find((h) => h.id === t.id) ?? null, message: t.query?.status.message ?? null,
      startedAt: new Date(t.startedAtMs).toISOString(), uptimeMs: Date.now() - t.startedAtMs,
      latestBatchId: last?.batchId ?? null, inputRowsPerSecond: last?.inputRowsPerSecond ?? null,
      processedRowsPerSecond: last?.processedRowsPerSecond ?? null, lastError: t.failure,
    };
  }

  private openEventStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    // A browser reconnects a second after losing the stream (e.g. while the process restarts).
    res.write('retry: 1000\n\n');
    this.streams.add(res);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    heartbeat.unref();
    req.once('close', () => {
      clearInterval(heartbeat);
      this.streams.delete(res);
    });
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    if (this.token === null) return true;
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : url.searchParams.get('token');
    if (given === null) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async sendFile(res: ServerResponse, path: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch (err) {
      throw new ConnectorError('UI_FILES_MISSING', `The web UI's file ${path} cannot be read (${errorMessage(err)}): ` +
        'build with `npm run build`, which copies src/monitoring/ui next to the compiled server.', { cause: err });
    }
    send(res, 200, TYPES[path.slice(path.lastIndexOf('.') + 1)] ?? 'application/octet-stream', body);
  }
}

function uplotDir(): string {
  return dirname(createRequire(import.meta.url).resolve('uplot'));
}

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer,
  headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}
