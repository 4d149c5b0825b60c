/**
 * The suite's input: a deterministic event stream `{ ts, key, value }` where event i is a pure
 * function of i, so every workload, its baseline, a replayed range and a child process see the same
 * rows without storing them.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';

/** ts is epoch ms, as weir rows carry timestamps. A type alias (not an interface) so it is a Row. */
export type EventRow = { ts: number; key: string; value: number };

export const EVENT_SCHEMA = 'ts TIMESTAMP, key STRING, value DOUBLE';
export const EPOCH = Date.UTC(2024, 0, 1);
/** Distinct keys (W2: 10k keys per 1 s window). */
export const KEYS = 10_000;
/** Event-time rate: 100k events per event-time second, so each 1 s window holds ~10 rows per key. */
export const EVENTS_PER_SECOND = 100_000;
/** Events arrive up to 2 s out of order: inside the 10 s watermark, so none is late. */
export const JITTER_MS = 2_000;

/** A 32-bit integer hash (splitmix-style finaliser): cheap, deterministic, well spread. */
export function mix(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Event i; `eventsPerSecond` sets how fast event time advances (W8 uses a slower clock). */
export function eventAt(i: number, eventsPerSecond = EVENTS_PER_SECOND): EventRow {
  const h = mix(i + 1);
  const g = mix(h);
  return {
    ts: EPOCH + Math.floor((i * 1000) / eventsPerSecond) - (h % JITTER_MS),
    key: `k${(h >>> 8) % KEYS}`,
    value: (g % 10_000) / 100,
  };
}

export function generateEvents(from: number, count: number): EventRow[] {
  const rows = new Array<EventRow>(count);
  for (let i = 0; i < count; i++) rows[i] = eventAt(from + i);
  return rows;
}

export function chunked<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

export function eventLine(e: EventRow): string {
  return `{"ts":"${new Date(e.ts).toISOString()}","key":"${e.key}","value":${e.value}}`;
}

export interface JsonFiles {
  readonly dir: string;
  readonly files: readonly string[];
  readonly bytes: number;
  readonly rows: number;
}

/** Writes JSON-lines event files of about `fileBytes` each until `totalBytes` are written. */
export async function writeEventFiles(dir: string, totalBytes: number, fileBytes: number): Promise<JsonFiles> {
  const files: string[] = [];
  let bytes = 0;
  let row = 0;
  while (bytes < totalBytes) {
    const file = join(dir, `events-${String(files.length).padStart(5, '0')}.json`);
    const room = Math.min(fileBytes, totalBytes - bytes);
    bytes += await writeTextFile(file, (function* () {
      for (let inFile = 0; inFile < room;) {
        const block = linesBlock(row, row + 10_000, (n) => eventLine(eventAt(n)));
        row += 10_000;
        inFile += block.length;
        yield block;
      }
    })());
    files.push(file);
  }
  return { dir, files, bytes, rows: row };
}

/** Lines `from` to `to` (exclusive) of a JSON-lines file, each ended by a newline. */
export function linesBlock(from: number, to: number, lineAt: (n: number) => string): string {
  const lines: string[] = [];
  for (let n = from; n < to; n++) lines.push(lineAt(n));
  return `${lines.join('\n')}\n`;
}

/** Writes `blocks` of ASCII text to `file`, waiting whenever the stream is full; returns the bytes written. */
export async function writeTextFile(file: string, blocks: Iterable<string>): Promise<number> {
  const out = createWriteStream(file);
  let bytes = 0;
  for (const block of blocks) {
    bytes += block.length; // ASCII: characters are bytes
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return bytes;
}
