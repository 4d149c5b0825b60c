/**
 * DECIMAL(p,s) against Spark's documented behaviour: DecimalPrecision's result types (with the 38-digit
 * cap and allowPrecisionLoss), half-up rounding, null on overflow (non-ANSI), sum/avg types, exact
 * grouping and ordering, SQL decimal literals, and a decimal sum across a restart.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  avg, col, collect_set, count, countDistinct, DataFrame, Decimal, expr, lit, max, min, Row, sessionWindow, sum, Weir, when,
} from '../../src/index.js';
import { decimalArithmetic } from '../../src/common/decimal.js';
import { toSchema } from '../../src/common/schema.js';
import { stateKeyOf } from '../../src/exec/state-keys.js';
import { refused, removeTempDirs, startCollecting, tempDir } from './helpers.js';

after(removeTempDirs);

const d = (text: string): Decimal => Decimal.parse(text)!;
/** Rows with every decimal as its text, so assertions see digits and scale. */
const texts = (rows: readonly Row[]): Row[] =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Decimal ? v.toString() : v])));

function one(df: DataFrame): Promise<Row> {
  return df.collect().then((rows) => texts(rows)[0]!);
}

const unit = (): DataFrame => new Weir().createDataFrame([{ a: 1 }], 'a INT');

describe('DECIMAL types in schemas', () => {
  test('DDL and schema objects: DECIMAL(p,s), DECIMAL as (10,0), DECIMAL(p) as (p,0), NUMERIC and DEC as synonyms', () => {
    assert.deepEqual(toSchema('a DECIMAL(10,2), b DECIMAL, c decimal(5), d NUMERIC(38, 38), e DEC(1,0)').map((f) => f.type),
      ['decimal(10,2)', 'decimal(10,0)', 'decimal(5,0)', 'decimal(38,38)', 'decimal(1,0)']);
    assert.deepEqual(toSchema({ price: 'decimal(12,4)' })[0]!.type, 'decimal(12,4)');
    assert.deepEqual(toSchema('s STRUCT<x: DECIMAL(4,1)>, xs ARRAY<DECIMAL(3,2)>')[1]!.type, { kind: 'array', element: 'decimal(3,2)' });
  });

  test('precision 1..38 and scale 0..p, or a clear refusal', async () => {
    await refused(() => toSchema('a DECIMAL(0,0)'), 'INVALID_DECIMAL_TYPE', /precision .* must be 1 to 38/);
    await refused(() => toSchema('a DECIMAL(39,2)'), 'INVALID_DECIMAL_TYPE', /DECIMAL\(39,2\)/, /1 to 38/);
    await refused(() => toSchema('a DECIMAL(5,6)'), 'INVALID_DECIMAL_TYPE', /scale .* must be 0 to the precision 5/);
    await refused(() => toSchema({ a: 'decimal(5,6)' }), 'INVALID_DECIMAL_TYPE', /column 'a'/);
    await refused(() => unit().select(col('a').cast('decimal(40,0)')), 'INVALID_DECIMAL_TYPE', /1 to 38/);
    await refused(() => unit().select(lit(d('1e-40'))), 'INVALID_DECIMAL_TYPE', /the literal 1E-40/);
  });
});

