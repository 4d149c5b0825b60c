import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  AnalysisError, coalesce, col, concat, current_timestamp, date_trunc, dayofmonth, DataFrame, hour, length, lit,
  lower, minute, month, regexp_replace, Row, SchemaLike, second, size, split, substring, to_timestamp, trim,
  unix_timestamp, upper, Weir, when, year,
} from '../../src/index.js';
import { toSchema } from '../../src/common/schema.js';
import { formatTable } from '../../src/connectors/console/sink.js';
import { assertRows, removeTempDirs, startMemory } from './helpers.js';

after(removeTempDirs);

/** Runs `build` over a memory stream holding `rows` (one batch) and returns the memory sink's rows. */
async function through(schema: SchemaLike, rows: Row[], build: (df: DataFrame) => DataFrame): Promise<Row[]> {
  const weir = new Weir();
  const input = weir.memoryStream(schema);
  const q = await startMemory(build(input.toDF()), 'out');
  input.addData(rows);
  await q.processAllAvailable();
  await q.stop();
  return weir.memorySink('out').rows;
}

function analysisError(check: (e: AnalysisError) => void): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof AnalysisError, `expected an AnalysisError, got ${String(err)}`);
    check(err);
    return true;
  };
}

const people = 'name STRING, age INT, score DOUBLE';
const peopleRows: Row[] = [
  { name: 'ann', age: 31, score: 1.5 },
  { name: 'bob', age: 17, score: null },
  { name: 'cy', age: null, score: 3 },
];

