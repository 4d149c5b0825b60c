/**
 * The http source against hostile or careless clients: forged idempotency retries, odd headers,
 * nesting that overflows the stack, oversized requests, clients that never finish sending, and more
 * connections than it should hold.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { encodeFile } from '../../src/checkpoint/file-format.js';
import { AnalysisError } from '../../src/index.js';
import { encodeFrame, FrameKind } from '../../src/connectors/http/frames.js';
import { freePort } from './harness.js';
import { jsonLines, makeSource, open, post, records, tempFolder, walDir } from './http-helpers.js';
import { removeTempDirs } from '../api/helpers.js';

after(removeTempDirs);

/** Guards tests whose failure on a server without the limit is to wait forever; never reached when they pass. */
const HANG_GUARD = { timeout: 30_000 };

/** `prefix` followed by 4 bytes chosen so that the whole has CRC-32 `target`: CRC-32 is affine in those bits. */
function withCrc32(prefix: Buffer, target: number): Buffer {
  const withTail = (x: number): Buffer => {
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(x >>> 0);
    return Buffer.concat([prefix, tail]);
  };
  const base = crc32(withTail(0));
  // Gaussian elimination over GF(2): pivots[bit] is a combination of tail bits whose effect has `bit` as its top bit.
  const pivots = new Map<number, { effect: number; bits: number }>();
  for (let i = 0; i < 32; i++) {
    let effect = (crc32(withTail(2 ** i)) ^ base) >>> 0;
    let bits = 2 ** i;
    for (let bit = 31; bit >= 0 && effect !== 0; bit--) {
      if (((effect >>> bit) & 1) === 0) continue;
      const pivot = pivots.get(bit);
      if (!pivot) {
        pivots.set(bit, { effect, bits });
        break;
      }
      effect = (effect ^ pivot.effect) >>> 0;
      bits = (bits ^ pivot.bits) >>> 0;
    }
  }
  let want = (target ^ base) >>> 0;
  let tail = 0;
  for (let bit = 31; bit >= 0; bit--) {
    if (((want >>> bit) & 1) === 0) continue;
    const pivot = pivots.get(bit)!;
    want = (want ^ pivot.effect) >>> 0;
    tail = (tail ^ pivot.bits) >>> 0;
  }
  const forged = withTail(tail);
  assert.equal(crc32(forged), target, 'the forged body has the target CRC-32');
  return forged;
}

const ingestHead = (token: string, length: number, extra = ''): string =>
  `POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nAuthorization: Bearer ${token}\r\n` +
  `Content-Length: ${length}\r\n${extra}\r\n`;