describe('DECIMAL values: casts, arithmetic and its result types, as Spark computes them', () => {
  test('casts from string, int, long and double round half up to the scale; overflow and non-numbers are null', async () => {
    const row = await one(unit().select(
      lit('1.005').cast('decimal(10,2)').as('halfUp'), lit('-1.005').cast('decimal(10,2)').as('halfUpNegative'),
      lit(' 1e3 ').cast('decimal(10,2)').as('exponent'), lit('abc').cast('decimal(10,2)').as('text'),
      lit('123456789.1').cast('decimal(10,2)').as('overflow'), col('a').cast('decimal(3,1)').as('int'),
      lit(2 ** 52).cast('decimal(20,0)').as('long'), lit(0.1).cast('decimal(10,2)').as('double'),
      lit(1e300).cast('decimal(38,0)').as('hugeDouble')));
    assert.deepEqual(row, {
      halfUp: '1.01', halfUpNegative: '-1.01', exponent: '1000.00', text: null, overflow: null, int: '1.0',
      long: '4503599627370496', double: '0.10', hugeDouble: null,
    });
  });

  test('casts from decimal: text as Java prints it, the nearest double, the whole part toward zero', async () => {
    const x = lit(d('-12.75'));
    const row = await one(unit().select(x.cast('string').as('s'), x.cast('double').as('dbl'), x.cast('int').as('i'),
      x.cast('long').as('l'), lit(d('0.0000001')).cast('string').as('tiny'), lit(d('0.000001')).cast('string').as('small')));
    assert.deepEqual(row, { s: '-12.75', dbl: -12.75, i: -12, l: -12, tiny: '1E-7', small: '0.000001' });
  });

  test('result types follow DecimalPrecision: + - * / % with the 38 cap and minimum scale 6', () => {
    const df = new Weir().createDataFrame([], 'a DECIMAL(10,2), b DECIMAL(5,3), big DECIMAL(38,10), c DECIMAL(38,18), i INT, l BIGINT, x DOUBLE');
    const typeOf = (c: ReturnType<typeof col>): string => df.select(c.as('r')).schema[0]!.type as string;
    assert.equal(typeOf(col('a').plus(col('b'))), 'decimal(12,3)');
    assert.equal(typeOf(col('a').minus(col('b'))), 'decimal(12,3)');
    assert.equal(typeOf(col('a').multiply(col('b'))), 'decimal(16,5)');
    assert.equal(typeOf(col('a').divide(col('b'))), 'decimal(19,8)');
    assert.equal(typeOf(col('a').mod(col('b'))), 'decimal(5,3)');
    // Past 38 digits the integral digits are kept and the scale gives way, down to 6.
    assert.equal(typeOf(col('big').multiply(col('big'))), 'decimal(38,6)');
    assert.equal(typeOf(col('c').divide(col('c'))), 'decimal(38,6)');
    // Integers widen to DECIMAL(10,0) and DECIMAL(20,0), an integer literal to its own digits; a double makes it all double.
    assert.equal(typeOf(col('a').plus(col('i'))), 'decimal(13,2)');
    assert.equal(typeOf(col('a').plus(col('l'))), 'decimal(23,2)');
    assert.equal(typeOf(col('a').multiply(100)), 'decimal(14,2)');
    assert.equal(typeOf(col('a').plus(col('x'))), 'double');
    assert.equal(typeOf(expr('-a')), 'decimal(10,2)');
  });

  test('values: exact, rounded half up to the result scale, null on overflow or division by zero', async () => {
    const row = await one(unit().select(
      lit(d('0.1')).plus(lit(d('0.2'))).as('sum'), lit(d('1')).divide(lit(d('3'))).as('third'),
      lit(d('2')).divide(lit(d('3'))).as('twoThirds'), lit(d('1.10')).multiply(lit(d('1.10'))).as('product'),
      lit(d('10.5')).mod(lit(d('3'))).as('rem'), lit(d('-10.5')).mod(lit(d('3'))).as('negRem'),
      lit(d('1')).divide(lit(d('0'))).as('byZero'),
      lit('99999999999999999999999999999999999999').cast('decimal(38,0)').plus(1).as('overflow'),
      lit(d('1.5')).plus(col('a')).as('withInt'), lit(d('0.1')).plus(lit(0.2)).as('withDouble')));
    assert.deepEqual(row, {
      sum: '0.3', third: '0.333333', twoThirds: '0.666667', product: '1.2100', rem: '1.5', negRem: '-1.5', byZero: null,
      overflow: null, withInt: '2.5', withDouble: 0.30000000000000004,
    });
  });

  test('a product beyond 38 digits is rounded to the adjusted scale exactly as Spark rounds it', () => {
    // DECIMAL(38,10) * DECIMAL(38,10) is DECIMAL(38,6): 1.0000000005 squared is 1.00000000100000000025, rounded to 1.000000.
    const x = d('1.0000000005');
    assert.equal(decimalArithmetic('*', x, x, 38, 6)!.toString(), '1.000000');
    assert.equal(decimalArithmetic('*', d('123456789.123456789'), d('1000'), 38, 6)!.toString(), '123456789123.456789');
    assert.equal(decimalArithmetic('/', d('1'), d('7'), 38, 6)!.toString(), '0.142857');
    assert.equal(decimalArithmetic('/', d('-2'), d('3'), 38, 6)!.toString(), '-0.666667');
  });

  test('comparisons and ordering are by value (not by text), across scales and with integers', async () => {
    const rows = ['10.00', '9.50', '-2.25', '100.00', '9.5'].map((s) => ({ s }));
    const df = new Weir().createDataFrame(rows, 's STRING').select(col('s').cast('decimal(6,2)').as('v'));
    const sorted = texts(await df.orderBy(col('v')).collect()).map((r) => r['v']);
    assert.deepEqual(sorted, ['-2.25', '9.50', '9.50', '10.00', '100.00']);
    const big = texts(await df.filter(col('v').gt(lit(d('9.5')))).collect()).map((r) => r['v']).sort();
    assert.deepEqual(big, ['10.00', '100.00']);
    assert.equal((await df.filter(col('v').equalTo(10)).collect()).length, 1);
    assert.equal((await df.filter(col('v').isin(lit(d('9.5')), lit(d('100')))).collect()).length, 3);
  });
});

