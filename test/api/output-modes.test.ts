import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import {
  AnalysisError, col, count, DataFrame, DataStreamWriter, OutputMode, sessionWindow, Weir, window,
} from '../../src/index.js';
import { removeTempDirs, tempDir } from './helpers.js';

after(removeTempDirs);

const EVENTS = 'ts TIMESTAMP, word STRING, n INT';

function stream(): DataFrame {
  return new Weir().memoryStream(EVENTS).toDF();
}

/** Asserts `start` rejects with an AnalysisError of `code` whose message matches every pattern. */
async function rejected(start: () => Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(start, (err: unknown) => {
    assert.ok(err instanceof AnalysisError, `expected an AnalysisError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

/** A memory-sink writer in `mode` on a fresh checkpoint folder, which the test can check stays empty. */
async function memoryWriter(df: DataFrame, mode: OutputMode): Promise<{ writer: DataStreamWriter; checkpoint: string }> {
  const checkpoint = await tempDir();
  return {
    writer: df.writeStream.format('memory').queryName('q').outputMode(mode).option('checkpointLocation', checkpoint),
    checkpoint,
  };
}

/** Starting must fail in `mode`, before anything is written to the checkpoint. */
async function refusedAtStart(df: DataFrame, mode: OutputMode, code: string, ...patterns: RegExp[]): Promise<void> {
  const { writer, checkpoint } = await memoryWriter(df, mode);
  await rejected(() => writer.start(), code, ...patterns);
  assert.deepEqual(await readdir(checkpoint), [], 'a refused query writes nothing to its checkpoint');
}

describe('output modes that cannot run are refused at start', () => {
  test('append on an aggregation without a watermark', async () => {
    await refusedAtStart(stream().groupBy('word').count(), 'append', 'UNSUPPORTED_OUTPUT_MODE',
      /'append'/, /withWatermark/, /'update' or 'complete'/);
  });

  test('append on an aggregation whose keys do not include the watermarked column or a window over it', async () => {
    await refusedAtStart(stream().withWatermark('ts', '10 seconds').groupBy('word').count(), 'append',
      'UNSUPPORTED_OUTPUT_MODE', /withWatermark/, /group by that column or a window over it/);
  });

  test('append on session windows without a watermark; update on session windows at all', async () => {
    await refusedAtStart(stream().groupBy(sessionWindow('ts', '5 seconds'), 'word').count(), 'append',
      'UNSUPPORTED_OUTPUT_MODE', /withWatermark/);
    await refusedAtStart(stream().withWatermark('ts', '10 seconds').groupBy(sessionWindow('ts', '5 seconds'), 'word')
      .count(), 'update', 'UNSUPPORTED_OUTPUT_MODE', /Session windows/, /'append' and 'complete', not 'update'/);
  });

  test('complete without an aggregation (plain or deduplicated stream)', async () => {
    await refusedAtStart(stream().select('word'), 'complete', 'UNSUPPORTED_OUTPUT_MODE', /'complete'/, /groupBy\(\)/,
      /'append'/);
    await refusedAtStart(stream().dropDuplicates(['word']), 'complete', 'UNSUPPORTED_OUTPUT_MODE', /'complete'/);
  });

  test('two aggregations in one query', async () => {
    const twice = stream().groupBy('word').agg(count('*').as('c')).groupBy('c').count();
    await refusedAtStart(twice, 'complete', 'UNSUPPORTED_OPERATION', /Multiple streaming aggregations/);
  });

  test('sorting outside complete mode after an aggregation; limit outside complete mode', async () => {
    await refusedAtStart(stream().orderBy('word'), 'append', 'UNSUPPORTED_OPERATION', /Sorting a stream/,
      /'complete'/);
    await refusedAtStart(stream().groupBy('word').count().orderBy(col('count').desc()), 'update',
      'UNSUPPORTED_OPERATION', /Sorting a stream/);
    await refusedAtStart(stream().limit(3), 'append', 'UNSUPPORTED_OPERATION', /limit\(\)/, /'complete'/);
  });

  test('the modes that are allowed do start: sort and limit after an aggregation in complete mode', async () => {
    const weir = new Weir();
    const input = weir.memoryStream(EVENTS);
    const df = input.toDF().groupBy('word').count().orderBy(col('count').desc(), 'word').limit(2);
    const q = await df.writeStream.format('memory').queryName('top').outputMode('complete')
      .option('checkpointLocation', await tempDir()).start();
    input.addData([
      { ts: 1, word: 'b', n: 1 }, { ts: 2, word: 'a', n: 1 }, { ts: 3, word: 'b', n: 1 }, { ts: 4, word: 'c', n: 1 },
      { ts: 5, word: 'c', n: 1 },
    ]);
    await q.processAllAvailable();
    await q.stop();
    assert.deepEqual(weir.memorySink('top').rows, [{ word: 'b', count: 2 }, { word: 'c', count: 2 }]);
  });

  test('a sliding window in select() (it would multiply rows) is refused at start', async () => {
    await refusedAtStart(stream().select(window('ts', '10 seconds', '5 seconds')), 'append',
      'SLIDING_WINDOW_IN_SELECT', /groupBy\(\)/);
  });
});

describe('sinks and writer options', () => {
  test('the memory sink needs a query name', async () => {
    await rejected(() => stream().writeStream.format('memory').start(), 'MISSING_OPTION', /queryName/,
      /weir\.memorySink/);
  });

  test('the file sink takes append only: update and complete are refused, naming the sink and the mode', async () => {
    const out = await tempDir('weir-api-out-');
    const fileWriter = (df: DataFrame, mode: OutputMode) => df.writeStream.format('json').outputMode(mode)
      .option('checkpointLocation', `${out}/checkpoint`);
    await rejected(() => fileWriter(stream(), 'update').start(`${out}/data`), 'UNSUPPORTED_OUTPUT_MODE',
      /FileSink|json/i, /'update'/, /supports append/);
    await rejected(() => fileWriter(stream().groupBy('word').count(), 'complete').start(`${out}/data`),
      'UNSUPPORTED_OUTPUT_MODE', /'complete'/, /supports append/);
  });

  test('a file sink needs checkpointLocation', async () => {
    const out = await tempDir('weir-api-out-');
    await rejected(() => stream().writeStream.format('json').start(out), 'MISSING_OPTION', /'checkpointLocation'/,
      /json sink/);
  });

  test('unknown output modes, sink formats and option values are refused, naming them', async () => {
    // @ts-expect-error OutputMode refuses it at compile time as well
    assert.throws(() => stream().writeStream.outputMode('upsert'), (err: unknown) => {
      assert.ok(err instanceof AnalysisError);
      assert.equal(err.code, 'INVALID_OUTPUT_MODE');
      assert.match(err.message, /'upsert'.*append, complete, update/);
      return true;
    });
    await assert.rejects(() => stream().writeStream.format('parquet').option('checkpointLocation', 'x').start('y'),
      (err: unknown) => err instanceof AnalysisError && /'parquet'/.test(err.message));
    const { writer } = await memoryWriter(stream(), 'append');
    await assert.rejects(() => writer.option('multipleWatermarkPolicy', 'median').start(),
      (err: unknown) => err instanceof Error && /multipleWatermarkPolicy/.test(err.message) && /median/.test(err.message));
  });

  test('writeStream needs a streaming DataFrame; collect() needs a batch one', async () => {
    const weir = new Weir();
    assert.throws(() => weir.createDataFrame([{ a: 1 }], 'a INT').writeStream, (err: unknown) =>
      err instanceof AnalysisError && err.code === 'NOT_STREAMING' && /collect\(\)/.test(err.message));
    await assert.rejects(() => stream().collect(), (err: unknown) =>
      err instanceof AnalysisError && err.code === 'STREAMING_COLLECT' && /writeStream\.start\(\)/.test(err.message));
  });
});
