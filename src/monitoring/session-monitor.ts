import { CheckpointStorage } from '../checkpoint/storage.js';
import {
  ListenerBus, QueryHealthStatus, QueryRecoveredEvent, QueryStatusEvent, StreamingQueryListener, StreamingQueryProgress,
} from '../engine/progress.js';
import { HealthObservation, HealthThresholds, judgeHealth } from './health.js';
import { ProgressHistory } from './progress-history.js';
import { MonitoredQuery, rootErrorCode } from './query-view.js';

export interface MonitorSettings {
  readonly health: HealthThresholds;
  /** How often health is judged between events (stalled and stuck conditions arise without any event). */
  readonly healthCheckIntervalMs: number;
  /** Progress records kept per query for the charts; also how many the checkpoint keeps when persisting. */
  readonly historySize: number;
  /** Keep progress and recovery events in the checkpoint (`progress/`), so the UI's history survives restarts. */
  readonly persistHistory: boolean;
  readonly onHistoryError: (queryId: string, err: unknown) => void;
}

/** What the writer tells the monitor before a query starts (the run id is known, the query id is not yet). */
export interface RunSetup {
  readonly runId: string;
  /** The query's checkpoint; null for a temporary one (deleted at the end, so nothing is kept in it). */
  readonly storage: CheckpointStorage | null;
  readonly triggerIntervalMs: number;
}

export interface QueryHealthReport {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  readonly status: QueryHealthStatus;
  readonly reasons: readonly string[];
  /** When the query entered this status, ISO-8601. */
  readonly since: string;
}

export type MonitorEvent =
  | { readonly kind: 'progress'; readonly id: string; readonly progress: StreamingQueryProgress }
  | { readonly kind: 'status'; readonly event: QueryStatusEvent }
  | { readonly kind: 'recovered'; readonly event: QueryRecoveredEvent }
  | { readonly kind: 'started' | 'terminated'; readonly id: string };

/** How many ended queries a session keeps listing. */
const KEEP_FINISHED = 50;

/** One query as the monitor sees it, across its runs in this session. */
export class TrackedQuery {
  query: MonitoredQuery | null = null;
  runId: string;
  storage: CheckpointStorage | null = null;
  triggerIntervalMs = 0;
  startedAtMs = Date.now();
  /** Progress records of this and earlier runs (earlier ones from the checkpoint), oldest first. */
  history: StreamingQueryProgress[] = [];
  recoveries: QueryRecoveredEvent[] = [];
  /** This run's records only: health looks at the current run. */
  runProgress: StreamingQueryProgress[] = [];
  lastCommitAtMs = Date.now();
  watermark: string | undefined;
  watermarkMovedAtMs = Date.now();
  batchesWithInputSinceWatermarkMoved = 0;
  health: { status: QueryHealthStatus; reasons: readonly string[]; sinceMs: number } | null = null;
  persisted: ProgressHistory | null = null;
  historyLoaded: Promise<void> = Promise.resolve();

  constructor(readonly id: string, runId: string, public name: string | null) {
    this.runId = runId;
  }

  /** `code: message` of the error the query stopped with, or null. */
  get failure(): string | null {
    const error = this.query?.exception;
    return error ? `${rootErrorCode(error)}: ${error.message}` : null;
  }
}

/**
 * Follows a session's queries through its listener bus: keeps their progress history (durable in the
 * checkpoint when asked), recovery events and health, posts `onQueryStatus` when a health status changes,
 * and tells subscribers (the web UI's event stream) about everything as it happens.
 */
export class SessionMonitor {
  private readonly queries = new Map<string, TrackedQuery>();
  private readonly setups = new Map<string, RunSetup>();
  private readonly subscribers = new Set<(event: MonitorEvent) => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly listener: StreamingQueryListener;

  constructor(private readonly bus: ListenerBus, private readonly settings: MonitorSettings) {
    this.listener = {
      onQueryRecovered: (event) => {
        const tracked = this.track(event.id, event.runId, event.name);
        tracked.recoveries = [...tracked.recoveries, event].slice(-settings.historySize);
        tracked.persisted?.recordRecovery(event);
        this.emit({ kind: 'recovered', event });
      },
      onQueryStarted: (event) => {
        this.track(event.id, event.runId, event.name);
        this.emit({ kind: 'started', id: event.id });
      },
      onQueryProgress: ({ progress }) => {
        const tracked = this.queries.get(progress.id);
        if (!tracked) return;
        this.recordProgress(tracked, progress);
        this.emit({ kind: 'progress', id: progress.id, progress });
        this.judge(tracked);
      },
      onQueryIdle: (event) => {
        const tracked = this.queries.get(event.id);
        if (tracked) this.judge(tracked);
      },
      onQueryTerminated: (event) => {
        const tracked = this.queries.get(event.id);
        if (!tracked) return;
        this.judge(tracked);
        this.emit({ kind: 'terminated', id: event.id });
      },
    };
    bus.add(this.listener);
    this.timer = setInterval(() => { for (const tracked of this.queries.values()) this.judge(tracked); },
      settings.healthCheckIntervalMs);
    this.timer.unref();
  }

  /** Called by the writer before `start()`: the run's checkpoint and trigger interval; the result forgets it (a failed start). */
  prepareRun(setup: RunSetup): () => void {
    this.setups.set(setup.runId, setup);
    return () => this.setups.delete(setup.runId);
  }

