import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StreamingQuery } from '../../api/query.js';
import { SqlResult } from '../../api/sql/session.js';
import { Weir } from '../../api/weir.js';
import { AnalysisError, errorMessage } from '../../common/errors.js';
import { OutputMode } from '../../common/output-mode.js';
import { Trigger } from '../../engine/trigger.js';
import { EnvSubstitution } from './secrets.js';
import { StatusBoard } from './status-board.js';

export interface RunOptions {
  readonly file: string;
  readonly dryRun: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
  /** A terminal gets a live line per query; otherwise a line per event (start, end). */
  readonly live: boolean;
  /** Every query starts as a standby (option 'standby'): it waits for the active one's lease, keeping its state warm. */
  readonly standby: boolean;
}

/** Writer options a sink table's WITH clause may set besides the sink's own. */
const WRITER_SETTINGS = new Set(['checkpointlocation', 'outputmode', 'trigger']);

/**
 * `weir run pipeline.sql`: declares the file's tables and views, starts each `INSERT INTO` as a durable
 * streaming query (its checkpoint in `checkpoints/<table>` next to the file unless the table sets
 * `checkpointLocation`), and runs until every query ends or Ctrl-C stops them gracefully (the batch in
 * flight completes). Run again, each query resumes from its checkpoint.
 */
export async function runPipelineFile(options: RunOptions): Promise<boolean> {
  const file = resolve(options.file);
  const secrets = new EnvSubstitution(options.env);
  const say = (text: string): void => options.out(secrets.redact(text));
  try {
    const weir = new Weir();
    const script = weir.sqlScript(secrets.apply(await readFile(file, 'utf8'), options.file));
    if (script.inserts.length === 0) {
      throw new AnalysisError(`${options.file} has no INSERT INTO statement: nothing to run. Write the results of a ` +
        'SELECT into a declared table: INSERT INTO sink SELECT … FROM source.', 'SQL_NO_INSERT');
    }
    if (options.dryRun) {
      for (const { table, df } of script.inserts) say(`INSERT INTO ${table.name} (${table.format}${table.path ? ` ${table.path}` : ''})\n${df.explain()}\n`);
      return true;
    }
    return await runQueries(weir, script, dirname(file), say, options);
  } catch (err) {
    say(`weir run: ${errorMessage(err)}`);
    return false;
  }
}

async function runQueries(weir: Weir, script: SqlResult, folder: string, say: (text: string) => void,
  options: Pick<RunOptions, 'live' | 'standby'>): Promise<boolean> {
  const board = new StatusBoard(say, options.live);
  weir.streams.addListener(board);
  const queries: StreamingQuery[] = [];
  let waiting = 0;
  const stopAll = async (): Promise<void> => { await Promise.allSettled(queries.map((q) => q.stop())); };
  const onSignal = (): void => {
    say('stopping: each query finishes its batch in flight, then stops (run again to resume)');
    void stopAll().then(() => {
      // A standby still waiting holds no lease and has written nothing: it just goes.
      if (waiting > 0) process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // All at once: a standby's start returns only when it took its query over, and each waits for its own.
    // The first start that fails ends the run (Promise.all does not wait for standbys still waiting).
    await Promise.all(script.inserts.map(async ({ table, df }) => {
      let writer = df.writeStream.format(table.format).queryName(table.name)
        .option('checkpointLocation', table.options.get('checkpointLocation') ?? join(folder, 'checkpoints', table.name));
      const mode = table.options.get('outputMode');
      // Text from the file: outputMode() checks it at run time and names the nearest mode for a typo.
      if (mode !== undefined) writer = writer.outputMode(mode as OutputMode);
      const trigger = table.options.get('trigger');
      if (trigger !== undefined) writer = writer.trigger(parseTrigger(trigger));
      for (const [k, v] of table.options) if (!WRITER_SETTINGS.has(k.toLowerCase())) writer = writer.option(k, v);
      if (options.standby) writer = writer.option('standby', true);
      waiting++;
      try {
        queries.push(await writer.start(table.path));
      } finally {
        waiting--;
      }
    }));
    const results = await Promise.allSettled(queries.map((q) => q.awaitTermination()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed) say(`weir run: ${errorMessage(f.reason)}`);
    return failed.length === 0;
  } catch (err) {
    await stopAll();
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    board.close();
  }
}

/** A table's `'trigger'` option: an interval ('5 seconds'), 'availableNow' or 'once'. */
function parseTrigger(text: string): Trigger {
  const t = text.trim();
  if (/^availablenow$/i.test(t)) return { availableNow: true };
  if (/^once$/i.test(t)) return { once: true };
  return { processingTime: t };
}
