/**
 * HTTP ingest benchmark: acknowledged records per second and acknowledgement latency (p50/p99) of the
 * http source at several client concurrencies, with the group-commit sizes it achieved (records and
 * requests per fdatasync). Each request carries 100 JSON-lines records. The baseline is concurrency 1
 * in the same run: the ratio column shows what group commit gains. No assertions; numbers depend on
 * the disk's fsync latency.
 *
 *   node dist/bench/http-ingest.js [--quick]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSystemStorage } from '../src/checkpoint/fs-storage.js';
import { PrefixedStorage } from '../src/checkpoint/prefixed-storage.js';
import { Options } from '../src/common/options.js';
import { toSchema } from '../src/common/schema.js';
import { HttpSource } from '../src/connectors/http/source.js';

export interface HttpIngestRow {
  readonly concurrency: number;
  readonly requests: number;
  readonly recordsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Mean records and requests per group commit (one write + one fdatasync). */
  readonly recordsPerFsync: number;
  readonly requestsPerFsync: number;
  readonly maxRequestsPerFsync: number;
  /** recordsPerSecond against concurrency 1 of the same run. */
  readonly vsSerial: number;
}

/** Concurrent clients measured, one run each (the replicated workload deletes one stream per run). */
export const CONCURRENCIES = [1, 8, 64];
const RECORDS_PER_REQUEST = 100;
const SCHEMA = 'ts TIMESTAMP, user STRING, amount DOUBLE, n LONG';

/** `wal`: the replicated ingest log (option wal) to use at a concurrency; without it, the local WAL. */
export async function runHttpIngestBench(opts: { quick: boolean; wal?: (concurrency: number) => string }): Promise<HttpIngestRow[]> {
  const seconds = opts.quick ? 1 : 5;
  const body = Buffer.from(Array.from({ length: RECORDS_PER_REQUEST }, (_, i) =>
    JSON.stringify({ ts: 1_700_000_000_000 + i, user: `user-${i % 37}`, amount: i * 1.25, n: i })).join('\n'));
  const rows: HttpIngestRow[] = [];
  for (const concurrency of CONCURRENCIES) {
    const wal = opts.wal === undefined ? {} : { wal: opts.wal(concurrency) };
    const row = await measure(concurrency, seconds, body, rows[0]?.recordsPerSecond, wal);
    rows.push(row);
  }
  return rows;
}

async function measure(concurrency: number, seconds: number, body: Buffer, serial: number | undefined,
  walOption: { wal?: string }): Promise<HttpIngestRow> {
  const folder = await mkdtemp(join(tmpdir(), 'weir-bench-http-'));
  const source = new HttpSource({
    format: 'http', schema: toSchema(SCHEMA), path: null,
    options: new Options({ port: 0, maxBacklogRecords: 1e12, ...walOption }, 'http source'),
  });
  await source.open({
    storage: new PrefixedStorage(new FileSystemStorage(folder), 'sources/0'), queryId: 'bench', notifyDataAvailable: () => {},
  });
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    for (let i = 0; i < 5; i++) await post(agent, source.port, body); // warm up connections and JIT
    const before = source.stats;
    const latencies: number[] = [];
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await post(agent, source.port, body);
        latencies.push(performance.now() - t);
      }
    }));
    const elapsed = (performance.now() - started) / 1000;
    const after = source.stats;
    const fsyncs = after.groupCommits - before.groupCommits;
    const recordsPerSecond = (latencies.length * RECORDS_PER_REQUEST) / elapsed;
    latencies.sort((a, b) => a - b);
    return {
      concurrency, requests: latencies.length, recordsPerSecond,
      p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99),
      recordsPerFsync: (after.records - before.records) / fsyncs,
      requestsPerFsync: (after.requests - before.requests) / fsyncs,
      maxRequestsPerFsync: after.maxGroupRequests,
      vsSerial: serial === undefined ? 1 : recordsPerSecond / serial,
    };
  } finally {
    agent.destroy();
    await source.stop();
    await rm(folder, { recursive: true, force: true });
  }
}

function post(agent: Agent, port: number, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path: '/ingest', method: 'POST', agent,
      headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`ingest answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function formatHttpIngestTable(rows: readonly HttpIngestRow[]): string {
  const header = ['concurrency', 'requests', 'records/s', 'p50 ms', 'p99 ms', 'records/fsync', 'requests/fsync',
    'max req/fsync', 'vs c=1'];
  const cells = rows.map((r) => [String(r.concurrency), String(r.requests), r.recordsPerSecond.toFixed(0),
    r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), r.recordsPerFsync.toFixed(0), r.requestsPerFsync.toFixed(1),
    String(r.maxRequestsPerFsync), `${r.vsSerial.toFixed(2)}x`]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string => c.map((v, i) => v.padStart(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  console.log(`HTTP ingest: ${RECORDS_PER_REQUEST} records per request, acknowledged after fdatasync (${quick ? 'quick' : 'full'} run)`);
  console.log(formatHttpIngestTable(await runHttpIngestBench({ quick })));
}
