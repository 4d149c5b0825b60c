/** Scalar rules as Spark documents them: casts of text to numbers, text of doubles, strings as code points, UTF-8 order, trim. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  col, concat, count, expr, greatest, least, length, lit, lower, lpad, ltrim, max, min, Row, rpad, rtrim, substring, trim, Weir,
} from '../../src/index.js';
import { seededRandom } from '../../src/common/random.js';
import { codePointLength, compareUtf8 } from '../../src/common/spark-strings.js';
import { removeTempDirs, sec, startCollecting } from './helpers.js';

after(removeTempDirs);

/** One string column `s` holding `values`, mapped by `select`. */
async function overText(values: (string | null)[], ...select: Parameters<ReturnType<Weir['createDataFrame']>['select']>) {
  return new Weir().createDataFrame(values.map((s) => ({ s })), 's STRING').select(...select).collect();
}

describe('casts of text to numbers', () => {
  test('to int and long: Spark\'s integer parser, not JavaScript\'s Number()', async () => {
    const inputs = ['1e3', '0x1A', '.', '1.9', '-1.9', ' 42 ', '+7', '-', '', '  ', '1_000', '12a', '1.2.3', '.5', '2147483648', '-2147483648', 'Infinity'];
    const rows = await overText(inputs, col('s'), col('s').cast('int').as('i'), col('s').cast('long').as('l'));
    const got = Object.fromEntries(rows.map((r) => [r['s'] as string, [r['i'], r['l']]]));
    assert.deepEqual(got, {
      '1e3': [null, null], '0x1A': [null, null], '.': [0, 0], '1.9': [1, 1], '-1.9': [-1, -1], ' 42 ': [42, 42],
      '+7': [7, 7], '-': [null, null], '': [null, null], '  ': [null, null], '1_000': [null, null], '12a': [null, null],
      '1.2.3': [null, null], '.5': [0, 0], '2147483648': [null, 2147483648], '-2147483648': [-2147483648, -2147483648],
      Infinity: [null, null],
    });
  });

  test('to long: beyond 2^53 is refused (null), never rounded', async () => {
    const rows = await overText(['9007199254740991', '9007199254740993'], col('s').cast('long').as('l'));
    assert.deepEqual(rows.map((r) => r['l']), [9007199254740991, null]);
  });

  test('to double: Java\'s syntax plus Spark\'s inf and nan literals', async () => {
    const inputs = ['NaN', 'nan', '-NaN', 'inf', '-inf', '+INF', 'Infinity', '-Infinity', 'infinity', '1e3', '1.5d', '2f',
      '0x1.8p1', '0x1A', '.', '', ' 2.5 ', '1,5', 'Inf1'];
    const rows = await overText(inputs, col('s'), col('s').cast('double').as('d'));
    const got = Object.fromEntries(rows.map((r) => [r['s'] as string, r['d']]));
    assert.deepEqual(got, {
      NaN: NaN, nan: NaN, '-NaN': NaN, inf: Infinity, '-inf': -Infinity, '+INF': Infinity, Infinity: Infinity,
      '-Infinity': -Infinity, infinity: Infinity, '1e3': 1000, '1.5d': 1.5, '2f': 2, '0x1.8p1': 3, '0x1A': null, '.': null,
      '': null, ' 2.5 ': 2.5, '1,5': null, Inf1: null,
    });
  });
});

describe('doubles as text', () => {
  test('concat and string functions print a double as Java does', async () => {
    const df = new Weir().createDataFrame([{ d: 43, n: 7, x: 0.1 }], 'd DOUBLE, n INT, x DOUBLE');
    const [row] = await df.select(concat(col('d'), lit('|'), col('n'), lit('|'), col('x'), lit('|'), col('d').multiply(1e7)).as('c'),
      length('d').as('len'), lower(col('d').divide(0.0)).as('nan'), lpad('d', 6, '*').as('p')).collect();
    assert.deepEqual(row, { c: '43.0|7|0.1|4.3E8', len: 4, nan: null, p: '**43.0' });
  });

  test('negative zero keeps its sign, as Java prints it', async () => {
    const df = new Weir().createDataFrame([{ d: -0 }, { d: 0 }], 'd DOUBLE');
    assert.deepEqual(await df.select(concat(col('d'), lit('')).as('c')).collect(), [{ c: '-0.0' }, { c: '0.0' }]);
  });

  test('concat of a timestamp uses its Spark text', async () => {
    const df = new Weir().createDataFrame([{ t: Date.UTC(2024, 0, 2, 3, 4, 5) }], 't TIMESTAMP');
    assert.deepEqual(await df.select(concat(lit('at '), col('t')).as('c')).collect(), [{ c: 'at 2024-01-02 03:04:05' }]);
  });
});

