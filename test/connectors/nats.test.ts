import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AnalysisError, col, ConnectorError, Weir, window } from '../../src/index.js';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { CheckpointStorage } from '../../src/checkpoint/storage.js';
import { Options } from '../../src/common/options.js';
import { Row, Schema, toSchema, WINDOW_TYPE } from '../../src/common/schema.js';
import { NatsSink } from '../../src/connectors/nats/sink.js';
import { connectJetStream, JetStreamHandle } from '../../src/connectors/nats/client.js';
import { NatsSource } from '../../src/connectors/nats/source.js';
import { mulberry32, testSeed } from './harness.js';
import { CRASH_FAULTS, crashInput, expectedCounts, PipelineConfig, runPipeline } from './pipeline-child.js';
import { service } from './services.js';
import { POISON } from '../codec/poison.js';

const nats = service('WEIR_TEST_NATS_URL');
const SCHEMA: Schema = toSchema('ts TIMESTAMP, word STRING, n LONG');

// Fails (rather than skips) when the server was not started, so a CI run cannot pass without these tests.
test('WEIR_TEST_NATS_URL names the nats-server of scripts/services.sh', { skip: nats.skip }, () => {
  assert.match(nats.url(), /^nats:\/\//);
});

describe('nats source and sink', { skip: nats.skip }, () => {
  let url = '';
  let admin: JetStreamHandle;
  const streams: string[] = [];
  let seq = 0;

  before(async () => {
    url = nats.url();
    admin = await connectJetStream([url], 'test');
  });

  after(async () => {
    for (const s of streams) await admin?.jsm.streams.delete(s).catch(() => false);
    await admin?.nc.close();
  });

  /** A fresh stream capturing `<prefix>.>`; deleted at the end. */
  async function newStream(duplicateWindowMs?: number): Promise<{ stream: string; prefix: string }> {
    const n = seq++;
    const stream = `WEIR_${process.pid}_${n}`;
    const prefix = `weir.${process.pid}.${n}`;
    streams.push(stream);
    await admin.jsm.streams.add({
      name: stream, subjects: [`${prefix}.>`],
      ...(duplicateWindowMs ? { duplicate_window: duplicateWindowMs * 1_000_000 } : {}),
    });
    return { stream, prefix };
  }

  async function publish(subject: string, payloads: readonly (Row | string)[]): Promise<void> {
    for (const p of payloads) await admin.js.publish(subject, typeof p === 'string' ? p : JSON.stringify(p));
  }

  const words = (from: number, to: number): Row[] =>
    Array.from({ length: to - from + 1 }, (_, i) => ({ ts: (from + i) * 1000, word: `w${from + i}`, n: from + i }));

  async function openSource(stream: string, opts: Record<string, string | number> = {}, storage: CheckpointStorage = new MemoryStorage(),
    schema: Schema | null = SCHEMA): Promise<NatsSource> {
    const source = new NatsSource({ format: 'nats', options: new Options({ url, stream, ...opts }, 'nats source'), schema, path: null });
    await source.open({ storage, queryId: 'q', notifyDataAvailable: () => {} });
    return source;
  }

  test('reads sequence ranges deterministically, skipping deleted messages', async () => {
    const { stream, prefix } = await newStream();
    await publish(`${prefix}.in`, words(1, 10));
    const source = await openSource(stream);
    try {
      assert.deepEqual(await source.latestOffset(null), { [stream]: 10 });
      assert.deepEqual(await source.getBatch(null, { [stream]: 10 }), words(1, 10));
      assert.deepEqual(await source.getBatch({ [stream]: 3 }, { [stream]: 7 }), words(4, 7));
      assert.deepEqual(await source.getBatch({ [stream]: 3 }, { [stream]: 7 }), words(4, 7));
      assert.deepEqual(await source.getBatch({ [stream]: 7 }, { [stream]: 7 }), []);
      await admin.jsm.streams.deleteMessage(stream, 5);
      assert.deepEqual((await source.getBatch({ [stream]: 3 }, { [stream]: 7 })).map((r) => r['n']), [4, 6, 7]);
      assert.deepEqual(await source.latestOffset({ [stream]: 10 }), { [stream]: 10 });
    } finally {
      await source.stop();
    }
  });

  test('honours maxRecordsPerTrigger and reports lag', async () => {
    const { stream, prefix } = await newStream();
    await publish(`${prefix}.in`, words(1, 10));
    const source = await openSource(stream, { maxRecordsPerTrigger: 4 });
    try {
      const ends = [];
      let start: unknown = null;
      for (;;) {
        const end = await source.latestOffset(start);
        if (JSON.stringify(end) === JSON.stringify(start)) break;
        ends.push(end);
        assert.equal((await source.getBatch(start, end)).length, (end as Record<string, number>)[stream]! -
          ((start as Record<string, number> | null)?.[stream] ?? 0));
        start = end;
      }
      assert.deepEqual(ends, [{ [stream]: 4 }, { [stream]: 8 }, { [stream]: 10 }]);
      assert.deepEqual(source.metrics({ [stream]: 4 }), { lag: 6 });
      assert.deepEqual(source.metrics({ [stream]: 10 }), { lag: 0 });
    } finally {
      await source.stop();
    }
  });

  test('a re-created source replays a range and keeps the starting sequence of its first start', async () => {
    const { stream, prefix } = await newStream();
    await publish(`${prefix}.in`, words(1, 5));
    const storage = new MemoryStorage();
    const first = await openSource(stream, { startingSequence: 'latest' }, storage);
    assert.equal(await first.latestOffset(null), null);
    await publish(`${prefix}.in`, words(6, 8));
    const end = await first.latestOffset(null);
    assert.deepEqual(end, { [stream]: 8 });
    const rows = await first.getBatch(null, end!);
    await first.stop();
    await publish(`${prefix}.in`, words(9, 9));
    const again = await openSource(stream, { startingSequence: 'latest' }, storage);
    try {
      assert.deepEqual(rows, words(6, 8));
      assert.deepEqual(await again.getBatch(null, end!), rows);
      assert.deepEqual(await again.getBatch({ [stream]: 6 }, { [stream]: 8 }), words(7, 8));
    } finally {
      await again.stop();
    }
    const numbered = await openSource(stream, { startingSequence: 3 });
    try {
      assert.deepEqual(await numbered.getBatch(null, { [stream]: 4 }), words(3, 4));
    } finally {
      await numbered.stop();
    }
  });

  test('a subject filter reads only its subject, also over ranges without any match', async () => {
    const { stream, prefix } = await newStream();
    await publish(`${prefix}.a`, words(1, 2));
    await publish(`${prefix}.b`, words(3, 5));
    await publish(`${prefix}.a`, words(6, 6));
    const source = await openSource(stream, { subject: `${prefix}.a` });
    try {
      assert.deepEqual((await source.getBatch(null, { [stream]: 6 })).map((r) => r['n']), [1, 2, 6]);
      assert.deepEqual(await source.getBatch({ [stream]: 2 }, { [stream]: 5 }), []);
    } finally {
      await source.stop();
    }
  });

  test('timestamps may be epoch ms or ISO-8601 strings', async () => {
    const { stream, prefix } = await newStream();
    await publish(`${prefix}.in`, ['{"ts":"2024-01-01T00:00:01Z","word":"a","n":1}', '{"ts":5,"word":"b"}']);
    const source = await openSource(stream);
    try {
      assert.deepEqual(await source.getBatch(null, { [stream]: 2 }), [
        { ts: Date.UTC(2024, 0, 1, 0, 0, 1), word: 'a', n: 1 }, { ts: 5, word: 'b', n: null },
      ]);
    } finally {
      await source.stop();
    }
  });

  test('values outside their type\'s domain (unsafe longs, NOT NULL, timestamps beyond 0001-9999) are malformed messages', async () => {
    const { stream, prefix } = await newStream();
    const schema = toSchema('ts TIMESTAMP, d DATE, l LONG, i INT, x DOUBLE, m DECIMAL(5,2), s STRING NOT NULL');
    const poisoned = POISON.map(([columnSchema, json]) => {
      const column = columnSchema.split(' ')[0]!;
      return column === 's' ? `{"s": ${json}}` : `{"s": "ok", "${column}": ${json}}`;
    });
    await publish(`${prefix}.in`, ['{"s": "first", "l": 9007199254740991}', ...poisoned, '{"ts": 5}']);
    const end = { [stream]: poisoned.length + 2 };
    const failing = await openSource(stream, {}, new MemoryStorage(), schema);
    try {
      for (const [i, [, , reason]] of POISON.entries()) {
        await assert.rejects(failing.getBatch({ [stream]: i + 1 }, end), (err: unknown) =>
          err instanceof ConnectorError && err.message.includes(`at sequence ${i + 2} `) && reason.test(err.message));
      }
      await assert.rejects(failing.getBatch({ [stream]: poisoned.length + 1 }, end), /field 's' is missing but the schema says NOT NULL/);
    } finally {
      await failing.stop();
    }
    const dropping = await openSource(stream, { mode: 'DROPMALFORMED' }, new MemoryStorage(), schema);
    try {
      assert.deepEqual(await dropping.getBatch(null, end), [{ ts: null, d: null, l: 2 ** 53 - 1, i: null, x: null, m: null, s: 'first' }]);
    } finally {
      await dropping.stop();
    }
  });

  test('a STRING column keeps a JSON number\'s text', async () => {
    const { stream, prefix } = await newStream();
    await publish(`${prefix}.in`, ['{"word": 12345678901234567890, "n": 1}', '{"word": 1e400}']);
    const source = await openSource(stream);
    try {
      assert.deepEqual((await source.getBatch(null, { [stream]: 2 })).map((r) => r['word']), ['12345678901234567890', '1e400']);
    } finally {
      await source.stop();
    }
  });

  test('malformed messages: FAILFAST names stream and sequence; DROPMALFORMED and PERMISSIVE', async () => {
    const { stream, prefix } = await newStream();
    await publish(`${prefix}.in`, [{ ts: 1, word: 'a', n: 1 }, 'not json', { ts: 3, word: 'c', n: 'three' }, { ts: 4, word: 'd', n: 4 }]);
    const failing = await openSource(stream);
    try {
      await assert.rejects(failing.getBatch(null, { [stream]: 4 }), (err: unknown) => {
        assert.ok(err instanceof ConnectorError);
        assert.equal(err.code, 'NATS_MALFORMED_MESSAGE');
        assert.match(err.message, new RegExp(`stream '${stream}' at sequence 2 \\(subject ${prefix}\\.in\\): not valid JSON`));
        assert.match(err.message, /mode 'PERMISSIVE'/);
        return true;
      });
      await assert.rejects(failing.getBatch({ [stream]: 2 }, { [stream]: 4 }),
        /at sequence 3 .*field 'n' is "three", not a long/);
    } finally {
      await failing.stop();
    }
    const dropping = await openSource(stream, { mode: 'DROPMALFORMED' });
    try {
      assert.deepEqual((await dropping.getBatch(null, { [stream]: 4 })).map((r) => r['word']), ['a', 'd']);
    } finally {
      await dropping.stop();
    }
    const keeping = await openSource(stream, { mode: 'PERMISSIVE' }, new MemoryStorage(),
      toSchema('ts TIMESTAMP, word STRING, n LONG, _corrupt_record STRING'));
    try {
      assert.deepEqual(await keeping.getBatch(null, { [stream]: 4 }), [
        { ts: 1, word: 'a', n: 1, _corrupt_record: null },
        { ts: null, word: null, n: null, _corrupt_record: 'not json' },
        { ts: 3, word: 'c', n: null, _corrupt_record: '{"ts":3,"word":"c","n":"three"}' },
        { ts: 4, word: 'd', n: 4, _corrupt_record: null },
      ]);
    } finally {
      await keeping.stop();
    }
  });

  test('purged messages and a re-created stream fail the query unless failOnDataLoss is false', async () => {
    const { stream, prefix } = await newStream();
    await publish(`${prefix}.in`, words(1, 6));
    const source = await openSource(stream);
    const lenient = await openSource(stream, { failOnDataLoss: 'false' });
    try {
      await admin.jsm.streams.purge(stream, { keep: 2 });
      await assert.rejects(source.getBatch({ [stream]: 2 }, { [stream]: 6 }), (err: unknown) => {
        assert.ok(err instanceof ConnectorError);
        assert.equal(err.code, 'NATS_DATA_LOSS');
        assert.match(err.message, new RegExp(`Stream '${stream}' no longer holds sequences 3\\.\\.4`));
        assert.match(err.message, /failOnDataLoss/);
        return true;
      });
      assert.deepEqual((await lenient.getBatch({ [stream]: 2 }, { [stream]: 6 })).map((r) => r['n']), [5, 6]);
      // A stream deleted and created again starts its sequences anew, behind the offsets read.
      await admin.jsm.streams.delete(stream);
      await admin.jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
      await assert.rejects(source.latestOffset({ [stream]: 6 }), (err: unknown) =>
        err instanceof ConnectorError && err.code === 'NATS_DATA_LOSS' && /ends at sequence 0, before sequence 6/.test(err.message));
      assert.deepEqual(await lenient.latestOffset({ [stream]: 6 }), { [stream]: 6 });
    } finally {
      await source.stop();
      await lenient.stop();
    }
  });

  test('bad options, a missing stream and an unreachable server are reported by name', async () => {
    assert.throws(() => new NatsSource({ format: 'nats', options: new Options({ stream: 'S' }), schema: null, path: null }),
      (err: unknown) => err instanceof AnalysisError && err.code === 'MISSING_SCHEMA');
    assert.throws(() => new NatsSource({ format: 'nats', options: new Options({}, 'nats source'), schema: SCHEMA, path: null }),
      (err: unknown) => err instanceof AnalysisError && /'stream'/.test(err.message));
    assert.throws(() => new NatsSource({ format: 'nats', options: new Options({ stream: 'S', startingSequence: 'first' }),
      schema: SCHEMA, path: null }), (err: unknown) => err instanceof AnalysisError && /'startingSequence'/.test(err.message));
    assert.throws(() => new NatsSink({ format: 'nats', options: new Options({}, 'nats sink'), path: null }),
      (err: unknown) => err instanceof AnalysisError && /'subject'/.test(err.message));
    assert.throws(() => new NatsSink({ format: 'nats', options: new Options({ subject: 'x', createStream: true }), path: null }),
      (err: unknown) => err instanceof AnalysisError && /'stream'/.test(err.message));
    await assert.rejects(openSource(`NO_SUCH_${process.pid}`), (err: unknown) =>
      err instanceof ConnectorError && err.code === 'NATS_NO_STREAM' && err.message.includes(`stream 'NO_SUCH_${process.pid}'`));
    const { stream } = await newStream();
    const source = await openSource(stream);
    try {
      await assert.rejects(source.getBatch({ OTHER: 1 }, { OTHER: 2 }), (err: unknown) =>
        err instanceof ConnectorError && err.code === 'NATS_OFFSET' && err.message.includes(`no sequence for stream '${stream}'`));
    } finally {
      await source.stop();
    }
    const closed = new URL(url.split(',')[0]!); // the first server of the cluster
    closed.port = '1';
    const unreachable = new NatsSource({ format: 'nats', options: new Options({ url: closed.toString(), stream: 'S' }), schema: SCHEMA, path: null });
    await assert.rejects(unreachable.open({ storage: new MemoryStorage(), queryId: 'q', notifyDataAvailable: () => {} }),
      (err: unknown) => err instanceof ConnectorError && err.code === 'NATS_CONNECTION' && /127\.0\.0\.1:1/.test(err.message));
  });

  async function openSink(subject: string, opts: Record<string, string> = {}, queryId = 'q1'): Promise<NatsSink> {
    const sink = new NatsSink({ format: 'nats', options: new Options({ url, subject, ...opts }, 'nats sink'), path: null });
    await sink.open({ queryId, queryName: null, schema: SCHEMA, outputMode: 'append', keyColumns: [] });
    return sink;
  }

  test('sink: re-publishing a batch leaves one copy of each row (message ids)', async () => {
    const { stream, prefix } = await newStream();
    const sink = await openSink(`${prefix}.out`);
    try {
      await sink.addBatch(0, words(1, 3), 'digest-0');
      await sink.addBatch(0, words(1, 3), 'digest-0');
      await sink.addBatch(1, words(4, 4), 'digest-1');
      await sink.addBatch(1, words(4, 4), 'digest-1');
    } finally {
      await sink.stop();
    }
    const again = await openSink(`${prefix}.out`);
    await again.addBatch(1, words(4, 4), 'digest-1');
    await again.stop();
    const info = await admin.jsm.streams.info(stream);
    assert.equal(info.state.messages, 4);
    const first = await admin.jsm.streams.getMessage(stream, { seq: 1 });
    assert.deepEqual(first?.json(), { ts: '1970-01-01T00:00:01.000Z', word: 'w1', n: 1 });
    assert.equal(first?.header.get('Nats-Msg-Id'), 'q1:0:0');
    // What the sink writes, the source reads back.
    const source = await openSource(stream);
    try {
      assert.deepEqual(await source.getBatch(null, { [stream]: 4 }), words(1, 4));
    } finally {
      await source.stop();
    }
  });

  test('sink: a message the stream refuses fails the batch, naming row, batch and subject', async () => {
    const { stream, prefix } = await newStream();
    await admin.jsm.streams.update(stream, { max_msg_size: 200 });
    const sink = await openSink(`${prefix}.out`);
    try {
      await assert.rejects(sink.addBatch(3, [{ ts: 1, word: 'short', n: 1 }, { ts: 2, word: 'x'.repeat(300), n: 2 }], 'digest-3'),
        (err: unknown) => {
          assert.ok(err instanceof ConnectorError);
          assert.equal(err.code, 'NATS_PUBLISH');
          assert.match(err.message, new RegExp(`row 1 of batch 3 to subject '${prefix.replace(/\./g, '\\.')}\\.out' failed`));
          assert.match(err.message, /duplicate window/);
          return true;
        });
    } finally {
      await sink.stop();
    }
  });

  test('sink: creates its stream when asked, with the duplicate window given', async () => {
    const stream = `WEIR_${process.pid}_${seq++}_created`;
    streams.push(stream);
    const subject = `weir.${process.pid}.created`;
    await assert.rejects(openSink(subject), (err: unknown) => {
      assert.ok(err instanceof ConnectorError);
      assert.equal(err.code, 'NATS_NO_STREAM');
      assert.match(err.message, new RegExp(`No JetStream stream captures subject '${subject.replace(/\./g, '\\.')}'`));
      return true;
    });
    const sink = await openSink(subject, { stream, createStream: 'true', duplicateWindow: '5 minutes' });
    await sink.addBatch(0, words(1, 2), 'digest-0');
    await sink.addBatch(0, words(1, 2), 'digest-0');
    await sink.stop();
    const info = await admin.jsm.streams.info(stream);
    assert.equal(info.config.duplicate_window, 5 * 60 * 1000 * 1_000_000);
    assert.equal(info.state.messages, 2);
    await assert.rejects(openSink(subject, { stream: 'OTHER' }), (err: unknown) =>
      err instanceof ConnectorError && err.code === 'NATS_STREAM_MISMATCH' && err.message.includes(`stream '${stream}'`));
  });

  test('nats -> windowed count -> nats through the public API, with lag in progress', async () => {
    const input = await newStream();
    const output = await newStream();
    await publish(`${input.prefix}.in`, [1_000, 2_000, 3_000, 12_000, 13_000].map((ts, i) => ({ ts, word: i % 2 ? 'b' : 'a', n: i })));
    const dir = await mkdtemp(join(tmpdir(), 'weir-nats-'));
    const weir = new Weir();
    try {
      const query = await weir.readStream.format('nats').schema(SCHEMA).option('url', url).option('stream', input.stream)
        .option('maxRecordsPerTrigger', 2).load()
        .withWatermark('ts', '5 seconds').groupBy(window(col('ts'), '10 seconds'), col('word')).count()
        .writeStream.format('nats').option('url', url).option('subject', `${output.prefix}.counts`)
        .outputMode('update').option('checkpointLocation', dir).trigger({ processingTime: 0 }).start();
      await query.processAllAvailable();
      const sources = query.lastProgress?.sources ?? [];
      assert.deepEqual(sources[0]?.metrics, { lag: 0 });
      await query.stop();
      const out = await openSource(output.stream, {}, new MemoryStorage(), toSchema('window STRING, word STRING, count LONG'));
      const info = await admin.jsm.streams.info(output.stream);
      const rows = await out.getBatch(null, { [output.stream]: info.state.last_seq });
      await out.stop();
      // Update mode: the last row per (window, word) is the final count.
      const last = new Map(rows.map((r) => [`${r['window']}|${r['word']}`, r['count']]));
      assert.deepEqual(Object.fromEntries(last), {
        '{"start":"1970-01-01T00:00:00.000Z","end":"1970-01-01T00:00:10.000Z"}|a': 2,
        '{"start":"1970-01-01T00:00:00.000Z","end":"1970-01-01T00:00:10.000Z"}|b': 1,
        '{"start":"1970-01-01T00:00:10.000Z","end":"1970-01-01T00:00:20.000Z"}|a': 1,
        '{"start":"1970-01-01T00:00:10.000Z","end":"1970-01-01T00:00:20.000Z"}|b': 1,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  /** Runs `crash` against a fresh input and output stream, then checks the output holds each expected count once. */
  async function natsCrashRun(crash: (config: PipelineConfig) => Promise<void>): Promise<void> {
    const input = await newStream();
    const output = await newStream();
    await publish(`${input.prefix}.in`, crashInput());
    const dir = await mkdtemp(join(tmpdir(), 'weir-nats-crash-'));
    try {
      const config = { checkpoint: dir, natsUrl: url, inputStream: input.stream, sink: { format: 'nats' as const, subject: `${output.prefix}.counts` } };
      await crash(config);
      assert.equal(await runPipeline(config, null), null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const schema: Schema = [{ name: 'window', type: WINDOW_TYPE, nullable: false }, ...toSchema('word STRING, count LONG')];
    const reader = await openSource(output.stream, {}, new MemoryStorage(), schema);
    try {
      const last = (await admin.jsm.streams.info(output.stream)).state.last_seq;
      const rows = await reader.getBatch(null, { [output.stream]: last });
      assert.deepEqual(rows.map((r) => `${(r['window'] as { start: number }).start}|${r['word']}|${r['count']}`).sort(),
        expectedCounts());
    } finally {
      await reader.stop();
    }
  }

  test('crash test: nats -> windowed count -> nats killed at several steps publishes each result exactly once',
    { timeout: 120_000 }, () => natsCrashRun(async (config) => {
      for (const fault of CRASH_FAULTS) assert.equal(await runPipeline(config, fault), 'SIGKILL', `killed at ${fault}`);
    }));

  test('crash test: nats -> windowed count -> nats SIGKILLed at random moments publishes each result exactly once',
    { timeout: 120_000 }, async (t) => {
      const seed = testSeed(t);
      const random = mulberry32(seed);
      let kills = 0;
      await natsCrashRun(async (config) => {
        for (let run = 0; run < 16; run++) {
          if (await runPipeline(config, null, 100 + Math.floor(random() * 250)) === 'SIGKILL') kills++;
        }
      });
      t.diagnostic(`seed ${seed}: ${kills} of 16 runs were killed before they finished`);
      assert.ok(kills > 0, `seed ${seed}: no run was killed before it finished; the test proved nothing`);
    });
});
