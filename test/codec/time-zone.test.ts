import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

const CHILD = fileURLToPath(new URL('./time-zone-child.js', import.meta.url));
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The instants of time-zone-child.ts's TIME_TEXTS: UTC unless the text names an offset. */
const EXPECTED_TS = [
  Date.UTC(2024, 0, 2, 3, 4, 5), Date.UTC(2024, 6, 1, 12, 30, 0, 250), Date.UTC(2024, 2, 10, 2, 30),
  Date.UTC(2024, 10, 3, 1, 30), Date.UTC(2024, 0, 2), Date.UTC(2024, 0, 2, 3, 4, 5) - 5.5 * HOUR,
];
const EXPECTED_DAY = EXPECTED_TS.map((ms) => Math.floor(ms / DAY) * DAY);

async function runUnder(tz: string): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, [CHILD], { env: { ...process.env, TZ: tz } });
  return JSON.parse(stdout) as Record<string, unknown>;
}

test('every source, cast and to_timestamp read timestamp text as the same instant whatever the host time zone', async () => {
  const zones = ['UTC', 'America/New_York', 'Asia/Kolkata'];
  const results = await Promise.all(zones.map(runUnder));
  const rows = EXPECTED_TS.map((ts, i) => ({ ts, day: EXPECTED_DAY[i]! }));
  for (const [i, result] of results.entries()) {
    const where = `under TZ=${zones[i]}`;
    for (const source of ['json', 'csv', 'http', 'nats']) assert.deepEqual(result[source], rows, `${source} ${where}`);
    assert.deepEqual(result['expressions'],
      EXPECTED_TS.map((ts, j) => ({ cast: ts, toTimestamp: ts, castDate: EXPECTED_DAY[j]! })), `cast/to_timestamp ${where}`);
  }
});
