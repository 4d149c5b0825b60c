/**
 * Replicated HTTP ingest (option wal 'nats://…', acknowledged once a JetStream quorum has the request) at
 * concurrency 1/8/64, against the local WAL (acknowledged after fdatasync) measured in the same run. Needs a
 * NATS cluster: $WEIR_BENCH_NATS_URL or $WEIR_TEST_NATS_URL (`bash scripts/services.sh start` starts three servers).
 */
import '../../src/connectors/builtin.js';
import { connectJetStream } from '../../src/connectors/nats/client.js';
import { CONCURRENCIES, runHttpIngestBench } from '../http-ingest.js';
import { rate } from '../lib/report.js';
import { Workload } from '../lib/suite.js';

export const replicatedIngestWorkloads: Workload = {
  ids: ['HTTPR3'],
  async run(suite) {
    const url = process.env['WEIR_BENCH_NATS_URL'] ?? process.env['WEIR_TEST_NATS_URL'];
    if (!url) {
      return [{
        id: 'HTTPR3', workload: 'HTTP ingest with its log on JetStream R3', weir: null, baseline: null, baselineName: '',
        ratio: null, goal: 'reference', met: null,
        notes: ['not measured: no NATS cluster; set WEIR_BENCH_NATS_URL (or run `bash scripts/services.sh start` and its env)'],
      }];
    }
    const name = `bench_ingest_${process.pid}`;
    const local = await runHttpIngestBench({ quick: suite.quick });
    let replicated;
    try {
      replicated = await runHttpIngestBench({ quick: suite.quick, wal: (c) => `${url}/${name}_c${c}?replicas=3` });
    } finally {
      const admin = await connectJetStream([url], 'bench');
      for (const c of CONCURRENCIES) await admin.jsm.streams.delete(`WEIR_INGEST_${name}_c${c}`).catch(() => false);
      await admin.nc.close();
    }
    return replicated.map((r) => {
      const base = local.find((l) => l.concurrency === r.concurrency);
      return {
        id: `HTTPR3 c=${r.concurrency}`,
        workload: `HTTP ingest, ${r.concurrency} concurrent client(s), ack after a JetStream R3 quorum`,
        weir: rate(r.recordsPerSecond, 'records/s'), baseline: base ? rate(base.recordsPerSecond, 'records/s') : null,
        baselineName: 'local WAL, ack after fdatasync', ratio: base ? r.recordsPerSecond / base.recordsPerSecond : null,
        goal: 'reference', met: null,
        notes: [`ack p50 ${r.p50Ms.toFixed(2)} ms / p99 ${r.p99Ms.toFixed(2)} ms (local WAL: ${base?.p50Ms.toFixed(2)} / ` +
          `${base?.p99Ms.toFixed(2)} ms); 100 records per request, one stream message each`],
        details: { replicated: r, local: base },
      };
    });
  },
};
