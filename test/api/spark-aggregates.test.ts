/** Spark's statistical, set, by-ordering, conditional and approximate aggregates, against reference computations. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  AnalysisError, approx_count_distinct, approxCountDistinct, bool_and, bool_or, col, collect_set, count_if, DataFrame, expr,
  max_by, min_by, percentile_approx, Row, sessionWindow, Value, stddev, stddev_pop, stddev_samp, var_pop, var_samp, variance, Weir,
} from '../../src/index.js';
import { seededRandom } from '../../src/common/random.js';
import { assertRows, removeTempDirs, sec, startCollecting, tempDir } from './helpers.js';

after(removeTempDirs);

const seed = Number(process.env['WEIR_TEST_SEED'] ?? Date.now() % 1_000_000);
console.log(`seed ${seed} (set WEIR_TEST_SEED to repeat)`);

const SCHEMA = 'g STRING, x DOUBLE, b BOOLEAN, o INT, ts TIMESTAMP';

/** Rows in a few groups; some x, b and o null; one group with a single row. */
function randomRows(n: number, random: () => number): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      g: `g${Math.floor(random() * 4)}`,
      x: random() < 0.1 ? null : Math.round((random() * 2000 - 1000) * 100) / 100,
      b: random() < 0.1 ? null : random() < 0.7,
      o: random() < 0.1 ? null : Math.floor(random() * 50),
      ts: sec(i),
    });
  }
  rows.push({ g: 'single', x: 5, b: true, o: 1, ts: sec(n) });
  return rows;
}

/** The aggregates under test, in the DataFrame API. */
const AGGS = () => [
  stddev('x').as('sd'), stddev_samp('x').as('sds'), stddev_pop('x').as('sdp'), variance('x').as('v'), var_samp('x').as('vs'),
  var_pop('x').as('vp'), collect_set('o').as('set'), max_by('x', 'o').as('xmax'), min_by('x', 'o').as('xmin'),
  count_if(col('b')).as('ci'), bool_and('b').as('all'), bool_or('b').as('any'), percentile_approx('x', [0.25, 0.5, 1]).as('pct'),
];

/** Two-pass textbook statistics and plain loops over each group's rows. */
function reference(rows: readonly Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) groups.set(r['g'] as string, [...(groups.get(r['g'] as string) ?? []), r]);
  return [...groups].map(([g, rs]) => {
    const xs = rs.map((r) => r['x']).filter((x): x is number => x !== null);
    const n = xs.length;
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const ss = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
    const byOrder = (better: (a: number, b: number) => boolean): number | null => {
      let best: Row | null = null;
      for (const r of rs) if (r['o'] !== null && (best === null || better(r['o'] as number, best['o'] as number))) best = r;
      return best === null ? null : best['x'] as number | null;
    };
    const bs = rs.map((r) => r['b']).filter((b): b is boolean => b !== null);
    // Spark's percentile: the smallest value with at least that share of the values at or below it (exact for small groups).
    const ordered = [...xs].sort((a, b) => a - b);
    const percentile = (p: number): number => ordered[Math.max(Math.ceil(p * n), 1) - 1]!;
    return {
      g, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : null, sds: n > 1 ? Math.sqrt(ss / (n - 1)) : null, sdp: n > 0 ? Math.sqrt(ss / n) : null,
      v: n > 1 ? ss / (n - 1) : null, vs: n > 1 ? ss / (n - 1) : null, vp: n > 0 ? ss / n : null,
      set: [...new Set(rs.map((r) => r['o']).filter((o): o is number => o !== null && o !== undefined))],
      xmax: byOrder((a, b) => a > b), xmin: byOrder((a, b) => a < b),
      ci: rs.filter((r) => r['b'] === true).length,
      all: bs.length === 0 ? null : bs.every(Boolean), any: bs.length === 0 ? null : bs.some(Boolean),
      pct: n === 0 ? null : [percentile(0.25), percentile(0.5), percentile(1)],
    };
  });
}

/** Rounds the floating statistics (one-pass and two-pass sums differ in the last bits) and sorts the sets. */
function comparable(rows: readonly Row[]): Row[] {
  const round = (v: Value | undefined): Value => (typeof v === 'number' ? Number(v.toPrecision(10)) : v ?? null);
  return rows.map((r) => ({
    ...r, sd: round(r['sd']), sds: round(r['sds']), sdp: round(r['sdp']), v: round(r['v']), vs: round(r['vs']), vp: round(r['vp']),
    set: [...(r['set'] as number[])].sort((a, b) => a - b),
  }));
}

/** Runs `build` over `parts` in complete mode, stopping and restarting on one checkpoint after part `restartAfter`. */
async function run(build: (df: DataFrame) => DataFrame, parts: Row[][], restartAfter: number | null): Promise<Row[]> {
  const checkpoint = await tempDir();
  const batches: [number, Row[]][] = [];
  let weir = new Weir();
  let input = weir.memoryStream(SCHEMA);
  let q = await startCollecting(build(input.toDF()), batches, { checkpoint, mode: 'complete' });
  for (const [i, part] of parts.entries()) {
    input.addData(part);
    await q.processAllAvailable();
    if (i === restartAfter) {
      await q.stop();
      weir = new Weir();
      input = weir.memoryStream(SCHEMA);
      input.addData(parts.slice(0, i + 1).flat());
      q = await startCollecting(build(input.toDF()), batches, { checkpoint, mode: 'complete' });
    }
  }
  await q.stop();
  return batches.at(-1)![1];
}

