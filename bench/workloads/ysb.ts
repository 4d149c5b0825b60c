/**
 * YSB: the Yahoo Streaming Benchmark as the Structured Streaming paper (SIGMOD 2018) ran it: JSON ad
 * events → filter event_type = 'view' → project → join ad → campaign (static table) → count per
 * campaign per 10 s event-time window. weir reads JSON-lines files (a batch per file), keeps its
 * checkpoint on local disk (fsync) and writes the file sink (exactly-once). The figure is records per
 * CPU second of the whole process tree (user + system), i.e. per core used, set beside the published
 * per-core figures and a hand-written loop doing the same work without durability.
 */
import { join } from 'node:path';
import { Weir } from '../../src/index.js';
import { removeDir, tempDir, timedRunToFiles } from '../lib/harness.js';
import { eachLineOf, handBatchesOverFiles } from '../lib/lines.js';
import { alternate, flushDisk, median, timeWithCpu } from '../lib/measure.js';
import { rate } from '../lib/report.js';
import { Workload } from '../lib/suite.js';
import { CAMPAIGN_SCHEMA, campaignTable, writeYsbFiles, YSB_SCHEMA, YsbFiles } from '../ysb/events.js';
import { CampaignCount, HandYsb, ysbQuery } from '../ysb/query.js';

/** Published per-core figures (records/s ÷ cores), Structured Streaming paper, SIGMOD 2018, figure 6a. */
export const YSB_PUBLISHED = { spark: 65e6 / 40, flink: 33e6 / 40, kafkaStreams: 0.7e6 / 40 } as const;

/** YSB_PUBLISHED as text (`1.63 M`). */
const publishedText = {
  spark: rate(YSB_PUBLISHED.spark, '').text.trim(),
  flink: rate(YSB_PUBLISHED.flink, '').text.trim(),
  kafkaStreams: rate(YSB_PUBLISHED.kafkaStreams, '').text.trim(),
};

interface Run { readonly seconds: number; readonly cpuSeconds: number; readonly outputRows: number }

async function weirRun(files: YsbFiles): Promise<Run> {
  const weir = new Weir();
  return timedRunToFiles(weir, 'ysb', () => ysbQuery(
    weir.readStream.format('json').schema(YSB_SCHEMA).option('maxFilesPerTrigger', 1).load(files.dir),
    weir.createDataFrame(campaignTable(), CAMPAIGN_SCHEMA)));
}

async function handRun(files: YsbFiles): Promise<Run> {
  const out = await tempDir('ysb-hand');
  try {
    const timed = await timeWithCpu(async () => {
      const hand = new HandYsb(campaignTable());
      return handBatchesOverFiles(files.files, hand.take, (emit: (row: CampaignCount) => void) => hand.endBatch(emit),
        join(out, 'results.json'));
    });
    return { seconds: timed.seconds, cpuSeconds: timed.cpuSeconds, outputRows: timed.result };
  } finally {
    await removeDir(out);
  }
}

/** The floor any JSON.parse-based reader pays: every line of the input parsed, nothing else (CPU seconds). */
async function parseOnlyCpuSeconds(files: YsbFiles): Promise<number> {
  let parsed = 0;
  const timed = await timeWithCpu(async () => {
    for (const file of files.files) await eachLineOf(file, (line) => { if (JSON.parse(line) !== null) parsed++; });
  });
  if (parsed !== files.events) throw new Error(`YSB: parsed ${parsed} lines of ${files.events}`);
  return timed.cpuSeconds;
}

export const ysbWorkloads: Workload = {
  ids: ['YSB'],
  async run(suite) {
    const { reps, ysbEvents, ysbEventsPerFile } = suite.sizes;
    const dir = await tempDir('ysb-input');
    try {
      const files = await writeYsbFiles(dir, ysbEvents, ysbEventsPerFile);
      flushDisk();
      const runs = { weir: [] as Run[], hand: [] as Run[] };
      await alternate(reps, async () => {
        runs.weir.push(await weirRun(files));
        return 0;
      }, async () => {
        runs.hand.push(await handRun(files));
        return 0;
      });
      const parseFloor = [];
      for (let i = 0; i < reps; i++) parseFloor.push(files.events / await parseOnlyCpuSeconds(files));
      const perCore = (r: Run): number => files.events / r.cpuSeconds;
      const perWall = (r: Run): number => files.events / r.seconds;
      const [weir, hand] = [median(runs.weir.map(perCore)), median(runs.hand.map(perCore))];
      const cores = median(runs.weir.map((r) => r.cpuSeconds / r.seconds));
      const notes = [
        `${files.events} events (${(files.bytes / 1e6).toFixed(0)} MB of JSON lines, 7 fields) in ${files.files.length} files, ` +
          'a batch per file; 100 campaigns × 10 ads; checkpoint on local disk (fsync), file sink',
        `per core = events ÷ CPU seconds (user + system) of the process tree; weir used ${cores.toFixed(2)} cores, ` +
          `${rate(median(runs.weir.map(perWall)), 'events/s').text} wall clock (the loop ${rate(median(runs.hand.map(perWall)), 'events/s').text})`,
        `reading the files and JSON.parse of every line, nothing else: ${rate(median(parseFloor), 'events/s').text} per core`,
        `published per core (Structured Streaming paper, SIGMOD 2018): Spark ${publishedText.spark}, ` +
          `Flink ${publishedText.flink}, Kafka Streams ${publishedText.kafkaStreams} records/s`,
      ];
      const outputs = { weir: runs.weir.map((r) => r.outputRows), hand: runs.hand.map((r) => r.outputRows) };
      if (outputs.weir.some((n) => n !== outputs.hand[0])) {
        notes.push(`CHECK: weir emitted ${outputs.weir.join('/')} rows, the loop ${outputs.hand.join('/')}`);
      }
      return [{
        id: 'YSB', workload: 'Yahoo Streaming Benchmark, per core', weir: rate(weir, 'events/s/core'), perCore: rate(weir, 'events/s'),
        published: `Spark ${publishedText.spark}, Flink ${publishedText.flink}, ` +
          `Kafka Streams ${publishedText.kafkaStreams} [SIGMOD 2018]`,
        baseline: rate(hand, 'events/s/core'), baselineName: 'hand-written loop, JSON.parse, no durability',
        ratio: weir / hand, goal: `≥ ${publishedText.spark}/core (Spark)`, met: weir >= YSB_PUBLISHED.spark,
        notes,
        details: { events: files.events, bytes: files.bytes, files: files.files.length, weir: runs.weir, hand: runs.hand, outputs,
          parseOnlyPerCore: parseFloor },
      }];
    } finally {
      await removeDir(dir);
    }
  },
};