test('CASE widens its branches to one decimal type holding them all, as Spark does', async () => {
  const df = unit().select(when(col('a').equalTo(1), lit(d('1.5'))).when(col('a').equalTo(2), lit(d('-100.25')))
    .otherwise(col('a')).as('v'));
  assert.equal(df.schema[0]!.type, 'decimal(12,2)');
  assert.deepEqual(texts(await df.collect()), [{ v: '1.50' }]);
});

test('union widens decimal columns as Spark does and casts each side to the wider type', async () => {
  const weir = new Weir();
  const a = weir.createDataFrame([{ v: '1.25', i: 7, x: 0.5 }], 'v STRING, i INT, x DOUBLE')
    .select(col('v').cast('decimal(10,2)').as('v'), col('i').cast('decimal(3,1)').as('i'), col('v').cast('decimal(4,2)').as('x'));
  const b = weir.createDataFrame([{ v: '123456.789', i: 8, x: 0.5 }], 'v STRING, i INT, x DOUBLE')
    .select(col('v').cast('decimal(12,4)').as('v'), col('i'), col('x'));
  const u = a.union(b);
  assert.deepEqual(u.schema.map((f) => f.type), ['decimal(12,4)', 'decimal(11,1)', 'double']);
  assert.deepEqual(texts(await u.collect()), [{ v: '1.2500', i: '7.0', x: 1.25 }, { v: '123456.7890', i: '8.0', x: 0.5 }]);
});