describe('aggregates against a reference', () => {
  test('in a batch: statistics, collect_set, max_by/min_by, count_if, bool_and/bool_or', async () => {
    const rows = randomRows(2000, seededRandom(seed));
    const out = await new Weir().createDataFrame(rows, SCHEMA).groupBy('g').agg(...AGGS()).collect();
    assertRows(comparable(out), comparable(reference(rows)));
  });

  test('Spark\'s edge rules: one value gives null sample statistics and 0 population ones; ties keep the first ordering', async () => {
    const rows: Row[] = [
      { g: 'a', x: 3, b: null, o: 7, ts: 0 }, { g: 'a', x: 4, b: null, o: 7, ts: 0 }, { g: 'a', x: null, b: null, o: 1, ts: 0 },
    ];
    const [row] = await new Weir().createDataFrame(rows.slice(0, 1), SCHEMA).groupBy('g')
      .agg(stddev('x').as('sd'), var_pop('x').as('vp'), stddev_pop('x').as('sdp'), bool_and('b').as('all'), count_if(col('b')).as('ci'))
      .collect();
    assert.deepEqual(row, { g: 'a', sd: null, vp: 0, sdp: 0, all: null, ci: 0 });
    const [ties] = await new Weir().createDataFrame(rows, SCHEMA).groupBy('g')
      .agg(max_by('x', 'o').as('mx'), min_by('x', 'o').as('mn')).collect();
    // The maximum ordering 7 is reached first by x = 3; the minimum ordering belongs to a null x, which max_by keeps.
    assert.deepEqual(ties, { g: 'a', mx: 3, mn: null });
  });

  test('Spark\'s column names, and the same aggregates by their SQL names', async () => {
    const df = new Weir().createDataFrame([{ g: 'a', x: 1, b: true, o: 2, ts: 0 }], SCHEMA);
    const named = df.groupBy('g').agg(stddev('x'), var_pop('x'), collect_set('o'), max_by('x', 'o'), count_if(col('b')), bool_or('b'),
      approx_count_distinct('x'));
    assert.deepEqual(named.columns, ['g', 'stddev(x)', 'var_pop(x)', 'collect_set(o)', 'max_by(x, o)', 'count_if(b)', 'bool_or(b)',
      'approx_count_distinct(x)']);
    const sql = await df.groupBy('g').agg(expr('stddev_pop(x) AS sdp'), expr('variance(x) AS v'), expr('collect_set(o) AS s'),
      expr('min_by(x, o) AS m'), expr('count_if(b) AS c'), expr('every(b) AS e'), expr('some(b) AS s2'),
      expr('approx_count_distinct(o, 0.01) AS d')).collect();
    assert.deepEqual(sql, [{ g: 'a', sdp: 0, v: null, s: [2], m: 1, c: 1, e: true, s2: true, d: 1 }]);
  });

  test('wrong input types and parameters are refused when the query is built', () => {
    const df = new Weir().createDataFrame([], SCHEMA);
    const refused = (build: () => unknown, pattern: RegExp): void => {
      assert.throws(build, (e: unknown) => e instanceof AnalysisError && pattern.test(e.message));
    };
    refused(() => df.groupBy('g').agg(count_if('x')), /count_if\(x\) needs a boolean column/);
    refused(() => df.groupBy('g').agg(stddev('g')), /stddev\(g\) needs a numeric column/);
    refused(() => df.groupBy('g').agg(approx_count_distinct('x', 0.5)), /relative standard deviation must be in \(0, 0\.39\]/);
    refused(() => df.groupBy('g').agg(approx_count_distinct('x', 0.0001)), /needs 2\^27 registers/);
  });
});

describe('state that survives a restart', () => {
  test('every new aggregate gives the reference result after a stop and restart in the middle', async () => {
    const rows = randomRows(1200, seededRandom(seed + 1));
    const parts = [rows.slice(0, 500), rows.slice(500, 900), rows.slice(900)];
    const out = await run((df) => df.groupBy('g').agg(...AGGS(), approx_count_distinct('o').as('d')), parts, 0);
    const distinct = new Map<string, Set<unknown>>();
    for (const r of rows) if (r['o'] !== null) distinct.set(r['g'] as string, (distinct.get(r['g'] as string) ?? new Set()).add(r['o']));
    // 50 distinct values at most: HyperLogLog's linear counting is within a few percent there.
    for (const r of out) {
      const exact = distinct.get(r['g'] as string)?.size ?? 0;
      assert.ok(Math.abs((r['d'] as number) - exact) <= Math.max(1, exact * 0.1), `group ${String(r['g'])}: ${String(r['d'])} vs ${exact}`);
    }
    assertRows(comparable(out.map(({ d: _, ...r }) => r)), comparable(reference(rows)));
  });

  test('merged session windows merge every aggregate\'s state (across a restart)', async () => {
    // Two sessions of one key, bridged by a later row after the restart: the merge path of every aggregate.
    const row = (s: number, x: number, o: number, b: boolean): Row => ({ g: 'k', x, b, o, ts: sec(s) });
    const parts = [[row(0, 1, 3, true), row(1, 2, 9, false)], [row(20, 10, 5, true), row(21, 20, 4, true)], [row(10, 7, 1, true)]];
    const build = (df: DataFrame): DataFrame => df.groupBy('g', sessionWindow('ts', '10 seconds')).agg(...AGGS(),
      approxCountDistinct('o').as('d'));
    const restarted = await run(build, parts, 1);
    const expected = reference(parts.flat()).map((r) => ({ ...r, session_window: { start: sec(0), end: sec(31) }, d: 5 }));
    assertRows(comparable(restarted), comparable(expected));
  });
});

