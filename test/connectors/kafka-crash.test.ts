import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { mulberry32 } from './harness.js';
import { produce, readTopic, text, uniqueTopic } from './kafka-cluster.js';
import { CRASH_FAULTS, crashInput, expectedCounts, PipelineConfig, runPipeline } from './pipeline-child.js';
import { service } from './services.js';

const kafka = service('WEIR_TEST_KAFKA_BROKERS');
const postgres = service('WEIR_TEST_PG_URL');

/** The seed of the random kills: WEIR_TEST_SEED re-runs a failing one. */
function seed(): number {
  const given = process.env['WEIR_TEST_SEED'];
  return given === undefined ? Math.floor(Math.random() * 1_000_000) : Number(given);
}

describe('kafka crash tests', { skip: kafka.skip }, () => {
  /** Runs Kafka -> windowed count -> Kafka, crashing it with `crash`, then checks the output topic record by record. */
  async function kafkaToKafka(crash: (config: PipelineConfig) => Promise<void>): Promise<void> {
    const brokers = kafka.url();
    const input = uniqueTopic('crash-in');
    const output = uniqueTopic('crash-out');
    await produce(brokers, input, crashInput().map((e) => ({ value: JSON.stringify(e) })));
    await produce(brokers, output, [{ value: 'created' }]);
    const dir = await mkdtemp(join(tmpdir(), 'weir-kafka-crash-'));
    const config: PipelineConfig = {
      checkpoint: dir, natsUrl: '', inputStream: '', kafkaInput: { brokers, topic: input },
      sink: { format: 'kafka', brokers, topic: output },
    };
    try {
      await crash(config);
      assert.equal(await runPipeline(config, null), null, 'the last run finishes');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const records = (await readTopic(brokers, output, { includeHeaders: 'true' })).filter((r) => text(r['value']) !== 'created');
    const results = records.map((r) => {
      const row = JSON.parse(text(r['value'])!) as { window: { start: number }; word: string; count: number };
      return `${row.window.start}|${row.word}|${row.count}`;
    });
    assert.deepEqual(results.sort(), expectedCounts(), 'every window exactly once');
    const ids = records.map((r) => (r['headers'] as { key: string; value: Uint8Array }[])
      .filter((h) => h.key === 'weir.batch' || h.key === 'weir.row').map((h) => text(h.value)).join(':'));
    assert.equal(new Set(ids).size, ids.length, 'no (batch, row) written twice');
  }

  test('kafka -> windowed count -> kafka killed at each step of the protocol writes each result exactly once',
    { timeout: 300_000 }, () => kafkaToKafka(async (config) => {
      for (const fault of CRASH_FAULTS) assert.equal(await runPipeline(config, fault), 'SIGKILL', `killed at ${fault}`);
    }));

  test('kafka -> windowed count -> kafka SIGKILLed at random moments writes each result exactly once',
    { timeout: 300_000 }, async (t) => {
      const chosen = seed();
      t.diagnostic(`seed ${chosen} (re-run with WEIR_TEST_SEED=${chosen})`);
      const random = mulberry32(chosen);
      let kills = 0;
      await kafkaToKafka(async (config) => {
        for (let run = 0; run < 8; run++) {
          // A run spends up to a few seconds joining the reading consumer's group, then a batch every few ms:
          // kill moments spread over both.
          if (await runPipeline(config, null, 200 + Math.floor(random() * 2_800)) === 'SIGKILL') kills++;
        }
      });
      t.diagnostic(`${kills} of 8 runs were killed before they finished`);
      assert.ok(kills > 0, `no run was killed (seed ${chosen}): the test proved nothing`);
    });

  test('kafka -> windowed count -> postgres killed at each step writes each result exactly once',
    { timeout: 300_000, skip: postgres.skip }, async () => {
      const brokers = kafka.url();
      const input = uniqueTopic('crash-pg');
      await produce(brokers, input, crashInput().map((e) => ({ value: JSON.stringify(e) })));
      const table = `kafka_crash_${process.pid}`;
      const client = new pg.Client({ connectionString: postgres.url() });
      await client.connect();
      const dir = await mkdtemp(join(tmpdir(), 'weir-kafka-pg-'));
      try {
        await client.query(`DROP TABLE IF EXISTS "${table}"`);
        const config: PipelineConfig = {
          checkpoint: dir, natsUrl: '', inputStream: '', kafkaInput: { brokers, topic: input },
          sink: { format: 'postgres', url: postgres.url(), table },
        };
        for (const fault of CRASH_FAULTS) assert.equal(await runPipeline(config, fault), 'SIGKILL', `killed at ${fault}`);
        assert.equal(await runPipeline(config, null), null);
        const { rows } = await client.query<{ s: string; word: string; c: string }>(`SELECT
          (extract(epoch from window_start) * 1000)::bigint::text AS s, word, count::text AS c FROM "${table}"`);
        assert.deepEqual(rows.map((r) => `${r.s}|${r.word}|${r.c}`).sort(), expectedCounts());
      } finally {
        await client.query(`DROP TABLE IF EXISTS "${table}"`).catch(() => undefined);
        await client.end();
        await rm(dir, { recursive: true, force: true });
      }
    });
});
