/**
 * `weir demo-pipeline` (hidden): the process the demo starts, kills and restarts. It prints one line
 * per batch; SIGTERM stops the query gracefully (the batch in flight finishes first).
 */
import { Weir } from '../../api/weir.js';
import { demoFolders, startDemoQuery } from './pipeline.js';

/** How the pipeline's first batch line starts: on a new checkpoint, or resumed from one. */
export const FIRST_BATCH_NEW = 'new checkpoint: starting at batch';
export const FIRST_BATCH_RESUMED = 'resumed from the checkpoint at batch';

export async function runDemoPipeline(dir: string, drain: boolean, uiPort?: number): Promise<void> {
  // The demo's own lines say what happens; weir's logs only for warnings, unless WEIR_LOG_LEVEL asks for more.
  const weir = new Weir({
    logLevel: process.env['WEIR_LOG_LEVEL'] ? undefined : 'warn', ...(uiPort === undefined ? {} : { ui: { port: uiPort } }),
  });
  let first = true;
  weir.streams.addListener({
    onQueryProgress({ progress }) {
      if (first) {
        first = false;
        process.stdout.write(progress.batchId === 0 ? `${FIRST_BATCH_NEW} 0\n` : `${FIRST_BATCH_RESUMED} ${progress.batchId}\n`);
      }
      if (progress.numInputRows === 0 && progress.sink.numOutputRows === 0) return;
      process.stdout.write(`batch ${progress.batchId}: ${progress.numInputRows} events in, ` +
        `${progress.sink.numOutputRows} closed windows written, watermark ${watermarkText(progress.eventTime['watermark'])}\n`);
    },
  });
  const query = await startDemoQuery(weir, demoFolders(dir), !drain);
  if (uiPort !== undefined) process.stdout.write(`web UI at ${await weir.uiUrl()}\n`);
  process.once('SIGTERM', () => void query.stop());
  // If the demo itself is killed, stop too: an orphan would hold the checkpoint's lock against the next demo.
  const parent = process.ppid;
  const orphanCheck = setInterval(() => {
    if (process.ppid !== parent) void query.stop();
  }, 500);
  try {
    await query.awaitTermination();
  } finally {
    clearInterval(orphanCheck);
  }
}

/** The watermark is epoch 0 until the first event time is seen. */
function watermarkText(iso: string | undefined): string {
  return iso === undefined || Date.parse(iso) === 0 ? '-' : iso;
}
