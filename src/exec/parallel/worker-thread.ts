/**
 * A query's worker thread: runs the map side over its slice of each batch, sends every row to the
 * worker owning its state partition, and runs the reduce side once per partition it owns, each with
 * its own state store. See plan-shape.ts for the cut and parallel-plan.ts for the main thread's side.
 */
import { MessagePort, parentPort, workerData } from 'node:worker_threads';
import { faultDue } from '../../common/faults.js';
import { Row } from '../../common/schema.js';
import { PartReader } from '../../sources/source.js';
import { inMemoryStateProvider } from '../../state/memory-provider.js';
import { partitionOf } from '../../state/state-store.js';
import { compileExpression } from '../compile.js';
import {
  emptyEventTimeStats, EventTimeStats, ExecContext, PhysicalOperator, StatefulOperator, StateOperatorProgress,
} from '../physical.js';
import { PhysicalPlan, planPhysical } from '../planner.js';
import { keyPart } from '../state-keys.js';
import {
  BatchPart, BatchTask, errorData, ExchangeMessage, FromWorker, OperatorFigures, rebuiltError, ToWorker, WorkerRequest, WorkerSetup,
} from './messages.js';
import { sumStateProgress } from './state-figures.js';
import { RemoteStorage, SinglePartitionView, StorageResult } from './partition-storage.js';
import { fromData } from './plan-shape.js';
import { decodeRows, EncodedRows, encodeRows, transferList } from './row-columns.js';

const setup = (workerData as { setup: WorkerSetup }).setup;
const peers = (workerData as { peers: (MessagePort | null)[] }).peers;
const port = parentPort!;
const { shape, workerIndex, numWorkers, numPartitions } = setup;

const mapPlan = planPhysical(fromData(shape.mapSide));
const owned = Array.from({ length: numPartitions }, (_, p) => p).filter((p) => p % numWorkers === workerIndex);
/** One reduce-side plan per owned partition: its own operators, its own store. */
const reducePlans = new Map<number, PhysicalPlan>(shape.reduceSide === null ? []
  : owned.map((p) => [p, planPhysical(fromData(shape.reduceSide!))]));
/** Operators of the map side: the reduce side's follow them in the whole plan's numbering. */
const mapCount = figuresOf(mapPlan.root).length;
const exchangeNames = shape.exchangeSchema.map((f) => f.name);
const keyOf = shape.exchangeKeys.map((e) => compileExpression(e, shape.exchangeSchema));

/** The partition of a map-side row: a hash of its non-window grouping values, so a group's windows share one. */
function partitionOfRow(row: Row, ctx: ExecContext): number {
  if (keyOf.length === 0) return 0;
  let text = keyPart(keyOf[0]!(row, ctx));
  for (let i = 1; i < keyOf.length; i++) text += `\u0001${keyPart(keyOf[i]!(row, ctx))}`;
  return partitionOf(text, numPartitions);
}

// --- storage calls to the main thread ---
let nextStorageCall = 0;
const storageCalls = new Map<number, { resolve(r: StorageResult): void; reject(e: Error): void }>();
const storage = new RemoteStorage(setup.stateDescription, (call) => new Promise((resolve, reject) => {
  const id = nextStorageCall++;
  storageCalls.set(id, { resolve, reject });
  post({ type: 'storage', id, call });
}));

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

// --- the exchange: rows from peers, kept by batch until this worker's own map side is done ---
const received = new Map<number, ExchangeMessage[]>();
const waiting = new Map<number, () => void>();

function onExchange(message: ExchangeMessage): void {
  const list = received.get(message.batchId) ?? [];
  list.push(message);
  received.set(message.batchId, list);
  if (list.length === numWorkers - 1) waiting.get(message.batchId)?.();
}
for (const peer of peers) peer?.on('message', onExchange);

function allPeersSent(batchId: number): Promise<ExchangeMessage[]> {
  return new Promise((resolve) => {
    const done = (): void => {
      waiting.delete(batchId);
      const list = received.get(batchId) ?? [];
      received.delete(batchId);
      resolve(list);
    };
    if ((received.get(batchId)?.length ?? 0) === numWorkers - 1) done();
    else waiting.set(batchId, done);
  });
}

function contextOf(task: BatchTask, input: readonly Row[]): ExecContext {
  return {
    batchId: task.batchId, watermarkMs: task.watermarkMs, previousWatermarkMs: task.previousWatermarkMs,
    batchTimestampMs: task.batchTimestampMs, streaming: true,
    outputMode: task.outputMode, inputs: [input], eventTimes: mapPlan.watermarks.map(() => emptyEventTimeStats()),
  };
}

