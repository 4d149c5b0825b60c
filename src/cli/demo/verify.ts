/**
 * The demo's proof: recompute the windowed aggregates from the input files and compare them, window
 * by window, with what the file sink committed (read back through its manifests).
 */
import { Weir } from '../../api/weir.js';
import type { Row } from '../../common/schema.js';
import type { DemoEvent } from './events.js';
import { DemoFolders, OUTPUT_SCHEMA, WINDOW_MS } from './pipeline.js';

interface Aggregate {
  views: number;
  totalLatencyMs: number;
  maxLatencyMs: number;
}

export interface DemoCheck {
  readonly events: number;
  readonly windowsExpected: number;
  readonly windowsWritten: number;
  /** Expected windows missing from the output. */
  readonly lost: number;
  /** Windows written more than once. */
  readonly duplicated: number;
  /** Windows written once but with other figures than expected. */
  readonly wrong: number;
  /** Events counted in the output (sum of views): equals `events` when each had its effect exactly once. */
  readonly eventsCounted: number;
}

const keyOf = (windowStartMs: number, page: string): string => `${windowStartMs} ${page}`;

export function expectedAggregates(events: readonly DemoEvent[]): Map<string, Aggregate> {
  const expected = new Map<string, Aggregate>();
  for (const e of events) {
    const ms = Date.parse(e.ts);
    const key = keyOf(ms - (ms % WINDOW_MS), e.page);
    const a = expected.get(key);
    if (a) {
      a.views += 1;
      a.totalLatencyMs += e.latencyMs;
      a.maxLatencyMs = Math.max(a.maxLatencyMs, e.latencyMs);
    } else {
      expected.set(key, { views: 1, totalLatencyMs: e.latencyMs, maxLatencyMs: e.latencyMs });
    }
  }
  return expected;
}

export async function checkDemoOutput(folders: DemoFolders, events: readonly DemoEvent[]): Promise<DemoCheck> {
  const expected = expectedAggregates(events);
  const rows = await new Weir().read.format('json').schema(OUTPUT_SCHEMA).load(folders.output).collect();
  const seen = new Map<string, number>();
  let wrong = 0;
  let eventsCounted = 0;
  for (const row of rows) {
    const window = row['window'] as Row;
    const key = keyOf(window['start'] as number, row['page'] as string);
    seen.set(key, (seen.get(key) ?? 0) + 1);
    eventsCounted += row['views'] as number;
    const want = expected.get(key);
    if (!want || want.views !== row['views'] || want.totalLatencyMs !== row['totalLatencyMs'] || want.maxLatencyMs !== row['maxLatencyMs']) {
      wrong += 1;
    }
  }
  return {
    events: events.length,
    windowsExpected: expected.size,
    windowsWritten: rows.length,
    lost: [...expected.keys()].filter((k) => !seen.has(k)).length,
    duplicated: [...seen.values()].filter((n) => n > 1).length,
    wrong,
    eventsCounted,
  };
}
