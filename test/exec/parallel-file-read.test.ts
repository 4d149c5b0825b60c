/**
 * File sources read by the worker threads (Source.splitRead): line ranges cut anywhere give every line
 * to exactly one range; a query reading json or csv files on 1, 2 or 3 workers gives each batch the
 * same rows in the same order, malformed records included, with the same bad records, the same
 * progress figures and the same FAILFAST error. Input is random (seeded; WEIR_TEST_SEED re-runs one).
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { col, count, Row, Weir, WeirError, window } from '../../src/index.js';
import type { DataFrame, OutputMode } from '../../src/index.js';
import { forEachLine } from '../../src/connectors/file/lines.js';
import { mulberry32, testSeed } from '../connectors/harness.js';
import { removeTempDirs, sorted, startCollecting, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const SCHEMA = 'ts TIMESTAMP, key STRING, amount LONG, note STRING, _corrupt_record STRING';
const TEXTS = ['a', 'é', '日本', '😀x', 'z z', '', 'q"uote', 'back\\slash'];

/** A random line of a json file: mostly valid, some malformed, some blank, some long (beyond a read's first chunk). */
function randomLine(random: () => number, i: number): string {
  const pick = random();
  const text = TEXTS[Math.floor(random() * TEXTS.length)]!;
  if (pick < 0.05) return '';
  if (pick < 0.08) return '   ';
  if (pick < 0.12) return `{"ts": "2024-01-01T00:00:0${i % 10}Z", "key": "${text}`; // cut off
  if (pick < 0.15) return `not json ${text}`;
  if (pick < 0.19) return JSON.stringify({ ts: new Date(1_700_000_000_000 + i * 997).toISOString(), key: text, amount: `x${i}` });
  const note = random() < 0.03 ? text.repeat(3000 + Math.floor(random() * 6000)) : text;
  return JSON.stringify({ ts: new Date(1_700_000_000_000 + i * 997).toISOString(), key: text, amount: Math.floor(random() * 1e6) - 5e5, note });
}

/** A random json file: BOM sometimes, CRLF sometimes, sometimes no line break at the end. */
function randomJsonFile(random: () => number, first: number): string {
  const n = Math.floor(random() * 60);
  const lines = Array.from({ length: n }, (_, i) => randomLine(random, first + i));
  const eol = random() < 0.3 ? '\r\n' : '\n';
  const body = lines.join(eol) + (random() < 0.7 ? eol : '');
  return (random() < 0.2 ? '\ufeff' : '') + body;
}

async function writeJsonFiles(seed: number): Promise<string> {
  const random = mulberry32(seed);
  const folder = await tempDir();
  for (let f = 0; f < 9; f++) await writeFile(join(folder, `part-${String(f).padStart(2, '0')}.json`), randomJsonFile(random, f * 100));
  return folder;
}

interface Run { output: [number, Row[]][]; explain: string; progress: [number, number, unknown][]; badRecords: string[] }

async function runOn(numWorkers: number, folder: string, format: 'json' | 'csv', schema: string, options: Record<string, string>,
  build: (df: DataFrame) => DataFrame, mode: OutputMode = 'append'): Promise<Run> {
  const weir = new Weir();
  const badRecordsPath = await tempDir();
  let reader = weir.readStream.format(format).schema(schema).option('maxFilesPerTrigger', 2).option('badRecordsPath', badRecordsPath);
  for (const [k, v] of Object.entries(options)) reader = reader.option(k, v);
  const output: [number, Row[]][] = [];
  const q = await startCollecting(build(reader.load(folder)), output, { mode, options: { numWorkers } });
  try {
    await q.processAllAvailable();
  } finally {
    await q.stop();
  }
  const progress = q.recentProgress.map((p): [number, number, unknown] => [p.batchId, p.numInputRows, p.sources[0]?.metrics]);
  const badRecords: string[] = [];
  for (const queryFolder of await readdir(badRecordsPath)) {
    for (const name of (await readdir(join(badRecordsPath, queryFolder))).sort()) {
      badRecords.push(`${name}: ${await readFile(join(badRecordsPath, queryFolder, name), 'utf8')}`);
    }
  }
  return { output, explain: q.explain('extended'), progress, badRecords };
}

