/**
 * The Yahoo Streaming Benchmark's input (YSB, yahoo/streaming-benchmarks): ad events as JSON text with
 * its seven fields, 100 campaigns of 10 ads each, and the static ad → campaign table. As in its
 * generator, every field is a JSON string (event_time too: epoch milliseconds as text), event_type and
 * ad_type are drawn uniformly from its lists, and user/page ids are random UUIDs. Event i is a pure
 * function of i, so weir and the hand-written loop read the same bytes.
 */
import { join } from 'node:path';
import { EPOCH, linesBlock, mix, writeTextFile } from '../lib/data.js';

export const CAMPAIGNS = 100;
export const ADS_PER_CAMPAIGN = 10;
export const EVENT_TYPES = ['view', 'click', 'purchase'] as const;
const AD_TYPES = ['banner', 'modal', 'sponsored-search', 'mail', 'mobile'] as const;
/** Event-time rate of the generated stream: a 10 s window holds 100 k events (about 333 views per campaign). */
export const YSB_EVENTS_PER_SECOND = 10_000;
/** YSB's window; the watermark delay is the same length (events arrive in order here). */
export const YSB_WINDOW_MS = 10_000;
export const YSB_WATERMARK_MS = 10_000;

/** Every field as the YSB generator writes it; the reader's schema may name fewer. */
export const YSB_SCHEMA = 'user_id STRING, page_id STRING, ad_id STRING, ad_type STRING, event_type STRING, ' +
  'event_time STRING, ip_address STRING';
export const CAMPAIGN_SCHEMA = 'ad_id STRING, campaign_id STRING';

const HEX = '0123456789abcdef';

/** A version-4-shaped UUID made from a seed (deterministic, so reruns read the same text). */
export function uuidFrom(seed: number): string {
  let digits = '';
  let h = seed;
  for (let i = 0; i < 4; i++) {
    h = mix(h + i + 1);
    for (let d = 0; d < 8; d++) digits += HEX[(h >>> (d * 4)) & 15];
  }
  return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-4${digits.slice(13, 16)}-a${digits.slice(17, 20)}-${digits.slice(20, 32)}`;
}

export type CampaignRow = { ad_id: string; campaign_id: string };

/** The static table: 1 000 ads, each belonging to one of 100 campaigns. */
export function campaignTable(): CampaignRow[] {
  const rows: CampaignRow[] = [];
  for (let c = 0; c < CAMPAIGNS; c++) {
    const campaign = uuidFrom(0x70000000 + c);
    for (let a = 0; a < ADS_PER_CAMPAIGN; a++) rows.push({ ad_id: uuidFrom(0x60000000 + c * ADS_PER_CAMPAIGN + a), campaign_id: campaign });
  }
  return rows;
}

/** Event i as one JSON line (no newline). `ads` is campaignTable()'s ad ids. */
export function ysbEventLine(i: number, ads: readonly string[]): string {
  const h = mix(i + 0x5eed);
  const g = mix(h);
  const eventTime = EPOCH + Math.floor((i * 1000) / YSB_EVENTS_PER_SECOND);
  return `{"user_id":"${uuidFrom(h)}","page_id":"${uuidFrom(g)}","ad_id":"${ads[h % ads.length]!}",` +
    `"ad_type":"${AD_TYPES[g % AD_TYPES.length]!}","event_type":"${EVENT_TYPES[(h >>> 12) % EVENT_TYPES.length]!}",` +
    `"event_time":"${eventTime}","ip_address":"${(g >>> 24) & 255}.${(g >>> 16) & 255}.${(g >>> 8) & 255}.${g & 255}"}`;
}

export interface YsbFiles {
  readonly dir: string;
  readonly files: readonly string[];
  readonly events: number;
  readonly bytes: number;
}

/** Writes `events` events as JSON-lines files of `perFile` events each (a batch per file when read). */
export async function writeYsbFiles(dir: string, events: number, perFile: number): Promise<YsbFiles> {
  const ads = campaignTable().map((r) => r.ad_id);
  const files: string[] = [];
  let bytes = 0;
  for (let first = 0; first < events; first += perFile) {
    const file = join(dir, `ysb-${String(files.length).padStart(5, '0')}.json`);
    const last = Math.min(events, first + perFile);
    bytes += await writeTextFile(file, (function* () {
      for (let i = first; i < last; i += 10_000) yield linesBlock(i, Math.min(last, i + 10_000), (n) => ysbEventLine(n, ads));
    })());
    files.push(file);
  }
  return { dir, files, events, bytes };
}
