/** /metrics: Prometheus text format read back with a parser; counters, histogram, gauges, labels, names, README. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import parsePrometheusTextFormat, { PrometheusFamily } from 'parse-prometheus-text-format';
import { col, count, StreamingQuery, Weir, window } from '../../src/index.js';
import { freePort } from '../connectors/harness.js';
import { removeTempDirs, sec, startMemory, tempDir } from '../api/helpers.js';

after(removeTempDirs);

async function scrapeText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

async function scrape(url: string): Promise<PrometheusFamily[]> {
  return parsePrometheusTextFormat(await scrapeText(url));
}

/**
 * The `_count` samples of a histogram as label sets with values. (The parser merges a histogram's
 * series into one bucket map and drops their labels, so these lines are read here.)
 */
function histogramCounts(text: string, name: string): { labels: Record<string, string>; count: number }[] {
  return [...text.matchAll(new RegExp(`^${name}_count\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => ({
    labels: Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!])), count: Number(m[2]),
  }));
}

function family(families: PrometheusFamily[], name: string): PrometheusFamily {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `metric ${name} is exported`);
  return found;
}

/** The value of the query's sample of a counter or gauge (with extra labels to match). */
function valueOf(families: PrometheusFamily[], name: string, query: StreamingQuery, labels: Record<string, string> = {}): number {
  const sample = family(families, name).metrics.find((m) => m.labels?.['query_id'] === query.id &&
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  assert.ok(sample, `${name} has a sample for query ${query.id} ${JSON.stringify(labels)}`);
  return Number(sample.value);
}

test('counters follow the progress records, grow monotonically, and every weir series names its query', async () => {
  const weir = new Weir({ ui: { port: 0 }, logLevel: 'silent' });
  try {
    const url = await weir.uiUrl();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to loopback by default');
    const input = weir.memoryStream('ts TIMESTAMP, page STRING');
    const query = await startMemory(input.toDF().withWatermark('ts', '5 seconds')
      .groupBy(window(col('ts'), '10 seconds'), col('page')).agg(count('*').as('n')), 'counted', { checkpoint: await tempDir() });
    let previous = { rows: 0, batches: 0 };
    for (let i = 0; i < 4; i++) {
      // The last batch's rows are older than the watermark: they are dropped and counted as such.
      const late = i === 3;
      input.addData(Array.from({ length: 5 + i }, (_, j) => ({ ts: late ? sec(1) : sec(100 + i * 20 + j), page: `p${j % 2}` })));
      await query.processAllAvailable();
      const families = await scrape(url);
      const rows = valueOf(families, 'weir_input_rows_total', query);
      const batches = valueOf(families, 'weir_batches_total', query);
      assert.ok(rows > previous.rows && batches > previous.batches, `counters grew after round ${i}`);
      previous = { rows, batches };
      const progress = query.recentProgress;
      assert.equal(rows, progress.reduce((n, p) => n + p.numInputRows, 0));
      assert.equal(batches, progress.length);
      assert.equal(valueOf(families, 'weir_rows_dropped_by_watermark_total', query),
        progress.reduce((n, p) => n + p.stateOperators.reduce((m, op) => m + op.numRowsDroppedByWatermark, 0), 0));
    }
    const families = await scrape(url);
    assert.ok(valueOf(families, 'weir_rows_dropped_by_watermark_total', query) > 0, 'late rows were counted as dropped');
    assert.equal(valueOf(families, 'weir_sink_rejected_rows_total', query), 0);
    const last = query.lastProgress!;
    const operator = `0:${last.stateOperators[0]!.operatorName}`;
    assert.equal(valueOf(families, 'weir_state_rows', query, { operator }), last.stateOperators[0]!.numRowsTotal);
    assert.equal(valueOf(families, 'weir_state_memory_bytes', query, { operator }), last.stateOperators[0]!.memoryUsedBytes);
    assert.ok(valueOf(families, 'weir_watermark_lag_seconds', query) > 0);
    assert.equal(valueOf(families, 'weir_query_status', query, { status: 'idle' }), 1);

    assert.equal(family(families, 'weir_batch_duration_seconds').type, 'HISTOGRAM');
    const counts = histogramCounts(await scrapeText(url), 'weir_batch_duration_seconds');
    assert.deepEqual(new Set(counts.map((c) => c.labels['phase'])), new Set(Object.keys(last.durationMs)));
    for (const { labels, count: n } of counts) {
      assert.deepEqual({ ...labels, phase: undefined }, { query_name: 'counted', query_id: query.id, phase: undefined });
      assert.equal(n, query.recentProgress.filter((p) => labels['phase']! in p.durationMs).length, `batches timed in ${labels['phase']}`);
    }

    for (const f of families.filter((f) => f.name.startsWith('weir_') && f.type !== 'HISTOGRAM')) {
      for (const m of f.metrics) {
        assert.equal(m.labels?.['query_name'], 'counted', `${f.name} has the query's name`);
        assert.equal(m.labels?.['query_id'], query.id, `${f.name} has the query's id`);
      }
    }
    family(families, 'process_cpu_user_seconds_total');
    family(families, 'nodejs_heap_size_used_bytes');
    await query.stop();
  } finally {
    await weir.close();
  }
});

