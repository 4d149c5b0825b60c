/**
 * The worker threads of one query: started with it, ended with it (stop, failure, kill). A thread that
 * dies or throws outside a request fails every request in flight and every later one with
 * WORKER_FAILED, naming the thread; the batch then fails, and a restart re-runs it from the checkpoint.
 */
import { MessageChannel, MessagePort, Worker } from 'node:worker_threads';
import { CheckpointStorage } from '../../checkpoint/storage.js';
import { WeirError } from '../../common/errors.js';
import { errorData, FromWorker, rebuiltError, ToWorker, WorkerRequest, WorkerSetup } from './messages.js';
import { serveStorageCall } from './partition-storage.js';

interface Pending { resolve(result: unknown): void; reject(err: Error): void }

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 0;
  private failure: WeirError | null = null;
  private ending = false;

  /** `storage`: the folder the workers' state stores read and write (the operator's state folder). */
  constructor(setups: readonly WorkerSetup[], private readonly storage: CheckpointStorage | null, private readonly label: string) {
    const n = setups.length;
    const ports: (MessagePort | null)[][] = setups.map(() => setups.map(() => null));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const channel = new MessageChannel();
        ports[i]![j] = channel.port1;
        ports[j]![i] = channel.port2;
      }
    }
    setups.forEach((setup, i) => {
      const peers = ports[i]!;
      const worker = new Worker(new URL('./worker-thread.js', import.meta.url), {
        workerData: { setup, peers }, transferList: peers.filter((p): p is MessagePort => p !== null),
        // A thread inherits the process's flags; `--input-type` (a script given with -e) stops a thread from starting.
        execArgv: process.execArgv.filter((flag) => !flag.startsWith('--input-type')),
      });
      worker.on('message', (message: FromWorker) => this.onMessage(worker, message));
      worker.on('error', (err) => this.fail(i, `threw ${err.name}: ${err.message}`));
      worker.on('exit', (code) => { if (!this.ending) this.fail(i, `exited with code ${code}`); });
      this.workers.push(worker);
    });
  }

  /** True once a thread failed or the pool was ended. */
  get failed(): boolean {
    return this.failure !== null;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends `request` to worker `index`; resolves with its answer. */
  request(index: number, request: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.nextSeq++;
    const answer = new Promise<unknown>((resolve, reject) => this.pending.set(seq, { resolve, reject }));
    try {
      this.workers[index]!.postMessage({ type: 'request', seq, request } satisfies ToWorker, transfer);
    } catch (err) {
      this.pending.delete(seq);
      return Promise.reject(err);
    }
    return answer;
  }

  /** The same request to every worker; resolves with the answers by worker. */
  all(request: WorkerRequest): Promise<unknown[]> {
    return Promise.all(this.workers.map((_, i) => this.request(i, request)));
  }

  /** Ends every thread (idempotent). Requests in flight fail. */
  async terminate(): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    this.failure ??= new WeirError('WORKER_FAILED', `The worker threads of ${this.label} were stopped with the query.`);
    this.rejectAll(this.failure);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    if (message.type === 'reply') {
      const pending = this.pending.get(message.seq);
      this.pending.delete(message.seq);
      if (message.error) pending?.reject(rebuiltError(message.error));
      else pending?.resolve(message.result);
      return;
    }
    const { id, call } = message;
    const reply = (answer: ToWorker): void => { if (!this.ending) worker.postMessage(answer); };
    if (!this.storage) {
      reply({ type: 'storageReply', id, error: { name: 'WeirError', code: 'INTERNAL', message: 'a stateless plan has no state folder' } });
      return;
    }
    serveStorageCall(this.storage, call).then((result) => reply({ type: 'storageReply', id, result }),
      (err: unknown) => reply({ type: 'storageReply', id, error: errorData(err) }));
  }

  private fail(index: number, how: string): void {
    if (this.failure) return;
    this.failure = new WeirError('WORKER_FAILED', `Worker thread ${index + 1} of ${this.workers.length} of ${this.label} ` +
      `${how}, so the batch it was running cannot finish. The batch fails with nothing of it committed; restart the ` +
      'query and it re-runs that batch from the checkpoint.');
    this.rejectAll(this.failure);
    // The other threads hold state the failed batch changed: end them too (the query reopens from the checkpoint).
    this.ending = true;
    for (const w of this.workers) void w.terminate();
  }

  private rejectAll(err: Error): void {
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}
