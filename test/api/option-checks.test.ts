import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DataFrame, Options, OutputMode, Row, Weir, WeirError } from '../../src/index.js';
import { editDistance, nearestName } from '../../src/common/nearest-name.js';
import { removeTempDirs, tempDir, refused } from './helpers.js';

after(removeTempDirs);

function stream(weir = new Weir()): DataFrame {
  return weir.memoryStream('word STRING').toDF();
}

describe('the nearest known name', () => {
  test('edit distance counts inserts, deletes, substitutions and a swap of neighbours as one edit each', () => {
    assert.equal(editDistance('maxfilespertriger', 'maxfilespertrigger'), 1);
    assert.equal(editDistance('checkpointlocaton', 'checkpointlocation'), 1);
    assert.equal(editDistance('apend', 'append'), 1);
    assert.equal(editDistance('josn', 'json'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
  });

  test('a close name is suggested, a distant one is not', () => {
    assert.equal(nearestName('maxFilesPerTriger', ['maxFilesPerTrigger', 'maxRecordsPerTrigger']), 'maxFilesPerTrigger');
    assert.equal(nearestName('CHECKPOINTLOCATON', ['checkpointLocation', 'path']), 'checkpointLocation');
    assert.equal(nearestName('parquet', ['json', 'csv', 'text']), null);
  });
});

describe('unknown options are refused when the query is defined', () => {
  test('a source option typo fails at load(), naming the option, the source and the nearest known option', async () => {
    const dir = await tempDir();
    await refused(() => new Weir().readStream.format('json').schema('a STRING').option('maxFilesPerTriger', 1).load(dir),
      'UNKNOWN_OPTION', /'maxFilesPerTriger' of the json source/, /Did you mean 'maxFilesPerTrigger'\?/);
  });

  test('a writer option typo fails at start(), before the checkpoint is touched', async () => {
    const [checkpoint, out] = [await tempDir(), await tempDir()];
    await refused(() => stream().writeStream.format('json').option('checkpointLocaton', checkpoint).start(out),
      'UNKNOWN_OPTION', /'checkpointLocaton' of the json sink/, /Did you mean 'checkpointLocation'\?/);
    await refused(() => stream().writeStream.format('memory').queryName('q').option('checkpointLocation', checkpoint)
      .option('numStatePartition', 2).start(), 'UNKNOWN_OPTION', /Did you mean 'numStatePartitions'\?/);
    await refused(() => stream().writeStream.foreachBatch(() => {}).option('checkpointLocation', checkpoint)
      .option('minBatchToRetain', 2).start(), 'UNKNOWN_OPTION', /foreachBatch sink/, /Did you mean 'minBatchesToRetain'\?/);
    assert.deepEqual(await readdir(checkpoint), []);
  });

  test('a batch read refuses a streaming-only option', async () => {
    const dir = await tempDir();
    await refused(() => new Weir().read.format('json').option('maxFilesPerTrigger', 1).load(dir), 'UNKNOWN_OPTION',
      /'maxFilesPerTrigger' of the json reader/);
  });

  test('every built-in source refuses an option it does not read', async () => {
    for (const format of ['rate', 'json', 'csv', 'text', 'http', 'nats']) {
      await refused(() => new Weir().readStream.format(format).schema('value STRING').option('noSuchOption', 1).load(),
        'UNKNOWN_OPTION', new RegExp(`'noSuchOption' of the ${format} source`));
    }
  });

  test('every built-in sink refuses an option it does not read', async () => {
    const checkpoint = await tempDir();
    for (const format of ['console', 'memory', 'json', 'csv', 'postgres', 'nats']) {
      await refused(() => stream().writeStream.format(format).queryName('q').option('checkpointLocation', checkpoint)
        .option('noSuchOption', 1).start('out'), 'UNKNOWN_OPTION', new RegExp(`'noSuchOption' of the ${format} sink`));
    }
  });

  test('option names are case-insensitive, as in Spark', async () => {
    const weir = new Weir();
    const dir = await tempDir();
    for (const name of ['a', 'b']) await writeFile(join(dir, `${name}.json`), `{"word":"${name}"}\n`);
    const query = await weir.readStream.format('json').schema('word STRING').option('MAXFILESPERTRIGGER', 1).load(dir)
      .writeStream.format('memory').queryName('words').option('CheckpointLocation', await tempDir()).start();
    await query.processAllAvailable();
    await query.stop();
    assert.equal(weir.memorySink('words').rows.length, 2);
    assert.deepEqual(query.recentProgress.map((p) => p.numInputRows), [1, 1], 'one file per batch');
    assert.equal(new Options({ NumRows: 5 }).integer('numRows', 20), 5);
  });
});

describe('unknown formats and output modes are refused, naming the nearest known one', () => {
  test('formats', async () => {
    await refused(() => new Weir().readStream.format('josn').schema('a STRING').load('x'), 'UNKNOWN_FORMAT',
      /streaming source format 'josn'/, /Did you mean 'json'\?/);
    await refused(() => new Weir().read.format('cvs').load('x'), 'UNKNOWN_FORMAT', /Did you mean 'csv'\?/);
    await refused(() => stream().writeStream.format('consle').start(), 'UNKNOWN_FORMAT', /sink format 'consle'/,
      /Did you mean 'console'\?/);
    await refused(() => stream().writeStream.format('memroy').queryName('q').start(), 'UNKNOWN_FORMAT',
      /Did you mean 'memory'\?/);
  });

  test('output modes, also in the types', async () => {
    const writer = stream().writeStream;
    // @ts-expect-error a misspelt mode is a compile-time error
    await refused(() => writer.outputMode('apend'), 'INVALID_OUTPUT_MODE', /Did you mean 'append'\?/);
    const mode: OutputMode = 'update';
    assert.equal(writer.outputMode(mode), writer);
  });
});

describe('connectors that users register', () => {
  const rowsSource = (rows: Row[]) => (spec: { options: Options }) => {
    spec.options.integer('batchSize', 1, 1);
    return {
      description: 'Rows', schema: [{ name: 'word', type: 'string' as const, nullable: true }],
      async open() {}, async latestOffset() { return rows.length === 0 ? null : rows.length; },
      async getBatch() { return rows; }, async commit() {}, async stop() {},
    };
  };

  test('declared options are checked like the built-ins\'', async () => {
    Weir.registerSource('declared-rows', rowsSource([]), { options: ['batchSize'] });
    await refused(() => new Weir().readStream.format('declared-rows').option('batchSzie', 2).load(), 'UNKNOWN_OPTION',
      /'batchSzie' of the declared-rows source/, /Did you mean 'batchSize'\?/);
    assert.ok(new Weir().readStream.format('declared-rows').option('BatchSize', 2).load());
  });

  test('without a declaration any option passes', () => {
    Weir.registerSource('undeclared-rows', rowsSource([]));
    assert.ok(new Weir().readStream.format('undeclared-rows').option('anything', 1).load());
  });

  test('a connector that reads an option it did not declare is told so', async () => {
    Weir.registerSource('incomplete-rows', rowsSource([]), { options: [] });
    await assert.rejects(async () => new Weir().readStream.format('incomplete-rows').load(),
      (err: unknown) => err instanceof WeirError && err.code === 'UNDECLARED_OPTION' && /'batchSize'/.test(err.message));
  });
});
