/**
 * The nats sink's batch identity and rejected rows: every message carries its batch digest, so a
 * restarted sink whose newest message on the subject is from this query refuses a batch id planned
 * again over other input, or an older one; rows outside their types' ranges are refused before
 * anything is published, or recorded in `deadLetterPath` while the rest keep their message ids.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CheckpointError, ConnectorError } from '../../src/index.js';
import { Options } from '../../src/common/options.js';
import { Row, toSchema } from '../../src/common/schema.js';
import { connectJetStream, JetStreamHandle } from '../../src/connectors/nats/client.js';
import { NatsSink } from '../../src/connectors/nats/sink.js';
import { service } from './services.js';

const nats = service('WEIR_TEST_NATS_URL');
const SCHEMA = toSchema('ts TIMESTAMP, word STRING');

describe('nats sink: batch digests and rejected rows', { skip: nats.skip }, () => {
  let admin: JetStreamHandle;
  const streams: string[] = [];
  const folders: string[] = [];
  let seq = 0;

  before(async () => {
    admin = await connectJetStream([nats.url()], 'test');
  });

  after(async () => {
    for (const s of streams) await admin?.jsm.streams.delete(s).catch(() => false);
    await admin?.nc.close();
    for (const f of folders) await rm(f, { recursive: true, force: true });
  });

  async function newSubject(): Promise<{ stream: string; subject: string }> {
    const n = seq++;
    const stream = `WEIR_B_${process.pid}_${n}`;
    streams.push(stream);
    await admin.jsm.streams.add({ name: stream, subjects: [`weir.b.${process.pid}.${n}`] });
    return { stream, subject: `weir.b.${process.pid}.${n}` };
  }

  async function openSink(subject: string, opts: Record<string, string> = {}): Promise<NatsSink> {
    const sink = new NatsSink({ format: 'nats', options: new Options({ url: nats.url(), subject, ...opts }, 'nats sink'), path: null });
    await sink.open({ queryId: 'q1', queryName: null, schema: SCHEMA, outputMode: 'append', keyColumns: [] });
    return sink;
  }

  const rows = (...words: string[]): Row[] => words.map((word, i) => ({ ts: (i + 1) * 1000, word }));

  test('a restarted sink refuses the newest batch planned over other input, and an older batch id; the same batch is completed', async () => {
    const { stream, subject } = await newSubject();
    const first = await openSink(subject);
    await first.addBatch(0, rows('a'), 'digest-0');
    await first.addBatch(1, rows('b', 'c'), 'digest-1');
    await first.stop();

    const changed = await openSink(subject);
    await assert.rejects(changed.addBatch(1, rows('b', 'c', 'd'), 'digest-1-other'), (err: unknown) =>
      err instanceof CheckpointError && err.code === 'SINK_BATCH_CHANGED' && /already committed batch 1/.test(err.message) &&
      err.message.includes(`subject '${subject}'`));
    await changed.stop();

    const behind = await openSink(subject);
    await assert.rejects(behind.addBatch(0, rows('x'), 'digest-0-other'), (err: unknown) =>
      err instanceof CheckpointError && err.code === 'SINK_AHEAD_OF_CHECKPOINT' && /holds batch 1 of this query/.test(err.message));
    await behind.stop();

    const same = await openSink(subject);
    await same.addBatch(1, rows('b', 'c'), 'digest-1');
    await same.addBatch(2, rows('e'), 'digest-2');
    await same.stop();
    assert.equal((await admin.jsm.streams.info(stream)).state.messages, 4);
    const last = await admin.jsm.streams.getMessage(stream, { last_by_subj: subject });
    assert.equal(last?.header.get('Weir-Batch-Digest'), 'digest-2');
  });

  test('timestamps outside 0001-9999 fail the batch before anything is published; with deadLetterPath the rest keep their row index', async () => {
    const { stream, subject } = await newSubject();
    const batch: Row[] = [{ ts: 1000, word: 'a' }, { ts: 1e17, word: 'poison' }, { ts: 3000, word: 'c' }];
    const strict = await openSink(subject);
    await assert.rejects(strict.addBatch(0, batch, 'digest-0'), (err: unknown) =>
      err instanceof ConnectorError && err.code === 'SINK_REJECTED_ROW' && /row 1 of batch 0, column 'ts'/.test(err.message) &&
      /'deadLetterPath'/.test(err.message));
    await strict.stop();
    assert.equal((await admin.jsm.streams.info(stream)).state.messages, 0);

    const dead = await mkdtemp(join(tmpdir(), 'weir-nats-dead-'));
    folders.push(dead);
    const sink = await openSink(subject, { deadLetterPath: dead });
    await sink.addBatch(0, batch, 'digest-0');
    assert.deepEqual(sink.metrics(), { numRejectedRows: 1 });
    await sink.stop();
    const ids = [];
    for (const seqNo of [1, 2]) ids.push((await admin.jsm.streams.getMessage(stream, { seq: seqNo }))?.header.get('Nats-Msg-Id'));
    assert.deepEqual(ids, ['q1:0:0', 'q1:0:2']);
    const [file] = await readdir(dead);
    const line = JSON.parse((await readFile(join(dead, file!), 'utf8')).trim()) as { batchId: number; rowIndex: number; column: string };
    assert.deepEqual([line.batchId, line.rowIndex, line.column], [0, 1, 'ts']);
  });
});
