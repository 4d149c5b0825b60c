// How rows should cross between threads: the cost of moving one batch of W2's rows ({ ts, key, value })
// from one thread to another, as structured clone of the row objects, as transferable typed columns
// (numbers in Float64Arrays, strings as one UTF-8 buffer with offsets) and through a SharedArrayBuffer.
// Each figure counts the sender's encode + postMessage and the receiver's decode into row objects,
// the time until the receiver holds rows it can run the next operator on. Usage:
//   node bench/candidates/thread-transfer.mjs [rows per batch] [repetitions]
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

const ROWS = Number(process.argv[2] ?? 100_000);
const REPS = Number(process.argv[3] ?? 15);

function rowsOf(n) {
  const rows = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = { ts: 1_704_067_200_000 + i * 10, key: `k${(i * 7919) % 10_000}`, value: (i % 10_000) / 100 };
  return rows;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Columns of the three fields; strings joined with \n into one UTF-8 buffer (keys hold no newline). */
function toColumns(rows, shared) {
  const n = rows.length;
  const make = (bytes) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const ts = new Float64Array(make(n * 8));
  const value = new Float64Array(make(n * 8));
  const keys = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    ts[i] = r.ts; value[i] = r.value; keys[i] = r.key;
  }
  const encoded = encoder.encode(keys.join('\n'));
  let text = encoded;
  if (shared) { text = new Uint8Array(new SharedArrayBuffer(encoded.length)); text.set(encoded); }
  return { n, ts, value, text };
}

function fromColumns({ n, ts, value, text }) {
  const keys = decoder.decode(text).split('\n');
  const rows = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = { ts: ts[i], key: keys[i], value: value[i] };
  return rows;
}

if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url));
  const rows = rowsOf(ROWS);
  const roundTrip = (message, transfer) => new Promise((resolve) => {
    worker.once('message', resolve);
    worker.postMessage(message, transfer);
  });
  const formats = {
    'structured clone of row objects': async () => roundTrip({ kind: 'objects', rows }),
    'JSON text': async () => roundTrip({ kind: 'json', text: JSON.stringify(rows) }),
    'transferable typed columns': async () => {
      const c = toColumns(rows, false);
      return roundTrip({ kind: 'columns', c }, [c.ts.buffer, c.value.buffer, c.text.buffer]);
    },
    'SharedArrayBuffer columns': async () => roundTrip({ kind: 'columns', c: toColumns(rows, true) }),
  };
  const samples = Object.fromEntries(Object.keys(formats).map((k) => [k, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const [name, send] of Object.entries(formats)) {
      const t0 = performance.now();
      const count = await send();
      if (count !== ROWS) throw new Error(`${name}: received ${count} rows`);
      samples[name].push(performance.now() - t0);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const base = median(samples['structured clone of row objects']);
  console.log(`${ROWS} rows { ts, key, value } per message, median of ${REPS} (warm-up included), sender → receiver holding row objects`);
  for (const [name, xs] of Object.entries(samples)) {
    const ms = median(xs);
    console.log(`  ${name.padEnd(34)} ${ms.toFixed(1).padStart(7)} ms  ${(ms * 1e6 / ROWS).toFixed(0).padStart(5)} ns/row  ×${(ms / base).toFixed(2)}`);
  }
  await worker.terminate();
} else {
  parentPort.on('message', (m) => {
    let rows;
    if (m.kind === 'objects') rows = m.rows;
    else if (m.kind === 'json') rows = JSON.parse(m.text);
    else rows = fromColumns(m.c);
    parentPort.postMessage(rows.length);
  });
}
