/** The HTTP ingest benchmark (bench/http-ingest.ts) as rows of the suite's table. */
import { runHttpIngestBench } from '../http-ingest.js';
import { rate } from '../lib/report.js';
import { Workload } from '../lib/suite.js';

export const httpWorkloads: Workload = {
  ids: ['HTTP'],
  async run(suite) {
    const measured = await runHttpIngestBench({ quick: suite.quick });
    const serial = measured[0];
    return measured.map((r) => ({
      id: `HTTP c=${r.concurrency}`, workload: `HTTP ingest, ${r.concurrency} concurrent client(s), ack after fdatasync`,
      weir: rate(r.recordsPerSecond, 'records/s'), baseline: serial ? rate(serial.recordsPerSecond, 'records/s') : null,
      baselineName: 'same at concurrency 1', ratio: r.vsSerial, goal: 'reference', met: null,
      notes: [`ack p50 ${r.p50Ms.toFixed(2)} ms / p99 ${r.p99Ms.toFixed(2)} ms; ${r.recordsPerFsync.toFixed(0)} records ` +
        `(${r.requestsPerFsync.toFixed(1)} requests) per fdatasync`],
      details: { ...r },
    }));
  },
};