async function runBatch(task: BatchTask): Promise<{ part: BatchPart; transfer: ArrayBuffer[] }> {
  if (faultDue('inWorker', task.batchId) && workerIndex === numWorkers - 1) process.exit(70);
  const read = 'readerModule' in task.input ? await readInput(task.input.readerModule, task.input.part) : null;
  const mapCtx = contextOf(task, read === null ? decodeRows(task.input as EncodedRows) : read.rows);
  const readSummary = read === null ? {} : { read: { rows: read.rows.length, summary: read.summary } };
  const mapped = mapPlan.root.execute(mapCtx);
  const eventTimes: EventTimeStats[] = mapCtx.eventTimes;
  if (shape.reduceSide === null) {
    const rows = encodeRows(mapped, mapPlan.schema.map((f) => f.name));
    return { part: { outputs: [{ partition: workerIndex, rows }], eventTimes, operators: figuresOf(mapPlan.root), ...readSummary },
      transfer: transferList(rows) };
  }
  // Split by owner, keeping input order within each; a worker's own share never leaves it.
  const byWorker: Row[][] = Array.from({ length: numWorkers }, () => []);
  const partitionsByWorker: number[][] = Array.from({ length: numWorkers }, () => []);
  for (const row of mapped) {
    const p = partitionOfRow(row, mapCtx);
    byWorker[p % numWorkers]!.push(row);
    partitionsByWorker[p % numWorkers]!.push(p);
  }
  for (let w = 0; w < numWorkers; w++) {
    if (w === workerIndex) continue;
    const rows = encodeRows(byWorker[w]!, exchangeNames);
    const partitions = Uint32Array.from(partitionsByWorker[w]!);
    const message: ExchangeMessage = { batchId: task.batchId, from: workerIndex, rows, partitions };
    peers[w]!.postMessage(message, [...transferList(rows), partitions.buffer]);
  }
  const fromPeers = await allPeersSent(task.batchId);
  // Rows of a partition in input order: the senders' slices are consecutive, so take them by sender.
  const senders = new Map<number, { rows: readonly Row[]; partitions: ArrayLike<number> }>(
    fromPeers.map((m) => [m.from, { rows: decodeRows(m.rows), partitions: m.partitions }]));
  senders.set(workerIndex, { rows: byWorker[workerIndex]!, partitions: partitionsByWorker[workerIndex]! });
  const partitionRows = new Map<number, Row[]>(owned.map((p) => [p, []]));
  for (let w = 0; w < numWorkers; w++) {
    const sent = senders.get(w)!;
    for (let i = 0; i < sent.rows.length; i++) partitionRows.get(sent.partitions[i]!)!.push(sent.rows[i]!);
  }
  const outputs: BatchPart['outputs'][number][] = [];
  const transfer: ArrayBuffer[] = [];
  for (const p of owned) {
    const plan = reducePlans.get(p)!;
    const out = plan.root.execute({ ...contextOf(task, partitionRows.get(p)!), eventTimes: [] });
    const rows = encodeRows(out, plan.schema.map((f) => f.name));
    transfer.push(...transferList(rows));
    outputs.push({ partition: p, rows });
  }
  const operators = figuresOf(mapPlan.root);
  for (const plan of reducePlans.values()) {
    // The reduce side's bottom nodes stand for the exchange, not for operators of the query's plan.
    figuresOf(plan.root).slice(shape.exchangeNodes).forEach((f, i) => {
      const sum = operators[mapCount + i] ??= { rowsIn: 0, rowsOut: 0, timeMs: 0 };
      sum.rowsIn += f.rowsIn;
      sum.rowsOut += f.rowsOut;
      sum.timeMs += f.timeMs;
    });
  }
  return { part: { outputs, eventTimes, operators, ...readSummary }, transfer };
}

/** Readers of split source reads, by module: loaded once per thread. */
const partReaders = new Map<string, Promise<PartReader>>();

/** Reads this worker's part of the source's split read with the reader the source named. */
async function readInput(readerModule: string, part: unknown): Promise<{ rows: Row[]; summary: unknown }> {
  let reader = partReaders.get(readerModule);
  if (reader === undefined) {
    reader = import(readerModule).then((m: { readPart?: PartReader }) => {
      if (typeof m.readPart !== 'function') throw new Error(`module ${readerModule} has no readPart export: it cannot read a split source`);
      return m.readPart;
    });
    partReaders.set(readerModule, reader);
  }
  return (await reader)(part);
}

/** The last batch's figures of `root`'s operators, children first. */
function figuresOf(root: PhysicalOperator): OperatorFigures[] {
  const out: OperatorFigures[] = [];
  const visit = (op: PhysicalOperator): void => {
    op.children.forEach(visit);
    const m = op.metrics;
    out.push({ rowsIn: m?.rowsIn ?? 0, rowsOut: m?.rowsOut ?? 0, timeMs: m?.timeMs ?? 0 });
  };
  visit(root);
  return out;
}

function stateProgress(): StateOperatorProgress | null {
  const parts = [...reducePlans.values()].map((plan) => plan.stateful[0]!.progress());
  if (parts.length === 0) return null;
  return sumStateProgress(parts);
}

const statefulOps = (): StatefulOperator[] => [...reducePlans.values()].map((plan) => plan.stateful[0]!);

async function handle(request: WorkerRequest): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  switch (request.type) {
    case 'open':
      await Promise.all([...reducePlans.entries()].map(([p, plan]) => plan.stateful[0]!.open({
        storage: new SinglePartitionView(storage, p), provider: inMemoryStateProvider, numPartitions: 1,
        version: request.version, snapshotInterval: request.snapshotInterval,
      })));
      return { result: null, transfer: [] };
    case 'batch': {
      const { part, transfer } = await runBatch(request.batch);
      return { result: part, transfer };
    }
    case 'commit':
      await Promise.all(statefulOps().map((op) => op.commit()));
      // A store's figures are taken at its commit: these are the batch's.
      return { result: stateProgress(), transfer: [] };
    case 'abort': await Promise.all(statefulOps().map((op) => op.abort())); return { result: null, transfer: [] };
    case 'purge': await Promise.all(statefulOps().map((op) => op.purgeBefore(request.version))); return { result: null, transfer: [] };
    case 'close': await Promise.all(statefulOps().map((op) => op.close())); return { result: null, transfer: [] };
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'storageReply') {
    const call = storageCalls.get(message.id);
    storageCalls.delete(message.id);
    if (message.error) call?.reject(rebuiltError(message.error));
    else call?.resolve(message.result);
    return;
  }
  const fail = (err: unknown): void => post({ type: 'reply', seq: message.seq, error: errorData(err) });
  handle(message.request).then(({ result, transfer }) => {
    try {
      post({ type: 'reply', seq: message.seq, result }, transfer);
    } catch (err) {
      fail(err); // a value structured clone cannot copy
    }
  }, fail);
});
