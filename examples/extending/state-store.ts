import { col, count, inMemoryStateProvider, StateStoreProvider, Weir } from 'weir';

// A provider that keeps state as the built-in one does and counts the versions it commits.
let commits = 0;
const countingProvider: StateStoreProvider = {
  name: 'counting-memory',
  async open(options) {
    const store = await inMemoryStateProvider.open(options);
    const commit = store.commit.bind(store);
    store.commit = async () => {
      await commit();
      commits++;
    };
    return store;
  },
};
Weir.registerStateStoreProvider(countingProvider);

const weir = new Weir();
const clicks = weir.memoryStream<{ page: string }>('page STRING');
const query = await clicks.toDF().groupBy(col('page')).agg(count('*').as('clicks'))
  .writeStream.format('memory').queryName('clicks').outputMode('complete')
  .option('stateStoreProvider', 'counting-memory')    // by name; or .stateStore(countingProvider)
  .start();
clicks.addData([{ page: '/' }, { page: '/docs' }, { page: '/' }]);
await query.processAllAvailable();
console.log(`pages: ${weir.memorySink('clicks').rows.length}, state commits: ${commits}`);
await query.stop();
