import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { AnalysisError, CheckpointError, ConnectorError, Weir } from '../../src/index.js';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { PrefixedStorage } from '../../src/checkpoint/prefixed-storage.js';
import { Row, toSchema } from '../../src/common/schema.js';
import { encodeFrame, FrameKind } from '../../src/connectors/http/frames.js';
import { CRASH_SCHEMA } from './http-crash-child.js';
import { freePort, mulberry32, testSeed } from './harness.js';
import { jsonLines, makeSource, open, post, record, records, Reply, segments, tempFolder, walDir } from './http-helpers.js';
import { removeTempDirs } from '../api/helpers.js';
import { POISON } from '../codec/poison.js';

after(removeTempDirs);

const startOf = (segment: string): number => Number(segment.slice(0, 20));

describe('http source options', () => {
  test('a schema is required, naming the method to call', () => {
    assert.throws(() => makeSource({ port: 0 }, null), (err: unknown) =>
      err instanceof AnalysisError && err.code === 'MISSING_SCHEMA' && /\.schema\(/.test(err.message));
  });

  test('port is required and must be a port number', () => {
    assert.throws(() => makeSource({}), (err: unknown) =>
      err instanceof AnalysisError && err.code === 'MISSING_OPTION' && /'port'/.test(err.message));
    assert.throws(() => makeSource({ port: 70000 }), (err: unknown) =>
      err instanceof AnalysisError && err.code === 'INVALID_OPTION' && /'port'/.test(err.message) && /70000/.test(err.message));
    assert.throws(() => makeSource({ port: 0, maxBodyBytes: 'lots' }), (err: unknown) =>
      err instanceof AnalysisError && /'maxBodyBytes'/.test(err.message));
  });

  test('a port in use is a ConnectorError naming it', async () => {
    const first = await open(await tempFolder());
    try {
      const second = makeSource({ port: first.source.port });
      await assert.rejects(second.open({
        storage: new PrefixedStorage(new FileSystemStorage(await tempFolder()), 'sources/0'), queryId: 'q',
        notifyDataAvailable: () => {},
      }), (err: unknown) => err instanceof ConnectorError && err.code === 'HTTP_LISTEN' &&
        err.message.includes(`:${first.source.port}`));
    } finally {
      await first.source.stop();
    }
  });
});

describe('http source ingest', () => {
  test('concurrent POSTs get distinct contiguous offsets, durable and readable in order', async () => {
    const folder = await tempFolder();
    const { source, url, notified } = await open(folder);
    try {
      const replies = await Promise.all(Array.from({ length: 24 }, (_, r) => post(url, jsonLines(records(r * 5, 5)))));
      const ranges = replies.map((reply) => {
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        return reply.body.offsets!;
      });
      const sorted = [...ranges].sort((a, b) => a.start - b.start);
      let next = 0;
      for (const range of sorted) {
        assert.equal(range.start, next);
        assert.equal(range.end, range.start + 5);
        next = range.end;
      }
      assert.equal(next, 120);
      assert.deepEqual(await source.latestOffset(null), { end: 120 });
      const rows = await source.getBatch(null, { end: 120 });
      for (const [r, range] of ranges.entries()) assert.deepEqual(rows.slice(range.start, range.end), records(r * 5, 5));
      const stats = source.stats;
      assert.equal(stats.requests, 24);
      assert.equal(stats.records, 120);
      assert.ok(stats.groupCommits >= 1 && stats.groupCommits <= 24);
      assert.ok(notified() >= stats.groupCommits);
    } finally {
      await source.stop();
    }
  });

  test('JSON arrays and typed fields are converted by the schema', async () => {
    const folder = await tempFolder();
    const schema = toSchema('ts TIMESTAMP, day DATE, s STRING, big LONG, ok BOOLEAN');
    const { source, url } = await open(folder, {}, schema);
    try {
      const body = JSON.stringify([
        { ts: '2024-01-02T03:04:05Z', day: '2024-01-02', s: 'x', big: 2 ** 40, ok: true, extra: 1 },
        { ts: '2024-01-02T03:04:05.250', day: 1_704_164_645_000, s: 42, ok: false },
        { ts: '2024-01-02T05:04:05+02:00', day: null, s: { a: 1 } },
      ]);
      const reply = await post(url, body, { 'content-type': 'application/json' });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const t = Date.UTC(2024, 0, 2, 3, 4, 5);
      const day = Date.UTC(2024, 0, 2);
      assert.deepEqual(await source.getBatch(null, { end: 3 }), [
        { ts: t, day, s: 'x', big: 2 ** 40, ok: true },
        { ts: t + 250, day, s: '42', big: null, ok: false },
        { ts: t, day: null, s: '{"a":1}', big: null, ok: null },
      ]);
    } finally {
      await source.stop();
    }
  });

  test('a malformed record refuses the whole request with 400 naming its line; nothing is ingested', async () => {
    const folder = await tempFolder();
    const { source, url } = await open(folder, {}, toSchema('ts TIMESTAMP, user STRING NOT NULL, amount DOUBLE, n INT'));
    try {
      const cases: [string, number, RegExp][] = [
        [`${JSON.stringify(record(1))}\n\n{"ts": 5, "user": "b", "amount": "lots"}`, 3, /'amount'.*not a double/],
        [`${JSON.stringify(record(1))}\n{"ts": 5, "user": "b",`, 2, /not valid JSON/],
        [`${JSON.stringify(record(1))}\n[1, 2]`, 2, /expected a JSON object/],
        [`${JSON.stringify(record(1))}\n{"ts": 5, "n": 1}`, 2, /'user' is missing but the schema says NOT NULL/],
        [`${JSON.stringify(record(1))}\n{"ts": "yesterday", "user": "b"}`, 2, /'ts'.*not a timestamp/],
        [`{"ts": 5, "user": "b", "n": 1.5}`, 1, /'n'.*not an integer/],
        [`{"ts": 5, "user": "b", "amount": 1e999}`, 1, /'amount'.*not a double/],
        [`[\n  ${JSON.stringify(record(1))},\n  {"ts": 5, "user": "b", "n": 2147483648}\n]`, 3, /'n'/],
        [`[\n  ${JSON.stringify(record(1))},\n  {"ts": 5,, "user": "b"}\n]`, 3, /not valid JSON/],
      ];
      for (const [body, line, reason] of cases) {
        const reply = await post(url, body);
        assert.equal(reply.status, 400, body);
        assert.equal(reply.body.line, line, `${body}: ${reply.body.error}`);
        assert.match(reply.body.error!, new RegExp(`line ${line}`));
        assert.match(reply.body.error!, reason);
      }
      assert.equal((await post(url, '\n  \n')).status, 400);
      assert.equal(await source.latestOffset(null), null);
      assert.equal(source.stats.records, 0);
    } finally {
      await source.stop();
    }
  });

  test('a value outside its type\'s domain refuses the request with 400 naming the record and the field', async () => {
    const folder = await tempFolder();
    const { source, url } = await open(folder, {}, toSchema('ts TIMESTAMP, d DATE, l LONG, i INT, x DOUBLE, m DECIMAL(5,2), s STRING NOT NULL'));
    try {
      for (const [columnSchema, json, reason] of POISON) {
        const column = columnSchema.split(' ')[0]!;
        const poisoned = column === 's' ? `{"s": ${json}}` : `{"s": "ok", "${column}": ${json}}`;
        for (const body of [`{"s": "a"}\n${poisoned}`, `[{"s": "a"},\n ${poisoned}]`]) {
          const reply = await post(url, body);
          assert.equal(reply.status, 400, body);
          assert.equal(reply.body.record, 2, body);
          assert.equal(reply.body.line, 2, body);
          assert.match(reply.body.error!, /^Record 2 at line 2: /);
          assert.match(reply.body.error!, reason);
        }
      }
      assert.equal(await source.latestOffset(null), null);
    } finally {
      await source.stop();
    }
  });

  test('a STRING column keeps a JSON number\'s text (lines and arrays), through the WAL', async () => {
    const folder = await tempFolder();
    const { source, url } = await open(folder, {}, toSchema('id STRING, v STRING'));
    try {
      assert.equal((await post(url, '{"id":12345678901234567890,"v":1e400}\n{"id":"x","v":[1.0, 2]}')).status, 200);
      assert.equal((await post(url, '[{"id": 1.50}, {"id": 98765432109876543210, "v": -0}]')).status, 200);
      assert.deepEqual(await source.getBatch(null, { end: 4 }), [
        { id: '12345678901234567890', v: '1e400' }, { id: 'x', v: '[1.0, 2]' },
        { id: '1.50', v: null }, { id: '98765432109876543210', v: '-0' },
      ]);
    } finally {
      await source.stop();
    }
  });

  test('a body over maxBodyBytes gets 413, declared or streamed', async () => {
    const { source, url } = await open(await tempFolder(), { maxBodyBytes: 1000 });
    try {
      const big = jsonLines(records(0, 30));
      const reply = await post(url, big);
      assert.equal(reply.status, 413);
      assert.match(reply.body.error!, /maxBodyBytes/);
      // Chunked, without a Content-Length: refused once the limit is passed.
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${url}/ingest`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } },
          (res) => { res.resume(); resolve(res.statusCode!); });
        req.on('error', reject);
        for (let i = 0; i < 3; i++) req.write(`${jsonLines(records(i * 10, 10))}\n`);
        req.end();
      });
      assert.equal(status, 413);
      assert.equal(source.stats.records, 0);
      assert.equal((await post(url, jsonLines(records(0, 2)))).status, 200);
    } finally {
      await source.stop();
    }
  });

  test('a full backlog gets 429 with Retry-After until the query commits', async () => {
    const { source, url } = await open(await tempFolder(), { maxBacklogRecords: 5 });
    try {
      assert.equal((await post(url, jsonLines(records(0, 5)))).status, 200);
      const refused = await post(url, jsonLines(records(5, 1)));
      assert.equal(refused.status, 429);
      assert.match(refused.body.error!, /maxBacklogRecords/);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.deepEqual(await source.latestOffset(null), { end: 5 });
      await source.commit({ end: 5 });
      assert.deepEqual((await post(url, jsonLines(records(5, 1)))).body.offsets, { start: 5, end: 6 });
    } finally {
      await source.stop();
    }
  });

  test('with authToken, requests without the bearer token get 401', async () => {
    const { source, url } = await open(await tempFolder(), { authToken: 's3cret' });
    try {
      const missing = await post(url, jsonLines(records(0, 1)));
      assert.equal(missing.status, 401);
      assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal((await post(url, jsonLines(records(0, 1)), { authorization: 'Bearer wrong' })).status, 401);
      assert.equal((await post(url, jsonLines(records(0, 1)), { authorization: 'Bearer s3cret' })).status, 200);
      assert.equal(source.stats.records, 1);
    } finally {
      await source.stop();
    }
  });

  test('GET /health reports the WAL; other paths, methods and content types are refused', async () => {
    const { source, url } = await open(await tempFolder());
    try {
      await post(url, jsonLines(records(0, 4)));
      await source.commit({ end: 1 });
      const health = await fetch(`${url}/health`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok', walEnd: 4, committed: 1, backlog: 3 });
      assert.equal((await fetch(`${url}/nope`)).status, 404);
      const get = await fetch(`${url}/ingest`);
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
      assert.equal((await fetch(url, { method: 'POST', body: jsonLines(records(4, 1)) })).status, 415);
      assert.equal((await fetch(`${url}/`, {
        method: 'POST', body: jsonLines(records(4, 1)), headers: { 'content-type': 'application/json; charset=utf-8' },
      })).status, 200);
      const metrics = source.metrics({ end: 2 });
      assert.deepEqual({ ...metrics, walBytes: undefined },
        { backlog: 3, walEnd: 5, walBytes: undefined, refusedConnections: 0, acceptFailures: 0 });
      assert.ok(metrics.walBytes! > 0, 'the WAL has bytes on disk');
    } finally {
      await source.stop();
    }
  });

  test('latestOffset honours maxRecordsPerTrigger and the availableNow target', async () => {
    const { source, url } = await open(await tempFolder(), { maxRecordsPerTrigger: 3 });
    try {
      assert.equal(await source.latestOffset(null), null);
      await post(url, jsonLines(records(0, 5)));
      assert.deepEqual(await source.latestOffset(null), { end: 3 });
      assert.deepEqual(await source.latestOffset({ end: 3 }), { end: 5 });
      await source.prepareForTriggerAvailableNow();
      await post(url, jsonLines(records(5, 5)));
      assert.deepEqual(await source.latestOffset({ end: 5 }), { end: 5 });
      await assert.rejects(source.getBatch(null, 7), (err: unknown) =>
        err instanceof CheckpointError && err.code === 'OFFSET_FOREIGN' && /\{"end"/.test(err.message));
      await assert.rejects(source.latestOffset({ end: 99 }), (err: unknown) =>
        err instanceof CheckpointError && err.code === 'WAL_BEHIND' && /ends at record 10/.test(err.message));
    } finally {
      await source.stop();
    }
  });

  test('stop answers requests already queued for the WAL, and they are there after reopening', async () => {
    const folder = await tempFolder();
    const first = await open(folder);
    const pending = Array.from({ length: 16 }, (_, r) => post(first.url, jsonLines(records(r * 3, 3))).catch(() => null));
    await pending[0];
    await first.source.stop();
    const acked = (await Promise.all(pending)).filter((r) => r?.status === 200).map((r) => r!.body.offsets!);
    await assert.rejects(fetch(`${first.url}/health`));
    const second = await open(folder);
    try {
      assert.equal(second.source.stats.walEnd, acked.length * 3);
      assert.equal(second.source.stats.truncatedBytes, 0);
    } finally {
      await second.source.stop();
    }
  });

  test('a WAL that cannot be written refuses requests with 503, reports failed health and stops the query', async () => {
    const folder = await tempFolder();
    const { source, url } = await open(folder, { segmentBytes: 100 });
    try {
      assert.equal((await post(url, jsonLines(records(0, 5)))).status, 200);
      await rm(walDir(folder), { recursive: true }); // the next group needs a new segment there
      const refused = await post(url, jsonLines(records(5, 1)));
      assert.equal(refused.status, 503);
      assert.ok(refused.body.error!.includes(walDir(folder)), refused.body.error);
      const health = await fetch(`${url}/health`);
      assert.equal(health.status, 503);
      assert.equal(((await health.json()) as { status: string }).status, 'failed');
      assert.equal((await post(url, jsonLines(records(5, 1)))).status, 503);
      await assert.rejects(source.latestOffset({ end: 0 }), (err: unknown) =>
        err instanceof ConnectorError && err.code === 'WAL_WRITE_FAILED' && err.message.includes(walDir(folder)));
      assert.deepEqual(await source.getBatch(null, { end: 5 }), records(0, 5));
    } finally {
      await source.stop();
    }
  });
});

describe('http source idempotency keys', () => {
  test('a retry with the same key returns the original offsets, also after reopening the source', async () => {
    const folder = await tempFolder();
    const body = jsonLines(records(0, 3));
    const first = await open(folder);
    try {
      await post(first.url, jsonLines(records(100, 2)));
      const original = await post(first.url, body, { 'idempotency-key': 'k1' });
      assert.deepEqual(original.body, { offsets: { start: 2, end: 5 } });
      const again = await post(first.url, body, { 'idempotency-key': 'k1' });
      assert.deepEqual(again.body, { offsets: { start: 2, end: 5 }, duplicate: true });
      const both = await Promise.all([1, 2].map(() => post(first.url, jsonLines(records(7, 2)), { 'idempotency-key': 'k2' })));
      assert.deepEqual(both.map((r) => r.body.offsets), [{ start: 5, end: 7 }, { start: 5, end: 7 }]);
      assert.equal(first.source.stats.walEnd, 7);
    } finally {
      await first.source.stop();
    }
    const second = await open(folder);
    try {
      const retried = await post(second.url, body, { 'idempotency-key': 'k1' });
      assert.equal(retried.status, 200);
      assert.deepEqual(retried.body, { offsets: { start: 2, end: 5 }, duplicate: true });
      const reused = await post(second.url, jsonLines(records(50, 1)), { 'idempotency-key': 'k1' });
      assert.equal(reused.status, 422);
      assert.match(reused.body.error!, /Idempotency-Key/);
      assert.equal(second.source.stats.walEnd, 7);
    } finally {
      await second.source.stop();
    }
  });

  test('keys outlive the segments that held them, and the window forgets the oldest keys', async () => {
    const folder = await tempFolder();
    const first = await open(folder, { segmentBytes: 200, idempotencyKeys: 3 });
    try {
      for (let r = 0; r < 5; r++) {
        assert.equal((await post(first.url, jsonLines(records(r * 2, 2)), { 'idempotency-key': `key-${r}` })).status, 200);
      }
      await first.source.commit({ end: 10 });
      assert.deepEqual(await segments(folder), ['00000000000000000008.seg']);
    } finally {
      await first.source.stop();
    }
    const second = await open(folder, { segmentBytes: 200, idempotencyKeys: 3 });
    try {
      const kept = await post(second.url, jsonLines(records(4, 2)), { 'idempotency-key': 'key-2' });
      assert.deepEqual(kept.body, { offsets: { start: 4, end: 6 }, duplicate: true });
      const forgotten = await post(second.url, jsonLines(records(0, 2)), { 'idempotency-key': 'key-0' });
      assert.deepEqual(forgotten.body, { offsets: { start: 10, end: 12 } });
    } finally {
      await second.source.stop();
    }
  });
});

describe('http source WAL on disk', () => {
  test('getBatch after reopening reads the same rows from the segments', async () => {
    const folder = await tempFolder();
    const first = await open(folder, { segmentBytes: 500 });
    let before: Row[];
    try {
      for (let r = 0; r < 10; r++) await post(first.url, jsonLines(records(r * 7, 7)));
      before = await first.source.getBatch(null, { end: 70 });
      assert.deepEqual(before, records(0, 70));
    } finally {
      await first.source.stop();
    }
    assert.ok((await segments(folder)).length > 3);
    const second = await open(folder, { segmentBytes: 500 });
    try {
      assert.deepEqual(await second.source.getBatch(null, { end: 70 }), before);
      assert.deepEqual(await second.source.getBatch({ end: 3 }, { end: 17 }), records(3, 14));
      assert.deepEqual(await second.source.getBatch({ end: 69 }, { end: 70 }), records(69, 1));
      await post(second.url, jsonLines(records(70, 2)));
      assert.deepEqual(await second.source.getBatch({ end: 60 }, { end: 72 }), records(60, 12));
    } finally {
      await second.source.stop();
    }
  });

  test('a large WAL is read through its sparse index', async () => {
    const folder = await tempFolder();
    const first = await open(folder);
    try {
      for (let r = 0; r < 5; r++) await post(first.url, jsonLines(records(r * 1000, 1000)));
    } finally {
      await first.source.stop();
    }
    const second = await open(folder);
    try {
      assert.deepEqual(await second.source.getBatch({ end: 1023 }, { end: 3075 }), records(1023, 2052));
      assert.deepEqual(await second.source.getBatch({ end: 4096 }, { end: 5000 }), records(4096, 904));
    } finally {
      await second.source.stop();
    }
  });

  test('commit deletes only segments whose records are all before the committed offset', async () => {
    const folder = await tempFolder();
    const { source, url } = await open(folder, { segmentBytes: 250 });
    try {
      for (let r = 0; r < 6; r++) await post(url, jsonLines(records(r * 5, 5)));
      const all = await segments(folder);
      assert.deepEqual(all.map(startOf), [0, 5, 10, 15, 20, 25]);
      await source.commit({ end: 12 });
      assert.deepEqual((await segments(folder)).map(startOf), [10, 15, 20, 25]);
      assert.deepEqual(await source.getBatch({ end: 12 }, { end: 30 }), records(12, 18));
      await assert.rejects(source.getBatch({ end: 7 }, { end: 12 }), (err: unknown) =>
        err instanceof CheckpointError && err.code === 'WAL_DATA_LOSS' && err.message.includes(walDir(folder)));
      await source.commit({ end: 30 });
      assert.deepEqual((await segments(folder)).map(startOf), [25]);
      assert.equal(source.stats.backlog, 0);
      assert.deepEqual((await post(url, jsonLines(records(30, 1)))).body.offsets, { start: 30, end: 31 });
    } finally {
      await source.stop();
    }
  });

  test('a torn tail (a cut frame, a request without its end) is truncated on reopen', async () => {
    const folder = await tempFolder();
    const first = await open(folder);
    try {
      await post(first.url, jsonLines(records(0, 3)));
    } finally {
      await first.source.stop();
    }
    const [segment] = await segments(folder);
    const path = join(walDir(folder), segment!);
    const good = (await readFile(path)).length;
    // A whole record whose request never ended, then half a frame.
    const orphan = encodeFrame(FrameKind.record, JSON.stringify(record(3)));
    await appendFile(path, Buffer.concat([orphan, orphan.subarray(0, 7)]));
    const second = await open(folder);
    try {
      assert.equal(second.source.stats.truncatedBytes, orphan.length + 7);
      assert.equal((await readFile(path)).length, good);
      assert.deepEqual((await post(second.url, jsonLines(records(3, 2)))).body.offsets, { start: 3, end: 5 });
    } finally {
      await second.source.stop();
    }
    // Space a power cut left allocated but unwritten reads as zeros.
    await appendFile(path, Buffer.alloc(64));
    const third = await open(folder);
    try {
      assert.equal(third.source.stats.truncatedBytes, 64);
      assert.deepEqual(await third.source.getBatch(null, { end: 5 }), records(0, 5));
    } finally {
      await third.source.stop();
    }
  });

  test('a corrupt frame in the middle is a CheckpointError naming the segment and byte', async () => {
    const folder = await tempFolder();
    const first = await open(folder);
    try {
      await post(first.url, jsonLines(records(0, 3)));
      await post(first.url, jsonLines(records(3, 3)));
    } finally {
      await first.source.stop();
    }
    const [segment] = await segments(folder);
    const path = join(walDir(folder), segment!);
    const data = await readFile(path);
    const second = encodeFrame(FrameKind.record, JSON.stringify(record(0))).length;
    data[second + 12]! ^= 0xff; // inside the payload of the second frame
    await writeFile(path, data);
    await assert.rejects(open(folder), (err: unknown) =>
      err instanceof CheckpointError && err.code === 'WAL_CORRUPT' && err.path === path &&
      err.message.includes(path) && err.message.includes(`byte ${second}`));
  });

  test('a missing segment is a CheckpointError naming the next one', async () => {
    const folder = await tempFolder();
    const first = await open(folder, { segmentBytes: 100 });
    try {
      for (let r = 0; r < 3; r++) await post(first.url, jsonLines(records(r * 2, 2)));
    } finally {
      await first.source.stop();
    }
    const names = await segments(folder);
    await rm(join(walDir(folder), names[1]!));
    await assert.rejects(open(folder), (err: unknown) =>
      err instanceof CheckpointError && err.code === 'WAL_GAP' && err.message.includes(names[2]!));
  });
});

describe('http source in a query', () => {
  test('records posted to a running query reach its sink', async () => {
    const port = await freePort();
    const weir = new Weir();
    const query = await weir.readStream.format('http').schema('ts TIMESTAMP, user STRING, amount DOUBLE, n INT')
      .option('port', port).load()
      .writeStream.format('memory').queryName('http_in').option('checkpointLocation', await tempFolder())
      .trigger({ processingTime: 0 }).start();
    try {
      const url = `http://127.0.0.1:${port}`;
      assert.equal((await post(url, jsonLines(records(0, 3)))).status, 200);
      assert.equal((await post(url, JSON.stringify(records(3, 2)), { 'content-type': 'application/json' })).status, 200);
      await query.processAllAvailable();
      assert.deepEqual(weir.memorySink('http_in').rows, records(0, 5));
    } finally {
      await query.stop();
    }
  });
});

describe('http source under a trigger interval', () => {
  test('requests posted between trigger ticks wait for the next batch instead of each starting one', async () => {
    const port = await freePort();
    const weir = new Weir();
    let idle = false;
    weir.streams.addListener({ onQueryIdle: () => { idle = true; } });
    const query = await weir.readStream.format('http').schema('ts TIMESTAMP, user STRING, amount DOUBLE, n INT')
      .option('port', port).load()
      .writeStream.format('memory').queryName('http_ticks').option('checkpointLocation', await tempFolder())
      .trigger({ processingTime: '1 hour' }).start();
    try {
      while (!idle) await new Promise<void>((resolve) => setTimeout(resolve, 1)); // the first trigger found nothing
      const url = `http://127.0.0.1:${port}`;
      // Each acknowledged request is durable and announced to the query; none may start a batch before the next tick.
      for (let r = 0; r < 12; r++) assert.equal((await post(url, jsonLines(records(r * 100, 100)))).status, 200);
      assert.equal(query.recentProgress.length, 0);
      await query.processAllAvailable();
      assert.deepEqual(query.recentProgress.map((p) => p.numInputRows), [1200]);
      assert.equal(weir.memorySink('http_ticks').rows.length, 1200);
    } finally {
      await query.stop();
    }
  });
});

describe('http source crash safety', () => {
  test('SIGKILLed at random moments: every acknowledged request is in the WAL exactly once', async (t) => {
    const folder = await tempFolder();
    const seed = testSeed(t);
    const random = mulberry32(seed);
    const REQUESTS = 150;
    const PER_REQUEST = 8;
    const KILLS = 5;
    const bodies = Array.from({ length: REQUESTS }, (_, r) =>
      jsonLines(Array.from({ length: PER_REQUEST }, (_, s) => ({ req: r, seq: s, ts: r * 1000 + s }))));
    const acked = new Map<number, { start: number; end: number }>();
    let duplicates = 0;
    let tornTails = 0;
    let killsMidIngest = 0;
    for (let round = 0; acked.size < REQUESTS; round++) {
      assert.ok(round <= KILLS + 1, `seed ${seed}: requests still unacknowledged after the last, unkilled run`);
      const child = await startChild(folder);
      if (child.truncatedBytes > 0) tornTails++;
      t.after(() => { child.kill('SIGKILL'); });
      const killAfter = round < KILLS ? 1 + Math.floor(random() * 25) : Infinity;
      let acksThisRound = 0;
      let killed = false;
      const todo = [...Array(REQUESTS).keys()].filter((r) => !acked.has(r));
      const worker = async (): Promise<void> => {
        for (let r = todo.shift(); r !== undefined && !killed; r = todo.shift()) {
          let reply: Reply;
          try {
            reply = await post(child.url, bodies[r]!, { 'idempotency-key': `req-${r}` });
          } catch {
            continue; // no answer: retried with the same key by the next run
          }
          assert.equal(reply.status, 200, `seed ${seed}: ${JSON.stringify(reply.body)}`);
          acked.set(r, reply.body.offsets!);
          if (reply.body.duplicate) duplicates++;
          if (++acksThisRound === killAfter) {
            killed = true;
            killsMidIngest++;
            setTimeout(() => child.kill('SIGKILL'), Math.floor(random() * 3));
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      child.kill('SIGKILL');
      await child.exited;
    }
    assert.ok(killsMidIngest > 0, `seed ${seed}: no run was killed while requests were in flight; the test proved nothing`);
    const { source } = await open(folder, { segmentBytes: 4096 }, toSchema(CRASH_SCHEMA));
    try {
      const total = REQUESTS * PER_REQUEST;
      assert.equal(source.stats.walEnd, total, `seed ${seed}: some request was ingested twice or not at all`);
      const rows = await source.getBatch(null, { end: total });
      for (const [r, range] of acked) {
        assert.deepEqual(rows.slice(range.start, range.end).map((row) => `${row['req']}/${row['seq']}`),
          Array.from({ length: PER_REQUEST }, (_, s) => `${r}/${s}`), `seed ${seed}: request ${r}`);
      }
      t.diagnostic(`seed ${seed}: ${duplicates} retries found their request already ingested; ${tornTails} restarts cut a torn tail`);
    } finally {
      await source.stop();
    }
  });
});

interface Child {
  readonly url: string;
  /** Bytes of torn tail the child's recovery cut off. */
  readonly truncatedBytes: number;
  readonly exited: Promise<void>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts the crash child on `folder`; resolves once it printed the port it listens on. */
function startChild(folder: string): Promise<Child> {
  const script = fileURLToPath(new URL('./http-crash-child.js', import.meta.url));
  const proc: ChildProcess = spawn(process.execPath, [script, folder], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve, reject) => {
    let stdout = '';
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n')) {
        const { port, truncatedBytes } = JSON.parse(line!) as { port: number; truncatedBytes: number };
        resolve({ url: `http://127.0.0.1:${port}`, truncatedBytes, exited, kill: (signal) => { proc.kill(signal); } });
      }
    });
    proc.on('exit', (code, signal) => reject(new Error(`crash child ended (${code ?? signal}) before listening: ${stderr}`)));
  });
}
