import { StreamingQueryException } from '../common/errors.js';

interface Waiter { resolve(): void; reject(err: unknown): void }
interface AllAvailableWaiter extends Waiter { readonly requestedAtRound: number }

/**
 * The batch loop's waits and the callers waiting on it: stop requests, `processAllAvailable()`,
 * `awaitTermination()`, and the sleep between triggers, which new data, a request or a stop may end early.
 */
export class QueryLifecycle {
  stopRequested = false;
  loopDone: Promise<void> = Promise.resolve();
  private planningRound = 0;
  private allAvailableWaiters: AllAvailableWaiter[] = [];
  private terminationWaiters: Waiter[] = [];
  private wake: { readonly onData: boolean; readonly now: () => void } | null = null;

  /** A source has new data: ends a wait that data may end (not the wait for a trigger interval). */
  dataArrived(): void {
    if (this.wake?.onData) this.wakeNow();
  }

  requestStop(): void {
    this.stopRequested = true;
    this.wakeNow();
  }

  /** Resolves once a planning round that started after this call found nothing left to do. */
  awaitAllAvailable(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.allAvailableWaiters.push({ requestedAtRound: this.planningRound, resolve, reject });
      this.wakeNow();
    });
  }

  awaitTermination(): Promise<void> {
    return new Promise((resolve, reject) => this.terminationWaiters.push({ resolve, reject }));
  }

  newPlanningRound(): number {
    return ++this.planningRound;
  }

  /** Planning round `round` found no data: everything requested before it is processed. */
  planningRoundFoundNothing(round: number): void {
    const done = this.allAvailableWaiters.filter((w) => w.requestedAtRound < round);
    this.allAvailableWaiters = this.allAvailableWaiters.filter((w) => w.requestedAtRound >= round);
    for (const w of done) w.resolve();
  }

  /**
   * Waits until `untilMs` (epoch ms), or less: a stop request or a `processAllAvailable()` call ends the wait,
   * and so does new data when `wakeOnData`. A caller of `processAllAvailable()` already waiting is not made to wait.
   */
  async waitUntil(untilMs: number, options: { readonly wakeOnData: boolean }): Promise<void> {
    const ms = untilMs - Date.now();
    if (ms <= 0 || this.allAvailableWaiters.length > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = { onData: options.wakeOnData, now: () => { clearTimeout(timer); resolve(); } };
    });
  }

  /** The query ended (with `failure`, or cleanly): settles everyone waiting. */
  terminated(failure: StreamingQueryException | null): void {
    for (const w of [...this.allAvailableWaiters, ...this.terminationWaiters]) failure ? w.reject(failure) : w.resolve();
    this.allAvailableWaiters = [];
    this.terminationWaiters = [];
  }

  private wakeNow(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.now();
  }
}
