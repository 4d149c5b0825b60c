/** What the structured log says about a standby: how far its warm state got (debug), and each takeover (info). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TakeoverReport, WeirLogger } from '../../src/index.js';
import { loggingListener } from '../../src/monitoring/logger.js';

interface Line { readonly level: string; readonly fields: Record<string, unknown>; readonly message: string }

function capture(): { logger: WeirLogger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (fields: object, message: string) => { lines.push({ level, fields: fields as Record<string, unknown>, message }); };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

test('a takeover is logged at info with its figures, warm or cold (with why); a standby following at debug', () => {
  const { logger, lines } = capture();
  const listener = loggingListener(logger);
  const query = { id: 'q1', runId: 'r1', name: 'counts', timestamp: '2026-01-01T00:00:00.000Z' };
  listener.onQueryStandby!({ ...query, followedBatchId: 41, stateRows: 1000 });
  const warm: TakeoverReport = { ms: 150, warm: true, fromBatch: 42, stateRows: 1000, waitedMs: 10_400 };
  listener.onQueryStarted!({ ...query, takeoverMs: warm.waitedMs, takeover: warm });
  const cold: TakeoverReport = { ms: 1900, warm: false, fromBatch: 42, stateRows: 1000, waitedMs: 10_300,
    coldReason: "the state store provider 'lmdb' keeps no warm copy" };
  listener.onQueryStarted!({ ...query, runId: 'r2', takeoverMs: cold.waitedMs, takeover: cold });
  listener.onQueryStarted!({ ...query, runId: 'r3' });
  assert.deepEqual(lines.map((l) => [l.level, l.message]), [
    ['debug', 'standby: warm state at batch 41'],
    ['info', 'query started'],
    ['info', 'query took over the checkpoint after waiting 10400 ms: warm, ready in 150 ms with 1000 state rows, continuing after batch 42'],
    ['info', 'query started'],
    ['info', "query took over the checkpoint after waiting 10300 ms: cold, ready in 1900 ms with 1000 state rows (cold because the state store provider 'lmdb' keeps no warm copy), continuing after batch 42"],
    ['info', 'query started'],
  ]);
  assert.deepEqual(lines[0]!.fields, { queryId: 'q1', runId: 'r1', queryName: 'counts', followedBatchId: 41, stateRows: 1000 });
  assert.deepEqual(lines[2]!.fields, { queryId: 'q1', runId: 'r1', queryName: 'counts', takeover: warm });
  assert.deepEqual(lines[4]!.fields['takeover'], cold);
});
