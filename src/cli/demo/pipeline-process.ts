/**
 * `weir demo-pipeline` (hidden): the process the demo starts, kills and restarts. It prints one line
 * per batch; SIGTERM stops the query gracefully (the batch in flight finishes first).
 */
import { Weir } from '../../api/weir.js';
import { demoFolders, startDemoQuery } from './pipeline.js';

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
        process.stdout.write(progress.batchId === 0 ? 'new checkpoint: starting at batch 0\n'
          : `resumed from the checkpoint at batch ${progress.batchId}\n`);
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
