/** explain(mode) with Spark's mode names, and the physical operators' per-batch metrics for monitoring. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { col, count, sum, Weir, window } from '../../src/index.js';
import type { OperatorNode } from '../../src/index.js';
import { removeTempDirs, sec, startMemory } from './helpers.js';

after(removeTempDirs);

const EVENTS = 'ts TIMESTAMP, word STRING, n INT';

function wordCounts(weir: Weir) {
  const input = weir.memoryStream(EVENTS);
  const df = input.toDF().withWatermark('ts', '10 seconds').filter(col('word').notEqual('x'))
    .groupBy(window('ts', '5 seconds'), 'word').agg(count('*').as('c'), sum('n'));
  return { input, df };
}

/** The nodes of a tree, children first (the order of their ids). */
function nodes(tree: OperatorNode): OperatorNode[] {
  return [...tree.children.flatMap(nodes), tree];
}

describe('explain modes', () => {
  test('simple is the default; extended adds the logical plan (true says the same); unknown modes are refused', () => {
    const { df } = wordCounts(new Weir());
    assert.equal(df.explain(), df.explain('simple'));
    assert.equal(df.explain(false), df.explain('simple'));
    assert.match(df.explain(), /^== Physical Plan ==\nHashAggregate keys=\[window, word\], functions=\[c, sum\(n\)\]\n/);
    const extended = df.explain('extended');
    assert.equal(df.explain(true), extended);
    assert.match(extended, /^== Analyzed Logical Plan ==\nAggregate \[window, word\], \[c, sum\(n\)\]\n/);
    assert.ok(extended.endsWith(`\n\n${df.explain()}`), 'the physical plan follows the logical one');
    assert.throws(() => df.explain('cost' as 'simple'), (err: Error & { code?: string }) =>
      err.code === 'INVALID_EXPLAIN_MODE' && /'cost'/.test(err.message) && /simple, extended, formatted, codegen/.test(err.message));
  });

  test('formatted: an outline numbered children first, then each operator with its output and arguments', () => {
    const { df } = wordCounts(new Weir());
    const text = df.explain('formatted');
    assert.ok(text.startsWith([
      '== Physical Plan ==',
      'HashAggregate (4)',
      '+- EventTimeWatermark (3)',
      '   +- WholeStageCodegen (2)',
      '      +- MicroBatchScan (1)',
    ].join('\n')), text);
    assert.match(text, /\n\(1\) MicroBatchScan\nOutput \[3\]: \[ts: timestamp, word: string, n: integer\]\nArguments: MemoryStream \[ts, word, n\]\n/);
    assert.match(text, /\n\(2\) WholeStageCodegen\nOutput \[3\]: .*\nArguments: Filter \(NOT \(word = x\)\)\n/);
    assert.doesNotMatch(text, /Metrics/, 'a DataFrame that never ran has no metrics');
  });

  test('codegen shows the JavaScript of each compiled operator: the fused stage and the aggregation loop', () => {
    const { df } = wordCounts(new Weir());
    const text = df.explain('codegen');
    assert.match(text, /^Found 2 operator\(s\) with generated code\./);
    assert.match(text, /== Subtree 1 \/ 2: \(2\) WholeStageCodegen Filter \(NOT \(word = x\)\) ==\nGenerated code:\nfunction compiledSteps\(rows, ctx\) \{/);
    assert.match(text, /== Subtree 2 \/ 2: \(4\) HashAggregate .*==\nGenerated code:\nfunction compiledRowLoop\(/);
    assert.match(text, /store\.get\(key\)/, 'the aggregation loop as it runs, state lookups included');
  });

  test('a batch input whose schema is inferred when read: the logical plan, and how to plan it now', () => {
    const weir = new Weir();
    const df = weir.read.format('json').load('/nonexistent/folder/for/explain').filter(col('user').equalTo('a'));
    assert.equal(df.explain(), [
      '== Logical Plan ==',
      'Filter (user = a)',
      '+- Relation json[/nonexistent/folder/for/explain]',
      '',
      '== Physical Plan ==',
      "Not planned yet: the input's schema is inferred when it is read. Give the reader a schema (.schema(...)) to plan it now.",
    ].join('\n'));
  });

  test('a stream-static join explains without reading its static side', () => {
    const weir = new Weir();
    const stream = weir.memoryStream({ k: 'string' }).toDF();
    // The folder does not exist: reading it would fail, planning for explain must not.
    const statics = weir.read.format('json').schema('k STRING, v INT').load('/nonexistent/folder/for/explain');
    const joined = stream.join(statics, 'k');
    const text = joined.explain();
    assert.match(text, /BroadcastHashJoin inner, using \[k\], static right side/);
  });
});

describe('operator metrics of a running query', () => {
  test('planMetrics(): the tree with each operator\'s rows in/out, own time and state figures of the last batch', async () => {
    const weir = new Weir();
    const { input, df } = wordCounts(weir);
    const q = await startMemory(df, 'metrics', { mode: 'update' });
    const before = q.planMetrics();
    assert.deepEqual(nodes(before).map((n) => [n.id, n.name, n.metrics, n.state]), [
      [1, 'MicroBatchScan', null, null], [2, 'WholeStageCodegen', null, null], [3, 'EventTimeWatermark', null, null],
      [4, 'HashAggregate', null, null],
    ]);
    input.addData([{ ts: sec(1), word: 'a', n: 1 }, { ts: sec(2), word: 'x', n: 2 }, { ts: sec(3), word: 'b', n: 3 }]);
    await q.processAllAvailable();
    input.addData([{ ts: sec(4), word: 'a', n: 4 }, { ts: sec(6), word: 'a', n: 5 }, { ts: sec(7), word: 'x', n: 6 },
      { ts: sec(8), word: 'c', n: 7 }]);
    await q.processAllAvailable();
    const tree = q.planMetrics();
    await q.stop();
    const batchId = q.lastProgress!.batchId;
    const [scan, stage, watermark, aggregate] = nodes(tree);
    assert.deepEqual([scan!.metrics!.rowsIn, scan!.metrics!.rowsOut], [4, 4]);
    // As in Spark, the filter runs below the watermark (it does not read the event time): x rows do not move it.
    assert.deepEqual([stage!.metrics!.rowsIn, stage!.metrics!.rowsOut], [4, 3], 'the filter dropped the x row');
    assert.deepEqual([watermark!.metrics!.rowsIn, watermark!.metrics!.rowsOut], [3, 3]);
    // Update mode: groups (0-5 s, a), (5-10 s, a), (5-10 s, c) changed in this batch.
    assert.deepEqual([aggregate!.metrics!.rowsIn, aggregate!.metrics!.rowsOut], [3, 3]);
    for (const node of nodes(tree)) {
      assert.equal(node.metrics!.batchId, batchId);
      assert.ok(node.metrics!.timeMs >= 0);
    }
    // The stateful operator's figures are its store's, the same as the progress reports.
    assert.deepEqual(aggregate!.state, q.lastProgress!.stateOperators[0]);
    assert.equal(aggregate!.state!.numRowsTotal, 4);
    assert.equal(aggregate!.state!.numRowsUpdated, 3);
    assert.deepEqual(aggregate!.output, ['window: struct<start:timestamp,end:timestamp>', 'word: string', 'c: long', 'sum(n): long']);
    // formatted renders the same snapshot.
    const text = q.explain('formatted');
    assert.match(text, new RegExp(`\\(4\\) HashAggregate\\n[^]*Metrics \\(batch ${batchId}\\): rows in 3, rows out 3, time [0-9.]+ ms\\n` +
      'State \\(stateStoreSave\\): rows total 4, updated 3, removed 0, dropped by watermark 0, memory used \\d+ bytes, on disk \\d+ bytes, commit time \\d+ ms'));
    assert.match(text, new RegExp(`\\(2\\) WholeStageCodegen\\n[^]*Metrics \\(batch ${batchId}\\): rows in 4, rows out 3,`));
  });

  test('a stream-stream join is a stateful operator like the others: its buffered rows and both sides\' store figures', async () => {
    const weir = new Weir();
    const left = weir.memoryStream({ k: 'string', lt: 'timestamp' });
    const right = weir.memoryStream({ rk: 'string', rt: 'timestamp' });
    const joined = left.toDF().withWatermark('lt', '10 seconds').join(right.toDF().withWatermark('rt', '10 seconds'),
      col('k').equalTo(col('rk')).and(col('rt').geq(col('lt'))).and(col('rt').leq(col('lt').plus(5000))));
    const q = await startMemory(joined, 'joined_metrics');
    left.addData([{ k: 'a', lt: sec(1) }, { k: 'a', lt: sec(2) }, { k: 'b', lt: sec(3) }]);
    right.addData([{ rk: 'a', rt: sec(4) }]);
    await q.processAllAvailable();
    const tree = q.planMetrics();
    await q.stop();
    assert.equal(tree.name, 'StreamingSymmetricHashJoin');
    assert.match(tree.arguments, /^inner, /);
    assert.deepEqual([tree.metrics!.rowsIn, tree.metrics!.rowsOut], [4, 2]);
    assert.equal(tree.state!.operatorName, 'symmetricHashJoin');
    assert.equal(tree.state!.numRowsTotal, 4, 'rows buffered on both sides');
    assert.deepEqual(tree.state, q.lastProgress!.stateOperators[0]);
  });
});