test('metric names follow Prometheus conventions and each weir metric is documented in the README', async () => {
  const weir = new Weir({ ui: { port: 0 }, logLevel: 'silent' });
  try {
    const input = weir.memoryStream('n LONG');
    const query = await startMemory(input.toDF(), 'names');
    input.addData([{ n: 1 }]);
    await query.processAllAvailable();
    const families = await scrape(await weir.uiUrl());
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const ours = families.filter((f) => f.name.startsWith('weir_'));
    assert.ok(ours.length >= 11);
    for (const f of families) {
      assert.match(f.name, /^[a-z_][a-z0-9_]*$/, `${f.name}: lower snake case`);
      assert.ok(f.help.length > 0, `${f.name} has help text`);
      if (f.type === 'COUNTER') assert.match(f.name, /_total$/, `${f.name}: a counter ends in _total`);
    }
    for (const f of ours) {
      if (f.type !== 'COUNTER') assert.doesNotMatch(f.name, /_total$/, `${f.name}: only counters end in _total`);
      assert.match(f.name, /_(total|seconds|bytes|records|rows|status)$/, `${f.name}: ends in its unit`);
      assert.ok(readme.includes(`\`${f.name}\``), `${f.name} is documented in the README`);
    }
    await query.stop();
  } finally {
    await weir.close();
  }
});

test('the HTTP source reports its ingest backlog and WAL bytes as gauges', async () => {
  const weir = new Weir({ ui: { port: 0 }, logLevel: 'silent' });
  const port = await freePort();
  try {
    const orders = weir.readStream.format('http').schema('item STRING, qty LONG').option('port', port).load();
    const query = await startMemory(orders, 'orders', { checkpoint: await tempDir() });
    const res = await fetch(`http://127.0.0.1:${port}/ingest`, {
      method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"item":"a","qty":1}\n{"item":"b","qty":2}\n',
    });
    assert.equal(res.status, 200);
    await query.processAllAvailable();
    const families = await scrape(await weir.uiUrl());
    const source = `0:${query.lastProgress!.sources[0]!.description}`;
    assert.equal(valueOf(families, 'weir_http_ingest_backlog_records', query, { source }), 0);
    assert.ok(valueOf(families, 'weir_http_ingest_wal_bytes', query, { source }) > 0);
    await query.stop();
  } finally {
    await weir.close();
  }
});

test('with a token, every data endpoint needs it (header or query parameter); the page\'s files do not', async () => {
  const weir = new Weir({ ui: { port: 0, token: 's3cret' }, logLevel: 'silent' });
  try {
    const url = await weir.uiUrl();
    for (const path of ['/', '/ui/app.js', '/vendor/uplot.js']) assert.equal((await fetch(`${url}${path}`)).status, 200, path);
    for (const path of ['/metrics', '/health', '/api/queries', '/api/events']) {
      assert.equal((await fetch(`${url}${path}`)).status, 401, `${path} without the token`);
      assert.equal((await fetch(`${url}${path}`, { headers: { authorization: 'Bearer wrong!' } })).status, 401);
      assert.equal((await fetch(`${url}${path}`, { headers: { authorization: 'Bearer s3cret' } })).status, 200);
      assert.equal((await fetch(`${url}${path}?token=s3cret`)).status, 200);
    }
  } finally {
    await weir.close();
  }
});

test('a UI port in use is refused with the port and the fix', async () => {
  const first = new Weir({ ui: { port: 0 }, logLevel: 'silent' });
  try {
    const port = Number(new URL(await first.uiUrl()).port);
    const second = new Weir({ ui: { port }, logLevel: 'silent' });
    await assert.rejects(second.uiUrl(), (err: Error & { code?: string }) =>
      err.code === 'UI_LISTEN_FAILED' && err.message.includes(`127.0.0.1:${port}`) && /Pick another port/.test(err.message));
    await second.close();
  } finally {
    await first.close();
  }
});