const projected = (df: DataFrame): DataFrame => df.select(col('ts'), col('key'), col('amount'), col('note'), col('_corrupt_record'));

describe('line ranges', () => {
  test('ranges cut at random bytes give every line to exactly one range, numbered from its first line', async (t) => {
    const seed = testSeed(t);
    const random = mulberry32(seed);
    const folder = await tempDir();
    for (let round = 0; round < 30; round++) {
      const path = join(folder, `f${round}.json`);
      await writeFile(path, randomJsonFile(random, 0));
      const size = (await readFile(path)).length;
      const whole: string[] = [];
      await forEachLine(path, (line) => { whole.push(line); }, size);
      const cuts = [...new Set(Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * (size + 1))))].sort((a, b) => a - b);
      const bounds = [0, ...cuts.filter((c) => c > 0 && c < size), size];
      const pieces: string[] = [];
      for (let i = 0; i + 1 < bounds.length; i++) {
        const lines: string[] = [];
        const end = await forEachLine(path, (line, n) => {
          assert.equal(n, lines.length + 1, `seed ${seed}: lines of a range are numbered from 1`);
          lines.push(line);
        }, size, { from: bounds[i]!, to: bounds[i + 1]! });
        assert.equal(end, size, `seed ${seed}: a range of a whole file ends at its admitted size`);
        pieces.push(...lines);
      }
      assert.deepEqual(pieces, whole, `seed ${seed}, round ${round}, cuts ${bounds.join(',')}`);
      if (size > 2) {
        // A file shorter than admitted: the last range says where it ended.
        const end = await forEachLine(path, () => undefined, size + 10, { from: Math.floor(size / 2), to: size + 10 });
        assert.equal(end, size, `seed ${seed}`);
      }
    }
  });
});