describe('strings are code points', () => {
  const duck = '🦆🦆 duck';

  test('length counts characters, not UTF-16 units', async () => {
    assert.deepEqual(await overText([duck, 'é', ''], length('s').as('n')), [{ n: 7 }, { n: 1 }, { n: 0 }]);
  });

  test('substring never splits a character; negative positions compute the end before clamping', async () => {
    const rows = await overText([duck], substring('s', 2, 2).as('a'), substring('s', -4, 2).as('b'),
      substring('s', -9, 3).as('c'), substring('s', -7, 1).as('d'), substring('s', 0, 1).as('e'), substring('s', 8, 1).as('f'));
    // Spark: start = length + pos, end = start + len, then start = max(start, 0): (-9, 3) on 7 characters is [0, 1).
    assert.deepEqual(rows, [{ a: '🦆 ', b: 'du', c: '🦆', d: '🦆', e: '🦆', f: '' }]);
    const hello = await overText(['hello'], substring('s', -7, 3).as('x'), substring('s', -5, 2).as('y'), substring('s', -10, 3).as('z'));
    assert.deepEqual(hello, [{ x: 'h', y: 'he', z: '' }]);
  });

  test('like\'s _ matches one character', async () => {
    const rows = await overText(['🦆x', 'ax', '🦆🦆x'], col('s'), col('s').like('_x').as('m'));
    assert.deepEqual(rows.map((r) => r['m']), [true, true, false]);
  });

  test('lpad and rpad count characters, repeat the pad and cut longer text', async () => {
    const rows = await overText(['🦆', 'abcdef', 'ab'], lpad('s', 4, 'xy').as('l'), rpad('s', 3, '🦆').as('r'), lpad('s', 3, '').as('e'),
      lpad('s', -1, 'x').as('neg'));
    assert.deepEqual(rows, [
      { l: 'xyx🦆', r: '🦆🦆🦆', e: '🦆', neg: '' },
      { l: 'abcd', r: 'abc', e: 'abc', neg: '' },
      { l: 'xyab', r: 'ab🦆', e: 'ab', neg: '' },
    ]);
    assert.deepEqual(await overText(['a'], expr("lpad(s, 3)").as('d')), [{ d: '  a' }]);
  });
});

describe('strings order by UTF-8 bytes', () => {
  // U+FF61 is one UTF-16 unit above the surrogates of U+1F986, but its UTF-8 bytes (EF ..) sort below F0 ...
  const high = '\uff61';
  const astral = '🦆';

  test('comparisons and between', async () => {
    const rows = await overText([astral], col('s').gt(high).as('gt'), col('s').lt(high).as('lt'),
      col('s').between('\ue000', high).as('inside'), expr(`s > '${high}'`).as('sql'));
    assert.deepEqual(rows, [{ gt: true, lt: false, inside: false, sql: true }]);
  });

  test('orderBy, min/max, greatest/least', async () => {
    const weir = new Weir();
    const df = weir.createDataFrame([{ s: astral }, { s: high }, { s: 'z' }], 's STRING');
    assert.deepEqual((await df.orderBy('s').collect()).map((r) => r['s']), ['z', high, astral]);
    assert.deepEqual(await df.groupBy().agg(min('s').as('lo'), max('s').as('hi')).collect(), [{ lo: 'z', hi: astral }]);
    const [row] = await weir.createDataFrame([{ a: astral, b: high }], 'a STRING, b STRING')
      .select(greatest('a', 'b').as('g'), least('a', 'b').as('l')).collect();
    assert.deepEqual(row, { g: astral, l: high });
  });
});

test('randomized: the string order is the order of UTF-8 bytes, the length the number of code points', () => {
  const seed = Number(process.env['WEIR_TEST_SEED'] ?? Date.now() % 1_000_000);
  console.log(`seed ${seed} (set WEIR_TEST_SEED to repeat)`);
  const random = seededRandom(seed);
  const alphabet = ['a', 'z', '\u00e9', '\ud7ff', '\ue000', '\uff61', '\uffff', '🦆', '\u{10ffff}', '\u{10000}'];
  const text = (): string => Array.from({ length: Math.floor(random() * 5) }, () => alphabet[Math.floor(random() * alphabet.length)]!).join('');
  for (let i = 0; i < 5000; i++) {
    const [a, b] = [text(), text()];
    assert.equal(Math.sign(compareUtf8(a, b)), Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))), `${JSON.stringify([a, b])} (seed ${seed})`);
    assert.equal(codePointLength(a), Array.from(a).length);
  }
});

