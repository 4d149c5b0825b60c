/**
 * The demo's input: page-view events written as JSON-lines files into `<dir>/input`, each file
 * written under a hidden temp name and renamed into place once complete (the file source's
 * write-then-rename contract). Event i is a pure function of i, so a resumed demo continues the
 * same sequence and the expected result can be recomputed from the input files at any time.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PAGES = ['/home', '/search', '/cart', '/checkout', '/help', '/account'] as const;
export const EVENT_TIME_START_MS = Date.UTC(2026, 0, 1);
/** Event-time disorder: how far an event may lag behind the newest one. Smaller than the watermark delay. */
export const MAX_LATENESS_MS = 1_500;

/** Event time runs this much faster than the wall clock, so windows close every fraction of a second. */
export const EVENT_TIME_SPEEDUP = 10;

/** Events per second of event time for a generator writing `eventsPerSecond` of wall-clock time. */
export const eventTimeRate = (eventsPerSecond: number): number => eventsPerSecond / EVENT_TIME_SPEEDUP;

export interface DemoEvent {
  readonly id: number;
  readonly ts: string;
  readonly page: string;
  readonly user: string;
  readonly latencyMs: number;
}

function hash(i: number): number {
  let h = Math.imul(i + 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Event `i` of a stream running at `eventsPerSecond` of event time. */
export function demoEvent(i: number, eventsPerSecond: number): DemoEvent {
  const h = hash(i);
  const ms = EVENT_TIME_START_MS + Math.floor((i * 1000) / eventsPerSecond) - (h % MAX_LATENESS_MS);
  return {
    id: i,
    ts: new Date(ms).toISOString(),
    page: PAGES[h % PAGES.length]!,
    user: `u${(h >>> 8) % 500}`,
    latencyMs: 5 + ((h >>> 4) % 400),
  };
}

const FILE_NAME = /^events-(\d{6})\.json$/;

/** Writes input files; knows where a previous (possibly killed) run stopped. */
export class EventWriter {
  private nextFile = 0;
  private nextEvent = 0;

  constructor(private readonly folder: string, private readonly eventsPerSecond: number) {}

  /** Continues after the files already in the folder (a temp file of a killed writer is ignored and overwritten). */
  async open(): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    for (const name of (await readdir(this.folder)).sort()) {
      if (!FILE_NAME.test(name)) continue;
      this.nextFile = Number(FILE_NAME.exec(name)![1]) + 1;
      this.nextEvent += (await readFile(join(this.folder, name), 'utf8')).split('\n').filter((l) => l !== '').length;
    }
  }

  get eventsWritten(): number {
    return this.nextEvent;
  }

  /** Writes the next `count` events as one file, atomically visible. */
  async writeFile(count: number): Promise<void> {
    const lines: string[] = [];
    for (let k = 0; k < count; k++) lines.push(JSON.stringify(demoEvent(this.nextEvent + k, this.eventsPerSecond)));
    await this.writeWhole(`events-${String(this.nextFile).padStart(6, '0')}.json`, lines);
    this.nextFile += 1;
    this.nextEvent += count;
  }

  /** Writes JSON lines under a hidden temp name and renames them in, so the source never sees a partial file. */
  async writeWhole(name: string, lines: readonly string[]): Promise<void> {
    const temp = join(this.folder, `.${name}.tmp`);
    await writeFile(temp, `${lines.join('\n')}\n`);
    await rename(temp, join(this.folder, name));
  }

  /** Reads every event back from the input files (for the final check). */
  async readAll(): Promise<DemoEvent[]> {
    const events: DemoEvent[] = [];
    for (const name of (await readdir(this.folder)).sort()) {
      if (!FILE_NAME.test(name)) continue;
      for (const line of (await readFile(join(this.folder, name), 'utf8')).split('\n')) {
        if (line !== '') events.push(JSON.parse(line) as DemoEvent);
      }
    }
    return events;
  }
}