describe('the file source read by the workers', () => {
  test('json with malformed lines, PERMISSIVE: the same rows per batch in the same order, bad records and figures for 1, 2 and 3 workers', async (t) => {
    const seed = testSeed(t);
    const folder = await writeJsonFiles(seed);
    const one = await runOn(1, folder, 'json', SCHEMA, {}, projected);
    const two = await runOn(2, folder, 'json', SCHEMA, {}, projected);
    const three = await runOn(3, folder, 'json', SCHEMA, {}, projected);
    assert.match(two.explain, /2 worker threads, no exchange \(stateless\), the input read by the workers/);
    assert.ok(one.output.some(([, rows]) => rows.some((r) => r['_corrupt_record'] !== null)), `seed ${seed}: no malformed row; the test proved nothing`);
    assert.ok(one.badRecords.length > 0, `seed ${seed}: no bad records`);
    assert.deepEqual(two.output, one.output, `seed ${seed}`);
    assert.deepEqual(three.output, one.output, `seed ${seed}`);
    assert.deepEqual(two.badRecords, one.badRecords, `seed ${seed}`);
    assert.deepEqual(three.badRecords, one.badRecords, `seed ${seed}`);
    assert.deepEqual(three.progress, one.progress, `seed ${seed}`);
  });

  test('json, DROPMALFORMED, windowed counts: each batch as on one thread', async (t) => {
    const seed = testSeed(t);
    const folder = await writeJsonFiles(seed);
    const counts = (df: DataFrame): DataFrame => df.groupBy(window(col('ts'), '10 seconds'), col('key')).agg(count('*').as('n'));
    const options = { mode: 'DROPMALFORMED' };
    const one = await runOn(1, folder, 'json', SCHEMA, options, counts, 'update');
    const three = await runOn(3, folder, 'json', SCHEMA, options, counts, 'update');
    assert.match(three.explain, /3 worker threads, exchange by hash of \[key\].*the input read by the workers/);
    assert.ok(one.output.some(([, rows]) => rows.length > 0), `seed ${seed}: no output`);
    assert.deepEqual(three.output.map(([id, rows]) => [id, sorted(rows)]), one.output.map(([id, rows]) => [id, sorted(rows)]), `seed ${seed}`);
    assert.deepEqual(three.badRecords, one.badRecords, `seed ${seed}`);
    assert.deepEqual(three.progress, one.progress, `seed ${seed}`);
  });

  test('FAILFAST: the same error, naming the first malformed record by its line in the whole file', async (t) => {
    const seed = testSeed(t);
    const folder = await tempDir();
    const good = (i: number): string => JSON.stringify({ ts: '2024-01-01T00:00:00Z', key: 'k', amount: i, note: 'n'.repeat(i % 50) });
    const lines = Array.from({ length: 400 }, (_, i) => good(i));
    const bad = 150 + Math.floor(mulberry32(seed)() * 200);
    lines[bad] = '{"broken": ';
    await writeFile(join(folder, 'only.json'), `${lines.join('\n')}\n`);
    const failure = async (numWorkers: number): Promise<WeirError> => {
      try {
        await runOn(numWorkers, folder, 'json', SCHEMA, { mode: 'FAILFAST' }, projected);
      } catch (err) {
        assert.ok(err instanceof WeirError, String(err));
        return err;
      }
      assert.fail('the query did not fail');
    };
    const one = await failure(1);
    const three = await failure(3);
    assert.equal((one.cause as WeirError).code, 'MALFORMED_RECORD', one.message);
    assert.match(one.message, new RegExp(`only\\.json at line ${bad + 1}:`));
    assert.equal((three.cause as WeirError).code, 'MALFORMED_RECORD', three.message);
    assert.equal(three.message.replace(/\[id = [^\]]*\]/, ''), one.message.replace(/\[id = [^\]]*\]/, ''));
  });

  test('csv (whole files to a worker): the same rows per batch in the same order for 1 and 2 workers', async (t) => {
    const seed = testSeed(t);
    const random = mulberry32(seed);
    const folder = await tempDir();
    for (let f = 0; f < 7; f++) {
      const rows = Array.from({ length: Math.floor(random() * 40) }, (_, i) => (random() < 0.1 ? `${i},"unclosed` : random() < 0.1
        ? `${i},x,y,z` : `${i},"k ${TEXTS[i % TEXTS.length]!.replace(/"/g, '""')}\nsecond line",${Math.floor(random() * 100)}`));
      await writeFile(join(folder, `part-${f}.csv`), `id,key,amount\n${rows.join('\n')}\n`);
    }
    const schema = 'id LONG, key STRING, amount LONG, _corrupt_record STRING';
    const all = (df: DataFrame): DataFrame => df.select(col('id'), col('key'), col('amount'), col('_corrupt_record'));
    const one = await runOn(1, folder, 'csv', schema, {}, all);
    const two = await runOn(2, folder, 'csv', schema, {}, all);
    assert.match(two.explain, /the input read by the workers/);
    assert.ok(one.output.some(([, rows]) => rows.length > 0), `seed ${seed}: no output`);
    assert.deepEqual(two.output, one.output, `seed ${seed}`);
    assert.deepEqual(two.badRecords, one.badRecords, `seed ${seed}`);
    assert.deepEqual(two.progress, one.progress, `seed ${seed}`);
  });

  test('json with the scan pushed down (unread columns, a filter): the same rows per batch for 1 and 2 workers', async (t) => {
    const seed = testSeed(t);
    const folder = await writeJsonFiles(seed);
    const schema = 'ts TIMESTAMP, key STRING, amount LONG, note STRING';
    // Reads two columns, filters on one: the scan prunes `note` and tests the filter as it reads.
    const positive = (df: DataFrame): DataFrame => df.filter(col('amount').gt(0)).select(col('key'), col('amount'));
    const one = await runOn(1, folder, 'json', schema, { mode: 'DROPMALFORMED' }, positive);
    const two = await runOn(2, folder, 'json', schema, { mode: 'DROPMALFORMED' }, positive);
    assert.match(two.explain, /the input read by the workers/);
    assert.ok(one.output.some(([, rows]) => rows.length > 0), `seed ${seed}: no output`);
    assert.deepEqual(two.output, one.output, `seed ${seed}`);
  });
});