describe('percentile_approx', () => {
  test('rank within count/accuracy of Spark\'s exact percentile over a large input, the same result across a restart', async () => {
    const random = seededRandom(seed + 3);
    const n = 60_000;
    const rows = Array.from({ length: n }, (_, i) => ({ g: 'k', x: Math.round(random() * 1e6) / 100, b: null, o: null, ts: i }));
    const percentages = [0, 0.01, 0.1, 0.25, 0.5, 0.9, 0.99, 1];
    const accuracy = 200;
    const build = (df: DataFrame): DataFrame => df.groupBy('g').agg(percentile_approx('x', percentages, accuracy).as('p'));
    const [row] = await build(new Weir().createDataFrame(rows, SCHEMA)).collect();
    const got = row!['p'] as number[];
    const sorted = rows.map((r) => r.x).sort((a, b) => a - b);
    percentages.forEach((p, i) => {
      const v = got[i]!;
      const below = sorted.filter((x) => x < v).length;
      const atOrBelow = sorted.filter((x) => x <= v).length;
      const target = Math.max(Math.ceil(p * n), 1);
      const slack = n / accuracy;
      assert.ok(below < target + slack && atOrBelow > target - slack,
        `percentage ${p}: ${v} holds ranks ${below + 1}..${atOrBelow}, target ${target} ± ${slack} (seed ${seed})`);
    });
    const [restarted] = await run(build, [rows.slice(0, 25_000), rows.slice(25_000)], 0);
    assert.deepEqual(restarted!['p'], got, 'the summary restored from the checkpoint gives the uninterrupted result');
  });

  test('parameters are checked, Spark\'s name, and the SQL form with array()', async () => {
    const df = new Weir().createDataFrame([{ g: 'a', x: 1, b: null, o: 3, ts: 0 }, { g: 'a', x: 2, b: null, o: 1, ts: 0 }], SCHEMA);
    assert.deepEqual(df.groupBy('g').agg(percentile_approx('x', 0.5)).columns, ['g', 'percentile_approx(x, 0.5, 10000)']);
    assert.throws(() => df.groupBy('g').agg(percentile_approx('x', 1.5)), /percentage must be a number between 0.0 and 1.0/);
    assert.throws(() => df.groupBy('g').agg(percentile_approx('x', 0.5, 0)), /accuracy must be a positive integer/);
    assert.throws(() => df.groupBy('g').agg(percentile_approx('g', 0.5)), /needs a numeric, date or timestamp column/);
    const out = await df.groupBy('g').agg(expr('percentile_approx(o, array(0.5, 1), 100) AS p'), expr('approx_percentile(x, 0.5) AS m'))
      .collect();
    assert.deepEqual(out, [{ g: 'a', p: [1, 3], m: 1 }]);
  });
});

describe('approx_count_distinct', () => {
  test('relative error within 3 relative standard deviations over large inputs, the same estimate across a restart', async () => {
    const random = seededRandom(seed + 2);
    for (const rsd of [0.05, 0.01]) {
      for (const cardinality of [100, 5_000, 60_000]) {
        // Each distinct value appears about three times, in random order.
        const values = Array.from({ length: cardinality * 3 }, () => `v${Math.floor(random() * cardinality)}-${seed}`);
        const exact = new Set(values).size;
        const rows = values.map((v, i) => ({ g: v, x: i, b: null, o: null, ts: 0 }));
        const build = (df: DataFrame): DataFrame => df.groupBy().agg(approx_count_distinct('g', rsd).as('d'));
        const [{ d }] = await build(new Weir().createDataFrame(rows, SCHEMA)).collect() as [{ d: number }];
        const error = Math.abs(d - exact) / exact;
        assert.ok(error <= 3 * rsd, `rsd ${rsd}, ${exact} distinct: estimate ${d}, error ${error.toFixed(4)} (seed ${seed})`);
        if (cardinality === 5_000) {
          const half = Math.floor(rows.length / 2);
          const [restarted] = await run(build, [rows.slice(0, half), rows.slice(half)], 0);
          assert.equal(restarted!['d'], d, 'registers restored from the checkpoint give the uninterrupted estimate');
        }
      }
    }
  });
});