describe('DECIMAL aggregates', () => {
  test('sum of 0.1 ten times is exactly 1.0 (a double sum is not); avg is DECIMAL(p+4, s+4)', async () => {
    const rows = Array.from({ length: 10 }, () => ({ x: '0.1', y: 0.1 }));
    const df = new Weir().createDataFrame(rows, 'x STRING, y DOUBLE').select(col('x').cast('decimal(10,1)').as('x'), col('y'));
    const agg = df.groupBy().agg(sum('x').as('s'), avg('x').as('a'), sum('y').as('doubleSum'), min('x').as('mn'),
      max('x').as('mx'), count('x').as('n'));
    assert.deepEqual(agg.schema.map((f) => f.type), ['decimal(20,1)', 'decimal(14,5)', 'double', 'decimal(10,1)', 'decimal(10,1)', 'long']);
    assert.deepEqual(texts(await agg.collect()), [{ s: '1.0', a: '0.10000', doubleSum: 0.9999999999999999, mn: '0.1', mx: '0.1', n: 10 }]);
  });

  test('avg rounds half up at its scale; min and max by value; an all-null group sums to null', async () => {
    const rows = [{ g: 'a', v: '1' }, { g: 'a', v: '2' }, { g: 'a', v: '2' }, { g: 'b', v: null }, { g: 'c', v: '-7' }, { g: 'c', v: '10' }];
    const df = new Weir().createDataFrame(rows, 'g STRING, v STRING').select(col('g'), col('v').cast('decimal(5,0)').as('v'));
    const out = texts(await df.groupBy('g').agg(sum('v').as('s'), avg('v').as('a'), min('v').as('mn'), max('v').as('mx'))
      .orderBy('g').collect());
    assert.deepEqual(out, [
      { g: 'a', s: '5', a: '1.6667', mn: '1', mx: '2' },
      { g: 'b', s: null, a: null, mn: null, mx: null },
      { g: 'c', s: '3', a: '1.5000', mn: '-7', mx: '10' },
    ]);
  });

  test('a sum beyond its precision is null (Spark without ANSI), and stays null', async () => {
    const nines = '9'.repeat(38);
    const rows = [{ v: nines }, { v: nines }, { v: `-${nines}` }, { v: '1' }];
    const df = new Weir().createDataFrame(rows, 'v STRING').select(col('v').cast('decimal(38,0)').as('v'));
    assert.deepEqual(texts(await df.groupBy().agg(sum('v').as('s'), avg('v').as('a'), count('v').as('n')).collect()),
      [{ s: null, a: null, n: 4 }]);
  });

  test('group keys, count distinct and collect_set treat 1.0 and 1.00 as one value', async () => {
    assert.equal(stateKeyOf([d('1.0')]), stateKeyOf([d('1.00')]));
    assert.equal(stateKeyOf([d('1.0'), 'x']), stateKeyOf([d('1.00'), 'x']));
    assert.notEqual(stateKeyOf([d('1.0')]), stateKeyOf([d('10')]));
    const rows = [{ v: '1.0' }, { v: '1.00' }, { v: '1' }, { v: '2.5' }];
    const df = new Weir().createDataFrame(rows, 'v STRING').select(col('v').cast('decimal(4,2)').as('v'));
    assert.deepEqual(texts(await df.groupBy('v').agg(count('*').as('n')).orderBy('v').collect()),
      [{ v: '1.00', n: 3 }, { v: '2.50', n: 1 }]);
    const [distinct] = await df.groupBy().agg(countDistinct('v').as('n'), collect_set('v').as('set')).collect();
    assert.equal(distinct!['n'], 2);
    assert.deepEqual((distinct!['set'] as Decimal[]).map(String).sort(), ['1.00', '2.50']);
  });

  test('session windows merge decimal sums exactly', async () => {
    const weir = new Weir();
    const input = weir.memoryStream('ts TIMESTAMP, k STRING, v DECIMAL(30,2)');
    const batches: [number, Row[]][] = [];
    const q = await startCollecting(input.toDF().withWatermark('ts', '1 second').groupBy(sessionWindow('ts', '5 seconds'), col('k'))
      .agg(sum('v').as('s')), batches);
    input.addData([{ ts: 1000, k: 'a', v: d('12345678901234567890.10') }, { ts: 4000, k: 'a', v: d('0.05') }]);
    await q.processAllAvailable();
    input.addData([{ ts: 60_000, k: 'a', v: d('1') }]);
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(texts(batches.flatMap(([, rows]) => rows)).map((r) => [r['k'], r['s']]), [['a', '12345678901234567890.15']]);
  });

  test('a decimal sum, avg and group key survive a restart exactly', async () => {
    const checkpoint = await tempDir();
    const schema = 'k DECIMAL(6,2), v DECIMAL(20,10)';
    const part = (text: string): Row[] => Array.from({ length: 5 }, (_, i) => ({ k: d(i % 2 ? '1.50' : '2.00'), v: d(text) }));
    const build = (df: DataFrame): DataFrame => df.groupBy('k').agg(sum('v').as('s'), avg('v').as('a'));
    const batches: [number, Row[]][] = [];
    let weir = new Weir();
    let input = weir.memoryStream(schema);
    let q = await startCollecting(build(input.toDF()), batches, { checkpoint, mode: 'complete' });
    input.addData(part('0.0000000001'));
    await q.processAllAvailable();
    await q.stop();
    weir = new Weir();
    input = weir.memoryStream(schema);
    input.addData(part('0.0000000001'));
    q = await startCollecting(build(input.toDF()), batches, { checkpoint, mode: 'complete' });
    input.addData(part('1234567890.0000000001'));
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(texts(batches.at(-1)![1]).sort((a, b) => String(a['k']).localeCompare(String(b['k']))), [
      { k: '1.50', s: '2469135780.0000000004', a: '617283945.00000000010000' },
      { k: '2.00', s: '3703703670.0000000006', a: '617283945.00000000010000' },
    ]);
  });
});