describe('projection and filtering', () => {
  test('select takes names and Columns; derived columns get Spark names', async () => {
    const weir = new Weir();
    const df = weir.memoryStream(people).toDF()
      .select('name', col('age').plus(1), col('age').gt(18), col('score').isNull(), lit('x'), col('age').as('years'));
    assert.deepEqual(df.columns, ['name', '(age + 1)', '(age > 18)', '(score IS NULL)', 'x', 'years']);
    const out = await through(people, peopleRows, (d) => d
      .select('name', col('age').plus(1), col('age').gt(18), col('score').isNull(), lit('x'), col('age').as('years')));
    assertRows(out, [
      { name: 'ann', '(age + 1)': 32, '(age > 18)': true, '(score IS NULL)': false, x: 'x', years: 31 },
      { name: 'bob', '(age + 1)': 18, '(age > 18)': false, '(score IS NULL)': true, x: 'x', years: 17 },
      { name: 'cy', '(age + 1)': null, '(age > 18)': null, '(score IS NULL)': false, x: 'x', years: null },
    ]);
  });

  test('Spark names for operators, negation, membership, ranges and CASE', () => {
    const df = new Weir().memoryStream('a INT, b INT').toDF().select(
      col('a').minus(col('b')), col('a').multiply(2), col('a').divide(2), col('a').mod(2), col('a').equalTo(1),
      col('a').notEqual(1), col('a').geq(1), col('a').lt(1), col('a').leq(1), col('a').gt(0).and(col('b').gt(0)),
      col('a').gt(0).or(col('b').gt(0)), col('a').gt(0).not(), col('a').negate(), col('a').isNotNull(),
      col('a').isin(1, 2), col('a').between(1, 3), when(col('a').gt(1), 'x').otherwise('y'), upper('a'),
    );
    assert.deepEqual(df.columns, [
      '(a - b)', '(a * 2)', '(a / 2)', '(a % 2)', '(a = 1)', '(NOT (a = 1))', '(a >= 1)', '(a < 1)', '(a <= 1)',
      '((a > 0) AND (b > 0))', '((a > 0) OR (b > 0))', '(NOT (a > 0))', '(- a)', '(a IS NOT NULL)', '(a IN (1, 2))',
      '((a >= 1) AND (a <= 3))', 'CASE WHEN (a > 1) THEN x ELSE y END', 'upper(a)',
    ]);
  });

  test('filter and where keep rows where the condition is true; null counts as false', async () => {
    const out = await through(people, peopleRows, (d) => d.filter(col('age').gt(18)).select('name'));
    assert.deepEqual(out, [{ name: 'ann' }]);
    const notAdult = await through(people, peopleRows, (d) => d.where(col('age').gt(18).not()).select('name'));
    assert.deepEqual(notAdult, [{ name: 'bob' }]);
    const chained = await through(people, peopleRows, (d) => d.where(col('age').isNotNull()).where(col('score').isNull()));
    assert.deepEqual(chained, [{ name: 'bob', age: 17, score: null }]);
  });

  test('withColumn adds or replaces; withColumnRenamed renames (unknown name: no-op); drop removes', async () => {
    const out = await through(people, peopleRows, (d) => d
      .withColumn('age', col('age').multiply(10))
      .withColumn('adult', col('age').geq(180))
      .withColumnRenamed('name', 'who')
      .withColumnRenamed('nope', 'whatever')
      .drop('score'));
    assertRows(out, [
      { who: 'ann', age: 310, adult: true },
      { who: 'bob', age: 170, adult: false },
      { who: 'cy', age: null, adult: null },
    ]);
    const df = new Weir().memoryStream(people).toDF().withColumn('age', col('age').plus(1)).withColumn('z', lit(1));
    assert.deepEqual(df.columns, ['name', 'age', 'score', 'z']);
  });

  test('union keeps the rows of both inputs, matched by position, named by the left side', async () => {
    const weir = new Weir();
    const left = weir.memoryStream('k STRING, v INT');
    const right = weir.memoryStream('key STRING, value INT');
    const q = await startMemory(left.toDF().union(right.toDF()), 'u');
    left.addData([{ k: 'a', v: 1 }, { k: 'b', v: 2 }]);
    right.addData([{ key: 'a', value: 1 }, { key: 'c', value: 3 }]);
    await q.processAllAvailable();
    await q.stop();
    assertRows(weir.memorySink('u').rows, [
      { k: 'a', v: 1 }, { k: 'a', v: 1 }, { k: 'b', v: 2 }, { k: 'c', v: 3 },
    ]);
  });

  test('union of inputs with different column types is rejected, naming both schemas', () => {
    const weir = new Weir();
    const a = weir.memoryStream('k STRING').toDF();
    const b = weir.memoryStream('k BOOLEAN').toDF();
    assert.throws(() => a.union(b), analysisError((e) => {
      assert.equal(e.code, 'UNION_MISMATCH');
      assert.match(e.message, /k: string.*k: boolean/);
    }));
  });

  test('unknown columns and non-boolean filters fail when the DataFrame is built, naming the culprit', () => {
    const df = new Weir().memoryStream(people).toDF();
    assert.throws(() => df.select('nme'), analysisError((e) => {
      assert.equal(e.code, 'UNKNOWN_COLUMN');
      assert.match(e.message, /'nme'.*Available columns: name, age, score/);
    }));
    assert.throws(() => df.filter(col('age').plus(1)), analysisError((e) => {
      assert.equal(e.code, 'TYPE_MISMATCH');
      assert.match(e.message, /\(age \+ 1\)/);
    }));
    assert.throws(() => df.select(col('name').plus(1)), analysisError((e) => assert.match(e.message, /\(name \+ 1\)/)));
  });
});

describe('typed row functions', () => {
  test('map, flatMap and filter with a function; the schema given describes the output', async () => {
    const out = await through(people, peopleRows, (d) => d
      .filter((r) => r['age'] !== null)
      .map((r) => ({ who: String(r['name']).toUpperCase(), twice: Number(r['age']) * 2 }), 'who STRING, twice INT')
      .flatMap((r) => [r, { ...r, twice: -Number(r['twice']) }], 'who STRING, twice INT'));
    assertRows(out, [
      { who: 'ANN', twice: -62 }, { who: 'ANN', twice: 62 }, { who: 'BOB', twice: -34 }, { who: 'BOB', twice: 34 },
    ]);
  });

  test('a map without a schema keeps the input schema; flatMap may emit nothing', async () => {
    const out = await through(people, peopleRows, (d) => d
      .map((r): Row => ({ ...r, age: r['age'] ?? 0 }))
      .flatMap((r) => (r['name'] === 'bob' ? [] : [r]))
      .select('name', col('age').plus(1)));
    assertRows(out, [{ name: 'ann', '(age + 1)': 32 }, { name: 'cy', '(age + 1)': 1 }]);
  });
});

