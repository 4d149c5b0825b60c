/** Values turned into text the way Spark does: casts to string and from_unixtime. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { col, from_unixtime, Weir } from '../../src/index.js';
import { removeTempDirs } from './helpers.js';

after(removeTempDirs);

test('cast to string: doubles as Java prints them, timestamps as yyyy-MM-dd HH:mm:ss[.fraction] (UTC)', async () => {
  const df = new Weir().createDataFrame([
    { d: 1, t: Date.UTC(2024, 0, 2, 3, 4, 5) },
    { d: 0.5, t: Date.UTC(2024, 0, 2, 3, 4, 5, 500) },
    { d: 12345678, t: Date.UTC(1999, 11, 31, 23, 59, 59, 123) },
    { d: 0.00015, t: 0 },
    { d: -2, t: null },
  ], 'd DOUBLE, t TIMESTAMP');
  const rows = await df.select(col('d').cast('string').as('ds'), col('t').cast('string').as('ts')).collect();
  assert.deepEqual(rows, [
    { ds: '1.0', ts: '2024-01-02 03:04:05' },
    { ds: '0.5', ts: '2024-01-02 03:04:05.5' },
    { ds: '1.2345678E7', ts: '1999-12-31 23:59:59.123' },
    { ds: '1.5E-4', ts: '1970-01-01 00:00:00' },
    { ds: '-2.0', ts: null },
  ]);
});

test('from_unixtime gives Spark\'s text of the second; cast back to timestamp for a time value', async () => {
  const df = new Weir().createDataFrame([{ s: 1_700_000_000 }, { s: null }], 's LONG');
  const rows = await df.select(from_unixtime('s').as('text'), from_unixtime('s').cast('timestamp').as('time')).collect();
  assert.deepEqual(rows, [{ text: '2023-11-14 22:13:20', time: 1_700_000_000_000 }, { text: null, time: null }]);
});
