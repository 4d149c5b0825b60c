/**
 * One instance of a replicated ingest query for the machine-loss test: HTTP ingest with its log on a
 * JetStream stream -> count and sum per word (update mode) -> NATS, checkpoint on JetStream. Its HTTP port
 * listens while it waits as a standby too; prints `active <takeoverMs>` once it holds the lease.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { col, count, sum, Weir } from '../../src/index.js';
import { awaitEnd, FailoverChild, spawnInstance } from './failover-child.js';

export interface HttpFailoverConfig {
  readonly checkpoint: string;
  readonly wal: string;
  readonly port: number;
  readonly natsUrl: string;
  readonly outputSubject: string;
  readonly leaseTimeoutMs: number;
  /** The instance's own working folder ("its machine's disk"): the test deletes it with the process. */
  readonly workDir: string;
}

export function startHttpFailoverChild(config: HttpFailoverConfig): FailoverChild {
  return spawnInstance(fileURLToPath(import.meta.url), config);
}

async function main(config: HttpFailoverConfig): Promise<void> {
  mkdirSync(config.workDir, { recursive: true });
  process.chdir(config.workDir);
  const weir = new Weir();
  weir.streams.addListener({
    onQueryStarted: (e) => { process.stdout.write(`active ${e.takeoverMs ?? 0}\n`); },
  });
  const totals = weir.readStream.format('http').schema('word STRING, n LONG').option('port', config.port)
    .option('wal', config.wal).load()
    .groupBy(col('word')).agg(count(col('n')).as('records'), sum(col('n')).as('total'));
  const query = await totals.writeStream.format('nats').option('url', config.natsUrl).option('subject', config.outputSubject)
    .outputMode('update').option('checkpointLocation', config.checkpoint).option('standby', true)
    .option('minBatchesToRetain', 3).option('stateSnapshotInterval', 3)
    .option('leaseTimeoutMs', config.leaseTimeoutMs)
    .trigger({ processingTime: 50 }).start();
  await awaitEnd(query);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== undefined) {
  await main(JSON.parse(process.argv[2]!) as HttpFailoverConfig);
}