describe('arithmetic, comparison and three-valued logic', () => {
  test('arithmetic: / is always fractional, division or modulo by zero is null, null propagates', async () => {
    const rows: Row[] = [{ a: 7, b: 2 }, { a: -7, b: 2 }, { a: 5, b: 0 }, { a: null, b: 1 }];
    const out = await through('a INT, b INT', rows, (d) => d.select(
      col('a').plus(col('b')).as('plus'), col('a').minus(col('b')).as('minus'), col('a').multiply(col('b')).as('times'),
      col('a').divide(col('b')).as('div'), col('a').mod(col('b')).as('mod'), col('a').negate().as('neg')));
    assertRows(out, [
      { plus: -5, minus: -9, times: -14, div: -3.5, mod: -1, neg: 7 },
      { plus: 5, minus: 5, times: 0, div: null, mod: null, neg: -5 },
      { plus: 9, minus: 5, times: 14, div: 3.5, mod: 1, neg: -7 },
      { plus: null, minus: null, times: null, div: null, mod: null, neg: null },
    ]);
  });

  test('comparisons with null are null; equalTo and notEqual compare values', async () => {
    const rows: Row[] = [{ a: 1, b: 1 }, { a: 1, b: 2 }, { a: null, b: 2 }];
    const out = await through('a INT, b INT', rows, (d) => d.select(
      col('a').equalTo(col('b')).as('eq'), col('a').notEqual(col('b')).as('ne'), col('a').lt(col('b')).as('lt'),
      col('a').leq(col('b')).as('le'), col('a').gt(col('b')).as('gt'), col('a').geq(col('b')).as('ge')));
    assertRows(out, [
      { eq: false, ne: true, lt: true, le: true, gt: false, ge: false },
      { eq: null, ne: null, lt: null, le: null, gt: null, ge: null },
      { eq: true, ne: false, lt: false, le: true, gt: false, ge: true },
    ]);
  });

  test('AND, OR and NOT follow SQL three-valued logic', async () => {
    const values = [true, false, null];
    const rows = values.flatMap((p) => values.map((q): Row => ({ p, q })));
    const out = await through('p BOOLEAN, q BOOLEAN', rows, (d) => d.select('p', 'q',
      col('p').and(col('q')).as('and'), col('p').or(col('q')).as('or'), col('p').not().as('not')));
    const expected = (p: boolean | null, q: boolean | null): Row => ({
      p, q,
      and: p === false || q === false ? false : p === null || q === null ? null : true,
      or: p === true || q === true ? true : p === null || q === null ? null : false,
      not: p === null ? null : !p,
    });
    // Written out for the cases that differ from two-valued logic, so the table above is not the only oracle.
    assert.deepEqual(expected(false, null), { p: false, q: null, and: false, or: null, not: true });
    assert.deepEqual(expected(true, null), { p: true, q: null, and: null, or: true, not: false });
    assertRows(out, rows.map((r) => expected(r['p'] as boolean | null, r['q'] as boolean | null)));
  });

  test('isNull, isNotNull, isin (null in the list makes a miss null), between, coalesce, when', async () => {
    const rows: Row[] = [{ a: 1 }, { a: 3 }, { a: 5 }, { a: null }];
    const out = await through('a INT', rows, (d) => d.select('a',
      col('a').isNull().as('isNull'), col('a').isNotNull().as('notNull'), col('a').isin(1, 2).as('in12'),
      col('a').isin(1, null).as('in1n'), col('a').between(2, 4).as('btw'), coalesce(col('a'), lit(0)).as('c'),
      when(col('a').lt(2), 'small').when(col('a').lt(4), 'mid').otherwise('big').as('size'),
      when(col('a').equalTo(1), 'one').as('one')));
    assertRows(out, [
      { a: 1, isNull: false, notNull: true, in12: true, in1n: true, btw: false, c: 1, size: 'small', one: 'one' },
      { a: 3, isNull: false, notNull: true, in12: false, in1n: null, btw: true, c: 3, size: 'mid', one: null },
      { a: 5, isNull: false, notNull: true, in12: false, in1n: null, btw: false, c: 5, size: 'big', one: null },
      { a: null, isNull: true, notNull: false, in12: null, in1n: null, btw: null, c: 0, size: 'big', one: null },
    ]);
  });
});

