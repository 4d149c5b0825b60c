import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import {
  AnalysisError, col, count, DataStreamWriter, inMemoryStateProvider, Row, Sink, SinkContext, Source, StateStoreProvider, Weir,
} from '../../src/index.js';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { removeTempDirs, sorted as sortedRows, tempDir, refused } from './helpers.js';

after(removeTempDirs);

/** Rows `{ n }` for positions below `available`; offsets are positions. */
const counter = { available: 0 };
Weir.registerSource('test-counter', (spec): Source => ({
  description: 'TestCounter', schema: spec.schema ?? [{ name: 'n', type: 'long', nullable: false }],
  async open() {},
  async latestOffset() { return counter.available === 0 ? null : counter.available; },
  async getBatch(start, end) {
    const from = (start as number | null) ?? 0;
    return Array.from({ length: (end as number) - from }, (_, i) => ({ n: from + i }));
  },
  async commit() {},
  async stop() {},
}));

/** Every batch the sink was given, and what it was opened with. */
const written: { batchId: number; rows: readonly Row[] }[] = [];
const contexts: SinkContext[] = [];
Weir.registerSink('test-collect', (): Sink => ({
  description: 'TestCollect', supportedModes: ['append', 'update'],
  async open(context) { contexts.push(context); },
  async addBatch(batchId, rows) { if (!written.some((w) => w.batchId === batchId)) written.push({ batchId, rows }); },
  async stop() {},
}), { options: ['label'] });

describe('registered sources and sinks', () => {
  test('take part in the batch protocol: a restart reads on from the committed offset, the sink gets each batch once', async () => {
    const checkpoint = await tempDir();
    const run = async (available: number): Promise<void> => {
      counter.available = available;
      const query = await new Weir().readStream.format('test-counter').load().writeStream.format('test-collect')
        .option('label', 'x').option('checkpointLocation', checkpoint).start();
      await query.processAllAvailable();
      await query.stop();
    };
    await run(3);
    await run(5);
    assert.deepEqual(written.map((w) => [w.batchId, w.rows.map((r) => r['n'])]), [[0, [0, 1, 2]], [1, [3, 4]]]);
    assert.equal(contexts.length, 2);
    assert.equal(contexts[0]!.queryId, contexts[1]!.queryId, 'the same query, restarted');
  });

  test('a sink\'s supported modes are enforced', async () => {
    const df = new Weir().memoryStream('w STRING').toDF().groupBy('w').count();
    await refused(() => df.writeStream.format('test-collect').outputMode('complete').option('checkpointLocation', 'x').start(),
      'UNSUPPORTED_OUTPUT_MODE', /TestCollect/);
  });

  test('a name that is taken is refused, built-in or not', async () => {
    const source = (): Source => { throw new Error('never called'); };
    await refused(() => Weir.registerSource('json', source), 'DUPLICATE_FORMAT', /'json' is already registered/);
    await refused(() => Weir.registerSource('test-counter', source), 'DUPLICATE_FORMAT');
    await refused(() => Weir.registerSink('console', () => { throw new Error('never called'); }), 'DUPLICATE_FORMAT');
    await refused(() => Weir.registerStateStoreProvider(inMemoryStateProvider), 'DUPLICATE_NAME', /'memory'/);
    await refused(() => Weir.registerCheckpointStorage('FILE', () => new MemoryStorage()), 'DUPLICATE_SCHEME');
    await refused(() => Weir.registerCheckpointStorage('my scheme', () => new MemoryStorage()), 'INVALID_SCHEME');
  });
});

describe('source and sink objects', () => {
  /** A source object over fixed rows; counts how often it was opened and stopped. */
  function rowsSource(rows: Row[]): Source & { opened: number; stopped: number } {
    return {
      description: 'FixedRows', schema: [{ name: 'n', type: 'long', nullable: false }], opened: 0, stopped: 0,
      async open() { this.opened++; },
      async latestOffset() { return rows.length; },
      async getBatch(start, end) { return rows.slice((start as number | null) ?? 0, end as number); },
      async commit() {},
      async stop() { this.stopped++; },
    };
  }

  test('a source object is read by one query at a time, and a sink object is written as a registered one', async () => {
    const source = rowsSource([{ n: 1 }, { n: 2 }]);
    const got: Row[] = [];
    const sink: Sink = {
      description: 'Collect', supportedModes: ['append'],
      async open() {}, async addBatch(_, rows) { got.push(...rows); }, async stop() {},
    };
    const df = new Weir().readStream.format(source).load();
    const first = await df.writeStream.format(sink).option('checkpointLocation', await tempDir()).start();
    await first.processAllAvailable();
    assert.deepEqual(got, [{ n: 1 }, { n: 2 }]);
    await assert.rejects(df.writeStream.format('memory').queryName('second').start(),
      (err: unknown) => err instanceof AnalysisError && err.code === 'SOURCE_IN_USE' && /FixedRows/.test(err.message));
    await first.stop();
    const second = await df.writeStream.format('memory').queryName('second').start();
    await second.stop();
    assert.equal(source.opened, 2);
    assert.equal(source.stopped, 2);
  });

  test('objects take no options of their own', async () => {
    await refused(() => new Weir().readStream.format(rowsSource([])).option('rows', 2).load(), 'INVALID_OPTION',
      /FixedRows takes no options/);
    const sink: Sink = { description: 'Collect', supportedModes: ['append'], async open() {}, async addBatch() {}, async stop() {} };
    const df = new Weir().readStream.format(rowsSource([])).load();
    await refused(() => df.writeStream.format(sink).option('checkpointLocation', 'x').option('table', 't').start(),
      'UNKNOWN_OPTION', /'table' of the Collect sink/);
    await refused(() => df.writeStream.format(sink).start(), 'MISSING_OPTION', /checkpointLocation/);
  });
});

