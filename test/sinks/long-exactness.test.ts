/** LONG is exact or refused: a whole number beyond 2^53 is never written or typed as a rounded long. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ConnectorError, expr, lit, StreamingQueryException, Weir } from '../../src/index.js';
import { SqlSyntaxError } from '../../src/sql/syntax-error.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

test('a computed long beyond 2^53 is refused by the sink, naming the column, not written rounded', async () => {
  const weir = new Weir();
  const input = weir.memoryStream('n LONG');
  const out = await tempDir();
  const query = await input.toDF().select(expr('n + 2').as('m')).writeStream.format('json')
    .option('checkpointLocation', await tempDir()).start(out);
  input.addData([{ n: 2 ** 53 - 1 }]); // n + 2 is 2^53 + 1, which a JavaScript number rounds to 2^53
  await assert.rejects(query.processAllAvailable(), (err: unknown) => {
    const cause = err instanceof StreamingQueryException ? err.cause : err;
    return cause instanceof ConnectorError && cause.code === 'SINK_REJECTED_ROW' &&
      /column 'm': 9007199254740992 is outside the exact LONG range/.test(cause.message);
  });
  await query.stop().catch(() => undefined);
  assert.deepEqual(await weir.read.format('json').schema('m LONG').load(out).collect(), []);
});

test('an integer literal beyond 2^53 in SQL is a syntax error saying how to keep it; a larger JS number literal is a double', () => {
  assert.throws(() => expr('9007199254740993'), (err: unknown) => err instanceof SqlSyntaxError &&
    /9007199254740993 is beyond the exact LONG range.*'9007199254740993'/.test(err.message));
  assert.doesNotThrow(() => expr('9007199254740991'));
  const df = new Weir().memoryStream('n LONG').toDF().select(lit(2 ** 60).as('big'), lit(2 ** 53 - 1).as('max'));
  assert.deepEqual(df.schema.map((f) => f.type), ['double', 'long']);
});

test('casting text beyond 2^53 to long gives null, never a rounded number', async () => {
  const weir = new Weir();
  const folder = await tempDir();
  const { writeFile } = await import('node:fs/promises');
  await writeFile(`${folder}/a.json`, '{"s": "9007199254740993"}\n{"s": "9007199254740991"}\n');
  const rows = await weir.read.format('json').schema('s STRING').load(folder).select(expr('CAST(s AS BIGINT)').as('n')).collect();
  assert.deepEqual(rows, [{ n: null }, { n: 2 ** 53 - 1 }]);
});