describe('cast', () => {
  test('strings to numbers and booleans; values that do not parse become null', async () => {
    const rows: Row[] = [{ s: '12' }, { s: ' 7 ' }, { s: '3.7' }, { s: 'abc' }, { s: '' }, { s: 'true' }, { s: null }];
    const out = await through('s STRING', rows, (d) => d.select('s', col('s').cast('int').as('i'),
      col('s').cast('double').as('d'), col('s').cast('boolean').as('b')));
    assertRows(out, [
      { s: '', i: null, d: null, b: null },
      { s: ' 7 ', i: 7, d: 7, b: null },
      { s: '12', i: 12, d: 12, b: null },
      { s: '3.7', i: 3, d: 3.7, b: null },
      { s: 'abc', i: null, d: null, b: null },
      { s: 'true', i: null, d: null, b: true },
      { s: null, i: null, d: null, b: null },
    ]);
  });

  test('numbers: double to int truncates toward zero; to string; a cast keeps the column name', async () => {
    const rows: Row[] = [{ x: 3.7 }, { x: -3.7 }, { x: 0.5 }];
    const out = await through('x DOUBLE', rows, (d) => d.select(col('x').cast('int'), col('x').cast('string').as('s'),
      col('x').cast('boolean').as('b')));
    assertRows(out, [{ x: -3, s: '-3.7', b: true }, { x: 0, s: '0.5', b: true }, { x: 3, s: '3.7', b: true }]);
    const zero = await through('n INT', [{ n: 0 }, { n: 2 }], (d) => d.select(col('n').cast('boolean').as('b'),
      col('n').cast('string').as('s')));
    assertRows(zero, [{ b: false, s: '0' }, { b: true, s: '2' }]);
  });

  test('timestamps: to long is seconds since the epoch; numbers to timestamp are seconds; ISO strings parse', async () => {
    const t = Date.UTC(2024, 0, 2, 3, 4, 5, 600);
    const rows: Row[] = [{ t, n: 1_700_000_000, s: '2024-01-02T03:04:05.600Z' }, { t: null, n: null, s: 'not a time' }];
    const out = await through('t TIMESTAMP, n LONG, s STRING', rows, (d) => d.select(
      col('t').cast('long').as('secs'), col('n').cast('timestamp').as('fromSecs'), col('s').cast('timestamp').as('parsed'),
      to_timestamp('s').as('parsed2')));
    assertRows(out, [
      { secs: 1704164645, fromSecs: 1_700_000_000_000, parsed: t, parsed2: t },
      { secs: null, fromSecs: null, parsed: null, parsed2: null },
    ]);
  });

  test('casts give null outside the type\'s domain and for impossible dates, never a rolled-over value', async () => {
    const rows: Row[] = [{ s: '2023-02-29', big: '12345678901234567890', d: 3e9, secs: 1e17 },
      { s: '10000-01-01T00:00:00Z', big: '9007199254740991', d: -2147483648.5, secs: -62135596800 }];
    const out = await through('s STRING, big STRING, d DOUBLE, secs LONG', rows, (df) => df.select(
      col('s').cast('timestamp').as('ts'), col('s').cast('date').as('day'), to_timestamp('s').as('toTs'),
      col('big').cast('long').as('l'), col('d').cast('int').as('i'), col('secs').cast('timestamp').as('fromSecs')));
    assertRows(out, [
      { ts: null, day: null, toTs: null, l: null, i: null, fromSecs: null },
      { ts: null, day: null, toTs: null, l: 9007199254740991, i: -2147483648, fromSecs: -62135596800000 },
    ]);
  });

  test('an unknown type name is rejected, naming it', () => {
    assert.throws(() => col('x').cast('varchar2x'), analysisError((e) => {
      assert.equal(e.code, 'UNKNOWN_TYPE');
      assert.match(e.message, /'varchar2x'/);
    }));
  });
});

