/**
 * The demo's streaming query: page views per page per 5-second window, with a 2-second watermark,
 * in append mode into an exactly-once JSON file sink. It runs in its own process so the demo can
 * kill it with SIGKILL; everything it needs to resume is in the checkpoint folder.
 */
import { join } from 'node:path';
import { col, count, max, sum, window } from '../../api/functions.js';
import { Weir } from '../../api/weir.js';
import type { StreamingQuery } from '../../api/query.js';
import type { Schema } from '../../common/schema.js';

export const WINDOW = '5 seconds';
export const WINDOW_MS = 5_000;
export const WATERMARK_DELAY = '2 seconds';
export const EVENT_SCHEMA = 'id LONG, ts TIMESTAMP, page STRING, user STRING, latencyMs LONG';

/** The file sink's rows as the batch reader reads them back. */
export const OUTPUT_SCHEMA: Schema = [
  {
    name: 'window', nullable: false,
    type: { kind: 'struct', fields: [{ name: 'start', type: 'timestamp', nullable: false }, { name: 'end', type: 'timestamp', nullable: false }] },
  },
  { name: 'page', type: 'string', nullable: true },
  { name: 'views', type: 'long', nullable: false },
  { name: 'totalLatencyMs', type: 'long', nullable: true },
  { name: 'maxLatencyMs', type: 'long', nullable: true },
];

export interface DemoFolders {
  readonly input: string;
  readonly output: string;
  readonly checkpoint: string;
}

export function demoFolders(dir: string): DemoFolders {
  return { input: join(dir, 'input'), output: join(dir, 'output'), checkpoint: join(dir, 'checkpoint') };
}

/**
 * Starts the query. `live` polls for new files every 200 ms until stopped; otherwise it processes
 * what is in the folder now (availableNow) and ends.
 */
export function startDemoQuery(weir: Weir, folders: DemoFolders, live: boolean): Promise<StreamingQuery> {
  return weir.readStream
    .format('json')
    .schema(EVENT_SCHEMA)
    .option('maxFilesPerTrigger', 4)
    .load(folders.input)
    .withWatermark('ts', WATERMARK_DELAY)
    .groupBy(window(col('ts'), WINDOW), col('page'))
    .agg(count('*').as('views'), sum('latencyMs').as('totalLatencyMs'), max('latencyMs').as('maxLatencyMs'))
    .writeStream
    .format('json')
    .outputMode('append')
    .queryName('page_views')
    .option('checkpointLocation', folders.checkpoint)
    .trigger(live ? { processingTime: '200 milliseconds' } : { availableNow: true })
    .start(folders.output);
}
