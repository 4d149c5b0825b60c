import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  avg, col, collectList, count, countDistinct, DataFrame, Decimal, explode, expr, first, last, lit, max, min, sessionWindow, sum,
  upper, Weir,
  window,
} from '../../src/index.js';
import { SqlSyntaxError } from '../../src/sql/syntax-error.js';
import { removeTempDirs, sec, sorted, startMemory, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const EVENTS = { ts: 'timestamp', word: 'string', amount: 'double', user: 'string' };

function session(): { weir: Weir; events: DataFrame; clicks: DataFrame } {
  const weir = new Weir();
  const events = weir.memoryStream(EVENTS).toDF();
  const clicks = weir.memoryStream({ cts: 'timestamp', cuser: 'string', page: 'string' }).toDF();
  events.createOrReplaceTempView('events');
  clicks.createOrReplaceTempView('clicks');
  return { weir, events, clicks };
}

/** The same logical plan (functions such as a source factory aside) and the same explain output. */
function assertSamePlan(fromSql: DataFrame, fromApi: DataFrame): void {
  assert.equal(JSON.stringify(fromSql.plan), JSON.stringify(fromApi.plan));
  assert.equal(fromSql.explain(), fromApi.explain());
}

describe('SQL compiles to the plan of the equivalent DataFrame code', () => {
  test('projection, filter, aliases, CASE, CAST, IN, BETWEEN, LIKE, IS NULL', () => {
    const { weir, events } = session();
    assertSamePlan(
      weir.sql(`SELECT upper(word) AS w, amount * 2 AS doubled, CAST(amount AS long) AS whole,
        CASE WHEN amount > 10 THEN 'big' ELSE 'small' END AS size
        FROM events WHERE amount BETWEEN 1 AND 100 AND word IN ('a', 'b') AND user LIKE 'u%' AND ts IS NOT NULL`),
      events.filter(col('amount').between(1, 100).and(col('word').isin('a', 'b')).and(col('user').like('u%'))
        .and(col('ts').isNotNull()))
        .select(upper('word').as('w'), col('amount').multiply(2).as('doubled'), col('amount').cast('long').as('whole'),
          (expr("CASE WHEN amount > 10 THEN 'big' ELSE 'small' END")).as('size')));
  });

  test('every aggregate, with and without aliases', () => {
    const { weir, events } = session();
    assertSamePlan(
      weir.sql(`SELECT word, count(*), count(amount) AS c, sum(amount), avg(amount) AS a, min(amount), max(amount),
        count(DISTINCT user) AS users, first(user) AS f, last(user) AS l, collect_list(user) AS all_users
        FROM events GROUP BY word`),
      events.groupBy('word').agg(count('*'), count('amount').as('c'), sum('amount'), avg('amount').as('a'), min('amount'),
        max('amount'), countDistinct('user').as('users'), first('user').as('f'), last('user').as('l'),
        collectList('user').as('all_users')));
  });

  test('a watermarked tumbling and a sliding window, with the WATERMARK clause and intervals', () => {
    const { weir, events } = session();
    assertSamePlan(
      weir.sql(`SELECT window, word, count(*) AS n FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS
        GROUP BY window(ts, '1 minute'), word`),
      events.withWatermark('ts', '10 seconds').groupBy(window(col('ts'), '1 minute'), col('word')).agg(count('*').as('n')));
    assertSamePlan(
      weir.sql(`SELECT window, sum(amount) FROM events WATERMARK ts DELAY OF INTERVAL '5' SECOND
        GROUP BY window(ts, INTERVAL 10 SECONDS, INTERVAL 5 SECONDS)`),
      events.withWatermark('ts', 5000).groupBy(window(col('ts'), '10 seconds', '5 seconds')).agg(sum('amount')));
  });

  test('session windows', () => {
    const { weir, events } = session();
    assertSamePlan(
      weir.sql(`SELECT session_window, user, count(*) AS n FROM events WATERMARK ts DELAY OF INTERVAL 2 SECONDS
        GROUP BY session_window(ts, '5 seconds'), user`),
      events.withWatermark('ts', '2 seconds').groupBy(sessionWindow('ts', '5 seconds'), col('user')).agg(count('*').as('n')));
  });

  test('SELECT DISTINCT is deduplication; HAVING and expressions over aggregates project after the aggregation', () => {
    const { weir, events } = session();
    assertSamePlan(weir.sql('SELECT DISTINCT word, user FROM events'), events.select('word', 'user').dropDuplicates());
    assertSamePlan(
      weir.sql('SELECT word, sum(amount) / count(*) AS mean FROM events GROUP BY word HAVING count(*) > 1'),
      events.groupBy('word').agg(sum('amount').as('_agg0'), count('*').as('_agg1'))
        .filter(col('_agg1').gt(1)).select(col('word'), col('_agg0').divide(col('_agg1')).as('mean')));
  });

  test('joins: USING, ON with qualified names, outer and semi joins with a time bound, subqueries and UNION ALL', () => {
    const { weir, events, clicks } = session();
    assertSamePlan(
      weir.sql(`SELECT * FROM events e LEFT OUTER JOIN clicks c ON e.user = c.cuser
        AND c.cts BETWEEN e.ts AND e.ts + INTERVAL 1 MINUTE`),
      events.join(clicks, col('user').equalTo(col('cuser'))
        .and(col('cts').between(col('ts'), col('ts').plus(60_000))), 'left'));
    assertSamePlan(weir.sql('SELECT * FROM events LEFT SEMI JOIN clicks ON user = cuser'),
      events.join(clicks, col('user').equalTo(col('cuser')), 'left_semi'));
    assertSamePlan(
      weir.sql('SELECT word FROM (SELECT word, amount FROM events WHERE amount > 0) t UNION ALL SELECT word FROM events'),
      events.filter(col('amount').gt(0)).select('word', 'amount').select('word').union(events.select('word')));
  });

  test('batch queries: ORDER BY and LIMIT', async () => {
    const weir = new Weir();
    weir.createDataFrame([{ k: 'a', v: 3 }, { k: 'b', v: 1 }, { k: 'a', v: 2 }], { k: 'string', v: 'long' })
      .createOrReplaceTempView('t');
    assert.deepEqual(await weir.sql('SELECT k, sum(v) AS total FROM t GROUP BY k ORDER BY total DESC LIMIT 1').collect(),
      [{ k: 'a', total: 5 }]);
    assert.deepEqual(await weir.table('T').select('v').orderBy('v').collect(), [{ v: 1 }, { v: 2 }, { v: 3 }]);
  });

  test('generators: SELECT explode(...) is the DataFrame select with explode', async () => {
    const weir = new Weir();
    const rows = weir.createDataFrame([{ id: 1, tags: ['a', 'b'] }, { id: 2, tags: [] }],
      [{ name: 'id', type: 'long', nullable: true }, { name: 'tags', type: { kind: 'array', element: 'string' }, nullable: true }]);
    rows.createOrReplaceTempView('tagged');
    assertSamePlan(weir.sql('SELECT id, explode(tags) AS tag FROM tagged'), rows.select(col('id'), explode('tags').as('tag')));
    assert.deepEqual(await weir.sql('SELECT id, explode(tags) AS tag FROM tagged').collect(), [{ id: 1, tag: 'a' }, { id: 1, tag: 'b' }]);
  });

  test('expr() and selectExpr() take Spark SQL expressions', () => {
    const { events } = session();
    assertSamePlan(events.selectExpr('amount * 2 AS doubled', 'upper(word)'),
      events.select(col('amount').multiply(2).as('doubled'), upper('word')));
    assertSamePlan(events.select(expr('coalesce(user, word) AS who')), events.select(expr('coalesce(user, word)').as('who')));
    // 1.5 is a DECIMAL(2,1) literal in Spark SQL (compared with the double column as a double).
    assertSamePlan(events.filter(expr('amount <=> 1.5')), events.filter(col('amount').eqNullSafe(lit(Decimal.parse('1.5')))));
  });
});

describe('SQL queries run like DataFrame queries', () => {
  test('a windowed SQL aggregation gives the DataFrame query\'s output, across a restart', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    input.toDF().createOrReplaceTempView('events');
    const sqlText = `SELECT window.start AS start, word, count(*) AS n FROM events WATERMARK ts DELAY OF INTERVAL 0 SECONDS
      GROUP BY window(ts, INTERVAL 10 SECONDS), word`;
    const checkpoint = await tempDir();
    let q = await startMemory(weir.sql(sqlText), 'sql', { checkpoint });
    input.addData([{ ts: sec(1), word: 'a', amount: 1, user: 'x' }, { ts: sec(2), word: 'a', amount: 1, user: 'x' }]);
    await q.processAllAvailable();
    await q.stop();
    q = await startMemory(weir.sql(sqlText), 'sql', { checkpoint });
    input.addData([{ ts: sec(12), word: 'b', amount: 1, user: 'y' }, { ts: sec(25), word: 'c', amount: 1, user: 'y' }]);
    await q.processAllAvailable();
    await q.stop();
    const api = await startMemory(input.toDF().withWatermark('ts', 0).groupBy(window(col('ts'), '10 seconds'), col('word'))
      .agg(count('*').as('n')).select(col('window.start').as('start'), col('word'), col('n')), 'api');
    await api.processAllAvailable();
    await api.stop();
    assert.deepEqual(sorted(weir.memorySink('sql').rows), sorted(weir.memorySink('api').rows));
    assert.deepEqual(sorted(weir.memorySink('sql').rows), sorted([{ start: 0, word: 'a', n: 2 }, { start: sec(10), word: 'b', n: 1 }]));
  });
});