describe('string and time functions', () => {
  test('string functions; a null argument gives null (size gives -1, as Spark by default)', async () => {
    const rows: Row[] = [{ s: '  Hello World ', t: 'x' }, { s: null, t: 'y' }];
    const out = await through('s STRING, t STRING', rows, (d) => d.select(
      upper('s').as('up'), lower(col('s')).as('low'), length('s').as('len'), trim('s').as('tr'),
      concat(trim('s'), lit('-'), col('t')).as('cat'), substring(trim('s'), 1, 5).as('sub'),
      regexp_replace(trim('s'), 'o', '0').as('re'), size(split(trim('s'), ' ')).as('words'),
      col('s').contains('World').as('has'), trim('s').startsWith('Hell').as('sw'), trim('s').endsWith('d').as('ew'),
      col('s').like('%o W%').as('lk'), col('s').rlike('W.r').as('rl')));
    assertRows(out, [
      { up: '  HELLO WORLD ', low: '  hello world ', len: 14, tr: 'Hello World', cat: 'Hello World-x', sub: 'Hello',
        re: 'Hell0 W0rld', words: 2, has: true, sw: true, ew: true, lk: true, rl: true },
      { up: null, low: null, len: null, tr: null, cat: null, sub: null, re: null, words: -1, has: null, sw: null,
        ew: null, lk: null, rl: null },
    ]);
  });

  test('regexes match characters, not UTF-16 units, as Java does; Java escapes JavaScript refuses with u still work', async () => {
    const rows: Row[] = [{ s: 'a🦆b' }];
    const out = await through('s STRING', rows, (d) => d.select(
      col('s').rlike('^a.b$').as('one'), regexp_replace('s', '.', '-').as('dashes'),
      regexp_replace('s', '\\-|b', '+').as('escaped')));
    assertRows(out, [{ one: true, dashes: '---', escaped: 'a🦆+' }]);
  });

  test('string functions are named as in Spark', () => {
    const df = new Weir().memoryStream('s STRING, t STRING').toDF()
      .select(upper('s'), concat('s', 't'), substring('s', 1, 3), length('s'), trim('s'));
    assert.deepEqual(df.columns, ['upper(s)', 'concat(s, t)', 'substring(s, 1, 3)', 'length(s)', 'trim(s)']);
  });

  test('date parts (UTC), date_trunc and unix_timestamp', async () => {
    const t = Date.UTC(2024, 1, 29, 13, 45, 30, 250);
    const out = await through('t TIMESTAMP', [{ t }, { t: null }], (d) => d.select(
      year('t').as('y'), month('t').as('mo'), dayofmonth('t').as('d'), hour('t').as('h'), minute('t').as('mi'),
      second('t').as('s'), date_trunc('hour', 't').as('hr'), date_trunc('day', col('t')).as('day'),
      unix_timestamp('t').as('unix')));
    assertRows(out, [
      { y: 2024, mo: 2, d: 29, h: 13, mi: 45, s: 30, hr: Date.UTC(2024, 1, 29, 13), day: Date.UTC(2024, 1, 29),
        unix: Math.floor(t / 1000) },
      { y: null, mo: null, d: null, h: null, mi: null, s: null, hr: null, day: null, unix: null },
    ]);
  });

  test('current_timestamp() is one value per batch: the batch timestamp', async () => {
    const before = Date.now();
    const out = await through('k INT', [{ k: 1 }, { k: 2 }, { k: 3 }], (d) => d.select('k', current_timestamp().as('now')));
    const after = Date.now();
    const times = new Set(out.map((r) => r['now']));
    assert.equal(out.length, 3);
    assert.equal(times.size, 1);
    const now = [...times][0] as number;
    assert.ok(now >= before && now <= after, `batch timestamp ${now} outside [${before}, ${after}]`);
  });
});