describe('trim', () => {
  test('trim, ltrim and rtrim remove spaces only', async () => {
    const rows = await overText(['\t a b \n', '  x  '], trim('s').as('t'), ltrim('s').as('l'), rtrim('s').as('r'));
    assert.deepEqual(rows, [
      { t: '\t a b \n', l: '\t a b \n', r: '\t a b \n' },
      { t: 'x', l: 'x  ', r: '  x' },
    ]);
  });

  test('with characters: TRIM(BOTH chars FROM s) as trim(s, chars), in the API and in SQL', async () => {
    const rows = await overText(['xyaxbyx', '🦆a🦆'], trim('s', 'xy').as('t'), ltrim('s', 'xy').as('l'), rtrim('s', 'yx').as('r'),
      expr("btrim(s, '🦆')").as('b'));
    assert.deepEqual(rows, [
      { t: 'axb', l: 'axbyx', r: 'xyaxb', b: 'xyaxbyx' },
      { t: '🦆a🦆', l: '🦆a🦆', r: '🦆a🦆', b: 'a' },
    ]);
  });
});

describe('lit', () => {
  test('Infinity and NaN are doubles; a Date is a timestamp named as Spark names it', async () => {
    const when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 600));
    const df = new Weir().createDataFrame([{ x: 1 }], 'x INT').select(lit(Infinity), lit(-Infinity), lit(NaN), lit(when),
      lit(col('x')).as('same'));
    assert.deepEqual(df.schema.map((f) => [f.name, f.type]), [
      ['Infinity', 'double'], ['-Infinity', 'double'], ['NaN', 'double'], ["TIMESTAMP '2024-01-02 03:04:05.6'", 'timestamp'],
      ['same', 'integer'],
    ]);
    const [row] = await df.collect();
    assert.deepEqual(Object.values(row!), [Infinity, -Infinity, NaN, when.getTime(), 1]);
  });

  test('an integer beyond 2^53 is a double, not a long', () => {
    const df = new Weir().createDataFrame([{ x: 1 }], 'x INT').select(lit(2 ** 60).as('big'), lit(2 ** 40).as('long'));
    assert.deepEqual(df.schema.map((f) => f.type), ['double', 'long']);
  });
});

describe('dropDuplicates with a watermark', () => {
  test('drops late rows in complete mode too', async () => {
    const weir = new Weir();
    const input = weir.memoryStream('id STRING, ts TIMESTAMP');
    const df = input.toDF().withWatermark('ts', '10 seconds').dropDuplicates(['id', 'ts']).groupBy('id').agg(count('*').as('n'));
    const seen: [number, Row[]][] = [];
    const q = await startCollecting(df, seen, { mode: 'complete' });
    input.addData([{ id: 'a', ts: sec(100) }]);
    await q.processAllAvailable(); // watermark afterwards 90
    input.addData([{ id: 'a', ts: sec(50) }, { id: 'a', ts: sec(95) }]);
    await q.processAllAvailable();
    await q.stop();
    // 50 is at or below the watermark (90): Spark's dedup drops it whatever the output mode; 95 is kept.
    assert.deepEqual(seen.at(-1)![1], [{ id: 'a', n: 2 }]);
    assert.equal(q.lastProgress!.stateOperators.find((o) => o.operatorName === 'dedupe')!.numRowsDroppedByWatermark, 1);
  });
});

describe('equality', () => {
  test('NaN equals NaN in =, != and <=> (Spark\'s rule); <=> is never null, also with a decimal operand', async () => {
    const rows = await new Weir().createDataFrame([{ a: Number.NaN, b: Number.NaN }, { a: 1, b: null }, { a: null, b: null }],
      'a DOUBLE, b DOUBLE').select(col('a').equalTo(col('b')).as('eq'), col('a').notEqual(col('b')).as('ne'),
      col('a').eqNullSafe(col('b')).as('ns'), expr('CAST(a AS DECIMAL(5,1)) <=> 1').as('dec')).collect();
    assert.deepEqual(rows, [
      { eq: true, ne: false, ns: true, dec: false }, // NaN cast to a decimal is null
      { eq: null, ne: null, ns: false, dec: true },
      { eq: null, ne: null, ns: true, dec: false },
    ]);
  });
});