  /** Called by the session once `start()` returned: the query object, for its status and exception. */
  register(query: MonitoredQuery): void {
    const tracked = this.track(query.id, query.runId, query.name);
    tracked.query = query;
    this.judge(tracked);
  }

  list(): TrackedQuery[] {
    return [...this.queries.values()];
  }

  get(id: string): TrackedQuery | undefined {
    return this.queries.get(id);
  }

  health(): QueryHealthReport[] {
    return this.list().flatMap((t) => {
      const health = this.judge(t);
      return health ? [{ id: t.id, runId: t.runId, name: t.name, status: health.status, reasons: health.reasons,
        since: new Date(health.sinceMs).toISOString() }] : [];
    });
  }

  subscribe(subscriber: (event: MonitorEvent) => void): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Waits for the queued history writes (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.list().map((t) => t.persisted?.flush()));
  }

  close(): void {
    clearInterval(this.timer);
    this.bus.remove(this.listener);
  }

  /** The query's entry, set up for the run `runId` when that run is new. */
  private track(id: string, runId: string, name: string | null): TrackedQuery {
    let tracked = this.queries.get(id);
    if (!tracked) {
      this.forgetOldFinished();
      tracked = new TrackedQuery(id, runId, name);
      this.queries.set(id, tracked);
      this.startRun(tracked);
    } else if (tracked.runId !== runId) {
      tracked.runId = runId;
      tracked.name = name;
      tracked.query = null;
      this.startRun(tracked);
    }
    return tracked;
  }

  /** Stopped and failed queries stay listed (the UI shows why they ended), the newest {@link KEEP_FINISHED} of them. */
  private forgetOldFinished(): void {
    const finished = this.list().filter((t) => t.query !== null && !t.query.isActive);
    for (const t of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED + 1))) this.queries.delete(t.id);
  }

  private startRun(tracked: TrackedQuery): void {
    const setup = this.setups.get(tracked.runId);
    this.setups.delete(tracked.runId);
    const now = Date.now();
    Object.assign(tracked, {
      triggerIntervalMs: setup?.triggerIntervalMs ?? 0, startedAtMs: now, runProgress: [], lastCommitAtMs: now,
      watermark: undefined, watermarkMovedAtMs: now, batchesWithInputSinceWatermarkMoved: 0, health: null,
    });
    const firstRun = tracked.storage === null && tracked.history.length === 0;
    tracked.storage = setup?.storage ?? null;
    tracked.persisted = this.settings.persistHistory && tracked.storage
      ? new ProgressHistory(tracked.storage, this.settings.historySize, (err) => this.settings.onHistoryError(tracked.id, err))
      : null;
    // Earlier runs' records come from the checkpoint when this session has not seen the query yet.
    if (firstRun && tracked.persisted) {
      tracked.historyLoaded = tracked.persisted.load().then(({ progress, recoveries }) => {
        const live = new Set(tracked.history.map((p) => p.batchId));
        tracked.history = [...progress.filter((p) => !live.has(p.batchId)), ...tracked.history].slice(-this.settings.historySize);
        const seen = new Set(tracked.recoveries.map((r) => r.runId));
        tracked.recoveries = [...recoveries.filter((r) => !seen.has(r.runId)), ...tracked.recoveries].slice(-this.settings.historySize);
      }, (err: unknown) => this.settings.onHistoryError(tracked.id, err));
    }
  }

  private recordProgress(tracked: TrackedQuery, progress: StreamingQueryProgress): void {
    const keep = this.settings.historySize;
    tracked.history = [...tracked.history.filter((p) => p.batchId !== progress.batchId), progress].slice(-keep);
    tracked.runProgress = [...tracked.runProgress, progress].slice(-keep);
    tracked.lastCommitAtMs = Date.now();
    const watermark = progress.eventTime['watermark'];
    if (watermark !== tracked.watermark) {
      tracked.watermark = watermark;
      tracked.watermarkMovedAtMs = Date.now();
      tracked.batchesWithInputSinceWatermarkMoved = 0;
    } else if (progress.numInputRows > 0) {
      tracked.batchesWithInputSinceWatermarkMoved++;
    }
    tracked.persisted?.recordProgress(progress);
  }

  /** Judges the query's health now; posts onQueryStatus and tells subscribers when the status changed. */
  private judge(tracked: TrackedQuery): TrackedQuery['health'] {
    const query = tracked.query;
    if (!query) return tracked.health;
    const observation: HealthObservation = {
      isActive: query.isActive, failure: tracked.failure, status: query.status, triggerIntervalMs: tracked.triggerIntervalMs,
      lastCommitAtMs: tracked.lastCommitAtMs, recent: tracked.runProgress, watermarkMovedAtMs: tracked.watermarkMovedAtMs,
      batchesWithInputSinceWatermarkMoved: tracked.batchesWithInputSinceWatermarkMoved,
    };
    const now = Date.now();
    const { status, reasons } = judgeHealth(observation, now, this.settings.health);
    const previous = tracked.health;
    if (previous?.status === status) {
      tracked.health = { ...previous, reasons };
      return tracked.health;
    }
    tracked.health = { status, reasons, sinceMs: now };
    const event: QueryStatusEvent = {
      id: tracked.id, runId: tracked.runId, name: tracked.name, timestamp: new Date(now).toISOString(), status,
      previousStatus: previous?.status ?? null, reasons,
    };
    this.bus.post('onQueryStatus', event);
    this.emit({ kind: 'status', event });
    return tracked.health;
  }

  private emit(event: MonitorEvent): void {
    for (const subscriber of this.subscribers) subscriber(event);
  }
}
