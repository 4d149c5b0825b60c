import { AnalysisError, errorMessage } from '../common/errors.js';
import { ListenerBus } from '../engine/progress.js';
import { DEFAULT_HEALTH_THRESHOLDS, HealthThresholds } from './health.js';
import { createLogger, loggingListener, resolveLogLevel, WeirLogger } from './logger.js';
import { SessionMetrics } from './metrics.js';
import { MonitoredQuery } from './query-view.js';
import { MonitoringServer, UiOptions } from './server.js';
import { QueryHealthReport, RunSetup, SessionMonitor } from './session-monitor.js';

/** The monitoring options of `new Weir({...})` (README, Monitoring). */
export interface MonitoringOptions {
  /** Serve the web UI, /metrics and /health. */
  readonly ui?: UiOptions;
  /** trace | debug | info (default) | warn | error | fatal | silent; WEIR_LOG_LEVEL when not given. */
  readonly logLevel?: string;
  /** Log through this logger (pino's, or any with debug/info/warn/error(fields, message)) instead of weir's own. */
  readonly logger?: WeirLogger;
  /** When a query counts as in trouble, and how often that is checked (`checkIntervalMs`, 1000). */
  readonly health?: Partial<HealthThresholds> & { readonly checkIntervalMs?: number };
  /** Progress records kept per query for the UI, and in the checkpoint when the UI is on (100; 0 keeps none there). */
  readonly progressHistory?: number;
}

/** A session's monitoring: logs, health, and with `ui` the web UI, metrics and progress history in the checkpoint. */
export class SessionMonitoring {
  readonly logger: WeirLogger;
  private readonly monitor: SessionMonitor;
  private readonly metrics: SessionMetrics | null;
  private readonly server: Promise<MonitoringServer> | null;
  private readonly logListener;

  constructor(private readonly bus: ListenerBus, options: MonitoringOptions = {}) {
    this.logger = options.logger ?? createLogger(resolveLogLevel(options.logLevel));
    const { checkIntervalMs = 1000, ...thresholds } = options.health ?? {};
    const health = { ...DEFAULT_HEALTH_THRESHOLDS, ...thresholds };
    for (const [name, value] of Object.entries({ ...health, checkIntervalMs, progressHistory: options.progressHistory ?? 100 })) {
      if (!Number.isFinite(value) || value < 0) {
        throw new AnalysisError(`Monitoring option '${name}' is ${value}: use a number ≥ 0.`, 'INVALID_OPTION');
      }
    }
    this.logListener = loggingListener(this.logger);
    bus.add(this.logListener);
    const historySize = options.progressHistory ?? 100;
    this.monitor = new SessionMonitor(bus, {
      health, healthCheckIntervalMs: Math.max(10, checkIntervalMs), historySize: Math.max(1, historySize),
      persistHistory: options.ui !== undefined && historySize > 0,
      onHistoryError: (queryId, err) => this.logger.warn({ queryId, error: errorMessage(err) },
        'could not keep progress history in the checkpoint (the query is unaffected)'),
    });
    this.metrics = options.ui ? new SessionMetrics(bus, this.monitor) : null;
    this.server = options.ui && this.metrics ? MonitoringServer.start(options.ui, this.monitor, this.metrics, this.logger) : null;
    this.server?.catch((err: unknown) => this.logger.error({ error: errorMessage(err) }, 'web UI not started'));
  }

  /** The UI's address once it listens; rejects when the session has no UI or it could not listen. */
  async uiUrl(): Promise<string> {
    if (!this.server) {
      throw new AnalysisError('This session has no web UI: create it with new Weir({ ui: { port: 4040 } }).', 'NO_UI');
    }
    return (await this.server).url;
  }

  prepareRun(setup: RunSetup): () => void {
    return this.monitor.prepareRun(setup);
  }

  register(query: MonitoredQuery): void {
    this.monitor.register(query);
  }

  health(): QueryHealthReport[] {
    return this.monitor.health();
  }

  /** Stops the UI server and the health checks; waits for queued history writes. */
  async close(): Promise<void> {
    this.monitor.close();
    this.metrics?.close();
    this.bus.remove(this.logListener);
    await this.monitor.flush();
    const server = await this.server?.catch(() => null);
    await server?.close();
  }
}