describe('SQL errors point at the text', () => {
  const { weir } = session();
  const syntax = (sql: string, line: number, column: number, expected: RegExp): void => {
    assert.throws(() => weir.sql(sql), (err: unknown) => {
      assert.ok(err instanceof SqlSyntaxError, String(err));
      assert.equal(err.line, line, err.message);
      assert.equal(err.column, column, err.message);
      assert.match(err.message, expected);
      return true;
    });
  };

  test('malformed SQL names the line, the column and what was expected', () => {
    syntax('SELECT word FROM events WHERE', 1, 30, /expected an expression.*found the end of the text/);
    syntax('SELECT word,\n  FROM events', 2, 3, /expected an expression.*found 'FROM'/);
    syntax('SELECT word FROM events GROUP word', 1, 31, /expected BY/);
    syntax("SELECT 'open FROM events", 1, 8, /never closed/);
    syntax('SELECT a FROM events UNION SELECT b FROM events', 1, 28, /ALL after UNION/);
    syntax('SELECT count(*) FROM events e JOIN clicks c', 1, 44, /ON <condition> or USING/);
    syntax('SELECT * FROM events WATERMARK ts DELAY OF INTERVAL 10 FORTNIGHTS', 1, 56, /not an interval unit/);
    syntax('SELECT from FROM events', 1, 8, /expected an expression/);
    syntax('SELECT a FROM events; SELECT b FROM events extra junk', 1, 50, /';' between statements/);
  });

  test('unknown functions and tables name the nearest known ones', () => {
    assert.throws(() => weir.sql('SELECT cuont(*) FROM events'),
      /Unknown function 'cuont' at line 1, column 8\. Did you mean 'count'\?/);
    assert.throws(() => weir.sql('SELECT * FROM evnets'), /Unknown table or view 'evnets' at line 1, column 15\. Did you mean 'events'\?/);
    assert.throws(() => weir.sql('SELECT upper(word, user) FROM events'), /upper takes 1 argument/);
    assert.throws(() => weir.sql('CREATE TEMPORARY VIEW v AS SELECT word FROM events'), /ran no SELECT/);
  });
});
