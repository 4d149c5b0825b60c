// The ceiling for numWorkers on this machine right now: the same JSON.parse loop on one worker thread,
// then on two at once (each the same amount, no data shared). Two threads of independent work finishing
// in the time of one is the best any split of a query can do; when the machine is busy with other work
// the second thread gains less, and WORKERS' ratios should be read against this one, measured beside them.
//   node bench/candidates/parallel-ceiling.mjs [parses per thread] [repetitions]
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const PARSES = Number(process.argv[2] ?? 3_000_000);
const REPS = Number(process.argv[3] ?? 3);
const LINE = JSON.stringify({ ts: '2024-01-01T00:00:00.123Z', key: 'k12345', value: 12.5 });

if (!isMainThread) {
  let sum = 0;
  for (let i = 0; i < workerData.parses; i++) sum += JSON.parse(LINE).value;
  parentPort.postMessage(sum);
} else {
  const threads = (k) => Promise.all(Array.from({ length: k }, () => new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { parses: PARSES } });
    worker.once('message', () => worker.terminate().then(resolve));
    worker.once('error', reject);
  })));
  const ratios = [];
  for (let rep = 0; rep < REPS; rep++) {
    let t = performance.now();
    await threads(1);
    const one = performance.now() - t;
    t = performance.now();
    await threads(2);
    const two = performance.now() - t;
    // Throughput of two threads (twice the work) over one thread's.
    ratios.push((2 * one) / two);
    console.log(`one thread ${one.toFixed(0)} ms, two threads (twice the work) ${two.toFixed(0)} ms: ${((2 * one) / two).toFixed(2)}×`);
  }
  ratios.sort((a, b) => a - b);
  console.log(`median: two threads give ${ratios[Math.floor(ratios.length / 2)].toFixed(2)}× one thread's throughput`);
}