describe('DECIMAL in SQL', () => {
  test('1.5 is a DECIMAL(2,1) literal, 1.5e0 and 1.5D doubles; CAST AS DECIMAL(p,s)', async () => {
    const weir = new Weir();
    weir.createDataFrame([{ a: 1 }], 'a INT').createOrReplaceTempView('t');
    const df = weir.sql(`SELECT 1.5 AS dec, 1.5e0 AS e, 1.5D AS dd, 0.1 + 0.2 = 0.3 AS exact, -0.25 AS neg,
      CAST('1.25' AS DECIMAL(5,1)) AS c, CAST(a AS DECIMAL) AS ad, 1.5 * 2 AS times, 1.5 * 2.5D AS mixed FROM t`);
    assert.deepEqual(df.schema.map((f) => f.type),
      ['decimal(2,1)', 'double', 'double', 'boolean', 'decimal(2,2)', 'decimal(5,1)', 'decimal(10,0)', 'decimal(4,1)', 'double']);
    assert.deepEqual(texts(await df.collect()), [
      { dec: '1.5', e: 1.5, dd: 1.5, exact: true, neg: '-0.25', c: '1.3', ad: '1', times: '3.0', mixed: 3.75 },
    ]);
  });

  test('CREATE TABLE declares DECIMAL columns; a JSON file\'s long numbers stay exact through a streaming SQL query', async () => {
    const folder = await tempDir();
    await writeFile(join(folder, 'a.json'), '{"id": 1, "amount": 12345678901.25}\n{"id": 2, "amount": "0.005"}\n');
    const weir = new Weir();
    const df = weir.sql(`CREATE TABLE orders (id INT, amount DECIMAL(13,2)) WITH ('format' = 'json', 'path' = '${folder}');
      SELECT id, amount, amount * 2 AS twice FROM orders`);
    assert.deepEqual(df.schema.map((f) => f.type), ['integer', 'decimal(13,2)', 'decimal(15,2)']);
    const batches: [number, Row[]][] = [];
    const q = await startCollecting(df, batches, { trigger: { availableNow: true } });
    await q.awaitTermination();
    assert.deepEqual(texts(batches.flatMap(([, rows]) => rows)), [
      { id: 1, amount: '12345678901.25', twice: '24691357802.50' }, { id: 2, amount: '0.01', twice: '0.02' },
    ]);
  });

  test('sum over a DECIMAL column in SQL has type DECIMAL(p+10,s)', async () => {
    const weir = new Weir();
    weir.createDataFrame([{ p: '19.99' }, { p: '0.01' }], 'p STRING').selectExpr('CAST(p AS DECIMAL(7,2)) AS p')
      .createOrReplaceTempView('prices');
    const df = weir.sql('SELECT sum(p) AS total, avg(p) AS mean FROM prices');
    assert.deepEqual(df.schema.map((f) => f.type), ['decimal(17,2)', 'decimal(11,6)']);
    assert.deepEqual(texts(await df.collect()), [{ total: '20.00', mean: '10.000000' }]);
  });
});