describe('literals, LIKE escapes and field names', () => {
  test('literals NaN, Infinity, -Infinity and -0 keep their value in compiled code', async () => {
    const rows: Row[] = [{ v: 1 }, { v: -1e308 }, { v: 5 }];
    const below = await through('v DOUBLE', rows, (d) => d.filter(col('v').lt(Infinity)).filter(col('v').gt(-Infinity)));
    assertRows(below, rows);
    const out = await through('v DOUBLE', [{ v: 1 }], (d) => d.select(lit(NaN).as('nan'), lit(Infinity).as('inf'),
      lit(-Infinity).as('ninf'), lit(-0).as('nzero'), col('v').minus(-Infinity).as('diff'), concat(lit('x'), lit(NaN)).as('text')));
    assert.deepEqual(out, [{ nan: NaN, inf: Infinity, ninf: -Infinity, nzero: -0, diff: Infinity, text: 'xNaN' }]);
  });

  test("like has Spark's escape character: \\% and \\_ are literal, \\\\ is a backslash", async () => {
    const rows: Row[] = [{ s: '100%' }, { s: '1000' }, { s: 'a_b' }, { s: 'axb' }, { s: 'a\\b' }];
    const out = await through('s STRING', rows, (d) => d.select('s', col('s').like('100\\%').as('percent'),
      col('s').like('a\\_b').as('underscore'), col('s').like('a\\\\b').as('backslash'), col('s').like('a_b').as('any')));
    assertRows(out, [
      { s: '100%', percent: true, underscore: false, backslash: false, any: false },
      { s: '1000', percent: false, underscore: false, backslash: false, any: false },
      { s: 'a_b', percent: false, underscore: true, backslash: false, any: true },
      { s: 'axb', percent: false, underscore: false, backslash: false, any: true },
      { s: 'a\\b', percent: false, underscore: false, backslash: true, any: true },
    ]);
    for (const [pattern, reason] of [['a\\b', /may precede only %, _ or \\, not 'b'/], ['ends\\', /ends with the escape character/]] as const) {
      assert.throws(() => new Weir().createDataFrame([{ s: 'x' }], 's STRING').select(col('s').like(pattern)), analysisError((e) => {
        assert.equal(e.code, 'INVALID_LIKE_PATTERN');
        assert.match(e.message, reason);
      }));
    }
  });

  test('a column named like an Object.prototype member reads null when the row lacks it', async () => {
    const out = await through('constructor STRING, toString INT, n INT', [{ n: 1 }], (d) => d.select(col('constructor'),
      col('toString'), coalesce(col('constructor'), lit('none')).as('c'), col('n')));
    assert.deepEqual(out, [{ constructor: null, toString: null, c: 'none', n: 1 }]);
    assert.equal(Object.getPrototypeOf(out[0]), Object.prototype);
    const proto = await through('n INT', [{ n: 1 }], (d) => d.select(col('n').as('__proto__')));
    assert.deepEqual(Object.entries(proto[0]!), [['__proto__', 1]]);
    assert.match(formatTable(toSchema('constructor STRING, n INT'), [{ n: 1 }]), /\|\s*null\|1\|/);
  });
});
