/**
 * What a replicated checkpoint costs: the durable writes of one batch (offsets entry, one state delta per
 * partition, commit entry), timed on the local disk and on JetStream with 1 and 3 replicas, in the same run.
 *
 *   node dist/bench/replication.js --nats nats://127.0.0.1:4222,127.0.0.1:4223,127.0.0.1:4224 [--batches 200]
 *
 * (default --nats: $WEIR_TEST_NATS_URL, which `bash scripts/services.sh start` sets to a three-node cluster.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeFile } from '../src/checkpoint/file-format.js';
import { FileSystemStorage } from '../src/checkpoint/fs-storage.js';
import { CheckpointStorage } from '../src/checkpoint/storage.js';
import { connectJetStream } from '../src/connectors/nats/client.js';
import { JetStreamStorage } from '../src/connectors/nats/jetstream-storage.js';

const PARTITIONS = 4;

async function batchCommitTimes(storage: CheckpointStorage, batches: number): Promise<number[]> {
  const lock = await storage.lock({ queryId: 'bench', runId: 'bench' }, { leaseTimeoutMs: 10_000 });
  const delta = Buffer.alloc(2_048, 1); // a small delta: the cost measured is the round trips, not the bytes
  const times: number[] = [];
  for (let n = 0; n < batches; n++) {
    const t = performance.now();
    await storage.writeAtomic(`offsets/${n}`, encodeFile('offsets', 1, `{"batch":${n}}`), { overwrite: false });
    for (let p = 0; p < PARTITIONS; p++) {
      await storage.writeAtomic(`state/0/${p}/${n + 1}.delta`, encodeFile('state-delta', 1, delta), { overwrite: false });
    }
    await storage.writeAtomic(`commits/${n}`, encodeFile('commit', 1, `{"batch":${n}}`), { overwrite: false });
    times.push(performance.now() - t);
  }
  await lock.release();
  return times;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { nats: { type: 'string' }, batches: { type: 'string' } } });
  const url = values.nats ?? process.env['WEIR_TEST_NATS_URL'];
  if (!url) throw new Error('Give --nats nats://host:port[,host:port…] (or set WEIR_TEST_NATS_URL).');
  const batches = Number(values.batches ?? 200);
  const hosts = url.replace(/^nats:\/\//, '');
  const admin = await connectJetStream([url], 'bench');
  const dir = await mkdtemp(join(tmpdir(), 'weir-bench-replication-'));
  const names: string[] = [];
  const rows: string[] = [];
  let localP50 = 0;
  try {
    const targets: [string, () => CheckpointStorage][] = [
      ['local disk', () => new FileSystemStorage(join(dir, 'checkpoint'))],
      ['JetStream R1', () => { names.push(`bench_r1_${process.pid}`); return new JetStreamStorage(`nats://${hosts}/bench_r1_${process.pid}?replicas=1`); }],
      ['JetStream R3', () => { names.push(`bench_r3_${process.pid}`); return new JetStreamStorage(`nats://${hosts}/bench_r3_${process.pid}?replicas=3`); }],
    ];
    for (const [label, make] of targets) {
      const times = (await batchCommitTimes(make(), batches)).sort((a, b) => a - b);
      const p50 = quantile(times, 0.5);
      if (label === 'local disk') localP50 = p50;
      rows.push(`| ${label} | ${p50.toFixed(2)} | ${quantile(times, 0.99).toFixed(2)} | ${(p50 / localP50).toFixed(1)}x |`);
    }
  } finally {
    for (const name of names) {
      await admin.jsm.streams.delete(`KV_weir_${name}`).catch(() => false);
      await admin.jsm.streams.delete(`OBJ_weir_${name}`).catch(() => false);
    }
    await admin.nc.close();
    await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(`Durable writes of one batch (offsets, ${PARTITIONS} state deltas, commit), ${batches} batches\n\n` +
    '| checkpoint | p50 ms | p99 ms | p50 vs local |\n|---|---|---|---|\n' + `${rows.join('\n')}\n`);
}

await main();