/** Resolves once `check` holds, looking again every few milliseconds. */
async function waitFor(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

interface RawConnection {
  readonly socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  readonly closed: Promise<void>;
}

/** A TCP connection that sends exactly what the test writes; resolves once connected. */
function rawConnection(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.on('data', (d: Buffer) => { data += d.toString('latin1'); });
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => undefined); // a reset by the server shows as 'close'
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

describe('http source idempotency digests', () => {
  test('a different body forged to the same CRC-32 as the first is refused with 422, not acknowledged as a retry', async () => {
    const { source, url } = await open(await tempFolder());
    try {
      const body = Buffer.from(jsonLines(records(0, 3)));
      assert.equal((await post(url, new Uint8Array(body), { 'idempotency-key': 'k' })).status, 200);
      const forged = withCrc32(Buffer.from(`${jsonLines(records(100, 2))}\n`), crc32(body));
      const reply = await post(url, new Uint8Array(forged), { 'idempotency-key': 'k' });
      assert.equal(reply.status, 422, JSON.stringify(reply.body));
      assert.deepEqual((await post(url, new Uint8Array(body), { 'idempotency-key': 'k' })).body,
        { offsets: { start: 0, end: 3 }, duplicate: true });
    } finally {
      await source.stop();
    }
  });

  test('keys written by format 1 (CRC-32 in WAL end frames and in the keys file) are still honoured', async () => {
    const folder = await tempFolder();
    await mkdir(walDir(folder), { recursive: true });
    const inSegment = Buffer.from(jsonLines(records(0, 2)));
    const inKeysFile = Buffer.from(jsonLines(records(10, 1)));
    const at = Date.now();
    const frames = [
      ...records(0, 2).map((row) => encodeFrame(FrameKind.record, JSON.stringify(row))),
      encodeFrame(FrameKind.requestEnd, JSON.stringify({ n: 2, k: 'old-segment', h: crc32(inSegment), t: at })),
    ];
    // Format 1 as written before: the segment's name is its first record's position, 20 digits.
    await writeFile(join(walDir(folder), `${'5'.padStart(20, '0')}.seg`), Buffer.concat(frames));
    const keysLine = JSON.stringify(['old-keys-file', 1, 2, crc32(inKeysFile), at]);
    await writeFile(join(folder, 'sources', '0', 'keys'), encodeFile('http-ingest-keys', 1, keysLine));
    const { source, url } = await open(folder);
    try {
      assert.deepEqual((await post(url, new Uint8Array(inSegment), { 'idempotency-key': 'old-segment' })).body,
        { offsets: { start: 5, end: 7 }, duplicate: true });
      assert.deepEqual((await post(url, new Uint8Array(inKeysFile), { 'idempotency-key': 'old-keys-file' })).body,
        { offsets: { start: 1, end: 2 }, duplicate: true });
      assert.equal((await post(url, jsonLines(records(50, 1)), { 'idempotency-key': 'old-segment' })).status, 422);
      assert.equal((await post(url, jsonLines(records(50, 1)), { 'idempotency-key': 'old-keys-file' })).status, 422);
      assert.equal(source.stats.walEnd, 7);
    } finally {
      await source.stop();
    }
  });

  test('two Idempotency-Key headers are a 400, not one key made of both', async () => {
    const { source, url } = await open(await tempFolder());
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${url}/ingest`, {
          method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': ['a', 'b'] },
        }, (res) => { res.resume(); resolve(res.statusCode!); });
        req.on('error', reject);
        req.end(jsonLines(records(0, 1)));
      });
      assert.equal(status, 400);
      assert.equal(source.stats.records, 0);
      // One header whose value holds a comma is one key.
      assert.equal((await post(url, jsonLines(records(0, 1)), { 'idempotency-key': 'a, b' })).status, 200);
    } finally {
      await source.stop();
    }
  });
});

describe('http source request checks', () => {
  test('the bearer scheme is case-insensitive; a wrong token or scheme is still 401', async () => {
    const { source, url } = await open(await tempFolder(), { authToken: 's3cret' });
    try {
      for (const header of ['Bearer s3cret', 'bearer s3cret', 'BEARER s3cret', 'bEaReR   s3cret']) {
        assert.equal((await post(url, jsonLines(records(0, 1)), { authorization: header })).status, 200, header);
      }
      for (const header of ['Bearer s3cre', 'Bearer s3cret2', 'Basic s3cret', 'bearers3cret', 's3cret']) {
        assert.equal((await post(url, jsonLines(records(0, 1)), { authorization: header })).status, 401, header);
      }
      assert.equal((await fetch(`${url}/health`)).status, 200, 'health stays open by default');
    } finally {
      await source.stop();
    }
  });

  test("curl's default form content type gets 415 naming the header to send; nothing is ingested", async () => {
    const { source, url } = await open(await tempFolder());
    try {
      const reply = await post(url, jsonLines(records(0, 1)), { 'content-type': 'application/x-www-form-urlencoded' });
      assert.equal(reply.status, 415);
      assert.match(reply.body.error!, /-H 'Content-Type: application\/x-ndjson'/);
      assert.equal(source.stats.records, 0);
    } finally {
      await source.stop();
    }
  });

  test('with authenticateHealth, GET /health needs the token as well', async () => {
    assert.throws(() => makeSource({ port: 0, authenticateHealth: true }), (err: unknown) =>
      err instanceof AnalysisError && /'authToken'/.test(err.message));
    const { source, url } = await open(await tempFolder(), { authToken: 's3cret', authenticateHealth: true });
    try {
      assert.equal((await fetch(`${url}/health`)).status, 401);
      assert.equal((await fetch(`${url}/health`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      const health = await fetch(`${url}/health`, { headers: { authorization: 'bearer s3cret' } });
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { status: string }).status, 'ok');
    } finally {
      await source.stop();
    }
  });

  test('JSON nested 100,000 levels deep is a 400 naming its line and record where it cannot be a value, not a 500', async () => {
    const { source, url } = await open(await tempFolder());
    try {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const deepObject = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
      // Under a DOUBLE column the value is refused; describing it must not overflow the stack.
      const cases: [string, number, number][] = [
        [`{"ts": 1, "amount": ${deep}}`, 1, 1],
        [`${jsonLines(records(0, 2))}\n\n{"ts": 1, "amount": ${deepObject}}`, 4, 3],
        [`[${JSON.stringify(records(0, 1)[0])},\n {"ts": 1, "amount": ${deep}}]`, 2, 2],
      ];
      for (const [body, line, recordNumber] of cases) {
        const reply = await post(url, body);
        assert.equal(reply.status, 400, `${reply.body.error}`);
        assert.equal(reply.body.line, line);
        assert.equal(reply.body.record, recordNumber);
        assert.ok(Number(/(\d+) levels deep/.exec(reply.body.error!)?.[1]) > 100_000, reply.body.error);
      }
      assert.equal(source.stats.records, 0);
      // Under a STRING column it is a value: its text as written, as Spark keeps it.
      const accepted = await post(url, `{"ts": 1, "user": ${deep}}`);
      assert.equal(accepted.status, 200, `${accepted.body.error}`);
      const rows = await source.getBatch(null, await source.latestOffset(null) as number);
      assert.equal(rows[0]!['user'], deep);
    } finally {
      await source.stop();
    }
  });

  test('one request may not hold more records than maxBacklogRecords, nor push the backlog past it', async () => {
    const { source, url } = await open(await tempFolder(), { maxBacklogRecords: 5 });
    try {
      const alone = await post(url, jsonLines(records(0, 6)));
      assert.equal(alone.status, 413);
      assert.match(alone.body.error!, /6 records.*maxBacklogRecords is 5/);
      assert.equal((await post(url, jsonLines(records(0, 3)))).status, 200);
      const over = await post(url, jsonLines(records(3, 3)));
      assert.equal(over.status, 429);
      assert.match(over.body.error!, /holds 3 records.*adds 3/);
      assert.ok(Number(over.headers.get('retry-after')) >= 1);
      assert.deepEqual((await post(url, jsonLines(records(3, 2)))).body.offsets, { start: 3, end: 5 });
      assert.equal(source.stats.walEnd, 5);
    } finally {
      await source.stop();
    }
  });
});

describe('http source connections', () => {
  const head = ingestHead;

  test('a wrong token is refused from the headers: no 100 Continue, and the body is never read', HANG_GUARD, async () => {
    const { source, url } = await open(await tempFolder(), { authToken: 's3cret' });
    try {
      const asking = await rawConnection(url);
      asking.socket.write(head('wrong', 10_000_000, 'Expect: 100-continue\r\n'));
      await asking.closed;
      assert.match(asking.received(), /^HTTP\/1\.1 401 /, 'answered 401 without asking for the body first');
      // Without Expect: the server answers and closes instead of draining the 10 MB the client announced.
      const sending = await rawConnection(url);
      sending.socket.write(`${head('wrong', 10_000_000)}{"ts": 1`);
      await sending.closed;
      assert.match(sending.received(), /^HTTP\/1\.1 401 /);
      assert.match(sending.received(), /connection: close/i);
      // The right token is asked for its body, then acknowledged.
      const body = jsonLines(records(0, 2));
      const good = await rawConnection(url);
      good.socket.write(head('s3cret', Buffer.byteLength(body), 'Expect: 100-continue\r\n'));
      await waitFor(() => good.received().startsWith('HTTP/1.1 100 Continue'));
      good.socket.write(body);
      await waitFor(() => good.received().includes('"offsets"'));
      assert.match(good.received(), /HTTP\/1\.1 200 /);
      good.socket.destroy();
      assert.equal(source.stats.records, 2);
    } finally {
      await source.stop();
    }
  });

  test('connections that send no request, half the headers, or half the body are closed by the timeouts', HANG_GUARD, async () => {
    assert.throws(() => makeSource({ port: 0, headersTimeout: '10 seconds', requestTimeout: '1 second' }), (err: unknown) =>
      err instanceof AnalysisError && /requestTimeout/.test(err.message));
    const { source, url } = await open(await tempFolder(), { headersTimeout: '300 ms', requestTimeout: '600 ms' });
    try {
      const silent = await rawConnection(url);
      const halfHeaders = await rawConnection(url);
      halfHeaders.socket.write('POST /ingest HTTP/1.1\r\nHost: x\r\n');
      const halfBody = await rawConnection(url);
      halfBody.socket.write(`${head('none', 100)}{"ts": 1`);
      await Promise.all([silent.closed, halfHeaders.closed, halfBody.closed]);
      assert.match(halfHeaders.received(), /^HTTP\/1\.1 408 /);
      assert.equal(source.stats.records, 0);
      assert.equal((await post(url, jsonLines(records(0, 1)))).status, 200);
    } finally {
      await source.stop();
    }
  });

  test('hundreds of idle connections past maxConnections are closed on arrival; requests go on once they leave', HANG_GUARD,
    async () => {
      const { source, url } = await open(await tempFolder(), { maxConnections: 20 });
      try {
        const connections = await Promise.all(Array.from({ length: 300 }, () => rawConnection(url)));
        let closed = 0;
        for (const c of connections) void c.closed.then(() => { closed++; });
        await waitFor(() => closed >= 280 && source.stats.refusedConnections >= 280);
        assert.equal(source.metrics(null)['refusedConnections'], source.stats.refusedConnections);
        for (const c of connections) c.socket.destroy();
        await Promise.all(connections.map((c) => c.closed));
        // The server sees the 20 close a moment later; until then a new connection may still be refused.
        for (;;) {
          const reply = await post(url, jsonLines(records(0, 1))).catch(() => null);
          if (reply !== null) {
            assert.equal(reply.status, 200);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        assert.equal(source.stats.records, 1);
      } finally {
        await source.stop();
      }
    });
});

describe('http source out of file descriptors', () => {
  test('connections that use up the descriptors neither crash the server nor fail the batch: it waits, and progress says so',
    HANG_GUARD, async (t) => {
      const dir = await tempFolder();
      const port = await freePort();
      const script = fileURLToPath(new URL('./http-descriptors-child.js', import.meta.url));
      const child = spawn('bash', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, script, dir, String(port)],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      t.after(() => { child.kill('SIGKILL'); });
      const lines: Record<string, unknown>[] = [];
      let stdout = '';
      let stderr = '';
      let ended: string | null = null;
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        for (let nl = stdout.indexOf('\n'); nl >= 0; nl = stdout.indexOf('\n')) {
          lines.push(JSON.parse(stdout.slice(0, nl)) as Record<string, unknown>);
          stdout = stdout.slice(nl + 1);
        }
      });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('exit', (code, signal) => { ended = String(code ?? signal); });
      const seen = (match: (line: Record<string, unknown>) => boolean): Promise<void> => waitFor(() => {
        if (ended !== null) throw new Error(`the query's process ended (${ended}): ${stderr}`);
        return lines.some(match);
      });
      const url = `http://127.0.0.1:${port}`;
      await seen((l) => l['ready'] === true);
      // A request whose body is held back until the descriptors are gone: its records make the next batch.
      const body = jsonLines(records(0, 4));
      const held = await rawConnection(url);
      held.socket.write(ingestHead('none', Buffer.byteLength(body), 'Expect: 100-continue\r\n'));
      await waitFor(() => held.received().startsWith('HTTP/1.1 100 Continue'));
      held.socket.write(body.slice(0, -1));
      const idle = (await Promise.allSettled(Array.from({ length: 400 }, () => rawConnection(url))))
        .flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
      // Out of descriptors, the server accepts the connections it cannot keep and closes them at once.
      await Promise.race(idle.map((c) => c.closed));
      held.socket.write(body.slice(-1));
      await waitFor(() => held.received().includes('"offsets"'));
      assert.match(held.received(), /HTTP\/1\.1 200 [^]*\{"offsets":\{"start":0,"end":4\}\}/);
      await seen((l) => l['warning'] === 'WEIR_DESCRIPTOR_SHORTAGE');
      for (const c of idle) c.socket.destroy();
      await seen((l) => l['numInputRows'] === 4);
      const progress = lines.find((l) => l['numInputRows'] === 4)!;
      assert.ok(((progress['durationMs'] as Record<string, number>)['descriptorWait'] ?? 0) > 0, JSON.stringify(progress));
      held.socket.destroy();
    });
});