/** The in-memory provider, counting the stores it opens and the versions they commit. */
function countingProvider(name: string): { provider: StateStoreProvider; opened: number; commits: number } {
  const counts = {
    opened: 0, commits: 0,
    provider: {
      name,
      async open(options) {
        counts.opened++;
        const store = await inMemoryStateProvider.open(options);
        const commit = store.commit.bind(store);
        store.commit = async () => { await commit(); counts.commits++; };
        return store;
      },
    } satisfies StateStoreProvider,
  };
  return counts;
}

/** Counts words in complete mode into the memory sink `words`, configured by `configure`; the result rows. */
async function countWords(weir: Weir, configure: (writer: DataStreamWriter) => DataStreamWriter, words: string[]) {
  const input = weir.memoryStream<{ w: string }>('w STRING');
  const writer = input.toDF().groupBy(col('w')).agg(count('*').as('n')).writeStream.format('memory').queryName('words')
    .outputMode('complete');
  const query = await configure(writer).start();
  input.addData(words.map((w) => ({ w })));
  await query.processAllAvailable();
  await query.stop();
  return weir.memorySink('words').rows;
}

describe('state store providers', () => {
  test('chosen by registered name or passed as an instance, they hold the query\'s state', async () => {
    const byName = countingProvider('test-counting');
    Weir.registerStateStoreProvider(byName.provider);
    const rows = await countWords(new Weir(), (w) => w.option('stateStoreProvider', 'test-counting'), ['a', 'b', 'a']);
    assert.deepEqual(rows.find((r) => r['w'] === 'a'), { w: 'a', n: 2 });
    assert.equal(byName.opened, 1);
    assert.ok(byName.commits >= 1);

    const instance = countingProvider('unregistered');
    await countWords(new Weir(), (w) => w.stateStore(instance.provider), ['a']);
    assert.equal(instance.opened, 1);

    // option('stateStore', name) is the same setting, spelled shorter.
    await countWords(new Weir(), (w) => w.option('stateStore', 'test-counting'), ['a']);
    assert.equal(byName.opened, 2);
  });

  test('an unknown name or two choices are refused', async () => {
    const df = new Weir().memoryStream('w STRING').toDF();
    await refused(() => df.writeStream.format('memory').queryName('q').option('stateStoreProvider', 'memroy').start(),
      'UNKNOWN_STATE_STORE', /'memroy'/, /Did you mean 'memory'\?/);
    await refused(() => df.writeStream.format('memory').queryName('q').option('stateStoreProvider', 'memory')
      .stateStore(inMemoryStateProvider).start(), 'CONFLICTING_OPTIONS');
    await refused(() => df.writeStream.format('memory').queryName('q').option('stateStoreProvider', 'memory')
      .option('stateStore', 'lmdb').start(), 'CONFLICTING_OPTIONS', /'stateStoreProvider' \('memory'\) and 'stateStore' \('lmdb'\)/);
  });
});

describe('checkpoint storages', () => {
  const stores = new Map<string, MemoryStorage>();
  Weir.registerCheckpointStorage('test-mem', (url) => {
    const key = url.hostname + url.pathname;
    if (!stores.has(key)) stores.set(key, new MemoryStorage());
    return stores.get(key)!;
  });

  test('a checkpointLocation with a registered scheme keeps the checkpoint there, and a restart resumes from it', async () => {
    const configure = (w: DataStreamWriter) => w.option('checkpointLocation', 'test-mem://q/words');
    await countWords(new Weir(), configure, ['a', 'b']);
    assert.deepEqual((await stores.get('q/words')!.list('')).sort(), ['commits', 'metadata', 'offsets', 'state']);
    // A new memory stream restarts at position 0: the rows before the committed offset are not read again.
    const rows = await countWords(new Weir(), configure, ['x', 'x', 'a']);
    assert.deepEqual(sortedRows(rows), [{ w: 'b', n: 1 }, { w: 'a', n: 2 }], 'offsets and state of the first run were restored');
  });

  test('a storage instance is used as given; file:// URLs and plain paths are local folders', async () => {
    const storage = new MemoryStorage();
    await countWords(new Weir(), (w) => w.checkpointStorage(storage), ['a']);
    assert.ok((await storage.list('')).includes('commits'));
    const folder = await tempDir();
    await countWords(new Weir(), (w) => w.option('checkpointLocation', pathToFileURL(join(folder, 'q')).href), ['a']);
    assert.ok((await readdir(join(folder, 'q'))).includes('commits'));
  });

  test('an unknown scheme or two choices are refused', async () => {
    const df = new Weir().memoryStream('w STRING').toDF();
    await refused(() => df.writeStream.format('memory').queryName('q').option('checkpointLocation', 'test-mme://q').start(),
      'UNKNOWN_SCHEME', /'test-mme'/, /Did you mean 'test-mem'\?/);
    await refused(() => df.writeStream.format('memory').queryName('q').option('checkpointLocation', 'x')
      .checkpointStorage(new MemoryStorage()).start(), 'CONFLICTING_OPTIONS');
  });
});
