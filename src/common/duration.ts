import { AnalysisError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ms: 1, millisecond: 1, milliseconds: 1,
  s: 1000, sec: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  week: 604_800_000, weeks: 604_800_000,
};

/** A duration as users write it: `'10 seconds'`, `'1 hour 30 minutes'`, `'500 ms'`, or a number of ms. */
export type Duration = string | number;

export function parseDuration(value: Duration, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw badDuration(value, what);
    return value;
  }
  const text = value.trim().toLowerCase().replace(/^interval\s+/, '');
  const parts = text.match(/(-?\d+(?:\.\d+)?)\s*([a-z]+)/g);
  if (!parts || parts.join('').replace(/\s/g, '') !== text.replace(/\s/g, '')) throw badDuration(value, what);
  let total = 0;
  for (const part of parts) {
    const m = /(-?\d+(?:\.\d+)?)\s*([a-z]+)/.exec(part)!;
    const unit = UNIT_MS[m[2]!];
    if (unit === undefined) throw badDuration(value, what);
    total += Number(m[1]) * unit;
  }
  if (total < 0) throw badDuration(value, what);
  return Math.round(total);
}

function badDuration(value: unknown, what: string): AnalysisError {
  return new AnalysisError(
    `Invalid duration ${JSON.stringify(value)} for ${what}: write it like '10 seconds', '5 minutes', '1 hour' ` +
      `or as a number of milliseconds.`, 'INVALID_DURATION');
}
