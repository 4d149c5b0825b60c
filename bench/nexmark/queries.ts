/**
 * NEXMark q0, q1, q2, q5, q7 over the bid stream, each in weir and by hand (the baseline).
 * Multiple streaming aggregations in one query are not supported (as in Spark before 3.5's
 * chained stateful operators), so q5's second step — the auctions with the most bids per window —
 * runs over each emitted batch in foreachBatch; in append mode a window's counts are emitted all
 * in one batch (when the watermark passes it), so that step is exact. q7 reports the highest price
 * per window (the original joins back to find the bid carrying it).
 */
import { col, count, max, window } from '../../src/index.js';
import type { DataFrame } from '../../src/index.js';
import { Row } from '../../src/common/schema.js';
import { OutputMode } from '../../src/common/output-mode.js';
import { Bid } from './generator.js';

export interface NexmarkQuery {
  readonly name: string;
  readonly description: string;
  readonly mode: OutputMode;
  /** The query over the bid stream. */
  build(bids: DataFrame): DataFrame;
  /** What foreachBatch does with each emitted batch; returns the result rows it produced. */
  consume(rows: readonly Row[]): number;
  /** A fresh hand-written processor: takes one batch of bids, returns the result rows it produced. */
  hand(): (bids: readonly Bid[]) => number;
}

const DOLLAR_TO_EURO = 0.908;
const Q2_MODULUS = 123;
const Q5_SIZE_MS = 10_000;
const Q5_SLIDE_MS = 2_000;
const Q7_SIZE_MS = 10_000;
const WATERMARK_MS = 10_000;

const windowStart = (t: number, size: number): number => t - (t % size);

/** Per window, the rows with the highest count. */
function hotItems(rows: readonly Row[]): number {
  const best = new Map<number, number>();
  const startOf = (r: Row): number => (r['window'] as { start: number }).start;
  for (const r of rows) best.set(startOf(r), Math.max(best.get(startOf(r)) ?? 0, r['count'] as number));
  let out = 0;
  for (const r of rows) if (r['count'] === best.get(startOf(r))) out++;
  return out;
}

/** The hand-written watermark: max event time seen minus the delay, never decreasing. */
class Watermark {
  private maxTs = -Infinity;
  value = 0;
  see(t: number): void {
    if (t > this.maxTs) this.maxTs = t;
  }
  advance(): number {
    this.value = Math.max(this.value, this.maxTs - WATERMARK_MS);
    return this.value;
  }
}

export const NEXMARK_QUERIES: readonly NexmarkQuery[] = [
  {
    name: 'q0', description: 'pass-through', mode: 'append',
    build: (bids) => bids,
    consume: (rows) => rows.length,
    hand: () => (bids) => bids.length,
  },
  {
    name: 'q1', description: 'currency conversion', mode: 'append',
    build: (bids) => bids.select(col('auction'), col('bidder'), col('price').multiply(DOLLAR_TO_EURO).as('price'),
      col('dateTime'), col('extra')),
    consume: (rows) => rows.length,
    hand: () => (bids) => {
      const out: Row[] = [];
      for (const b of bids) {
        out.push({ auction: b.auction, bidder: b.bidder, price: b.price * DOLLAR_TO_EURO, dateTime: b.dateTime, extra: b.extra });
      }
      return out.length;
    },
  },
  {
    name: 'q2', description: 'selection (auction % 123 = 0)', mode: 'append',
    build: (bids) => bids.filter(col('auction').mod(Q2_MODULUS).equalTo(0)).select('auction', 'price'),
    consume: (rows) => rows.length,
    hand: () => (bids) => {
      const out: Row[] = [];
      for (const b of bids) if (b.auction % Q2_MODULUS === 0) out.push({ auction: b.auction, price: b.price });
      return out.length;
    },
  },
  {
    name: 'q5', description: 'hot items (10 s window sliding 2 s)', mode: 'append',
    build: (bids) => bids.withWatermark('dateTime', '10 seconds')
      .groupBy(window(col('dateTime'), '10 seconds', '2 seconds'), col('auction')).agg(count('*').as('count')),
    consume: hotItems,
    hand: () => {
      const windows = new Map<number, Map<number, number>>();
      const watermark = new Watermark();
      return (bids) => {
        for (const b of bids) {
          watermark.see(b.dateTime);
          for (let ws = windowStart(b.dateTime, Q5_SLIDE_MS); ws > b.dateTime - Q5_SIZE_MS; ws -= Q5_SLIDE_MS) {
            if (ws + Q5_SIZE_MS <= watermark.value) continue;
            let counts = windows.get(ws);
            if (counts === undefined) windows.set(ws, counts = new Map());
            counts.set(b.auction, (counts.get(b.auction) ?? 0) + 1);
          }
        }
        const wm = watermark.advance();
        let out = 0;
        for (const [ws, counts] of windows) {
          if (ws + Q5_SIZE_MS > wm) continue;
          let best = 0;
          for (const c of counts.values()) if (c > best) best = c;
          for (const c of counts.values()) if (c === best) out++;
          windows.delete(ws);
        }
        return out;
      };
    },
  },
  {
    name: 'q7', description: 'highest bid per 10 s window', mode: 'append',
    build: (bids) => bids.withWatermark('dateTime', '10 seconds').groupBy(window(col('dateTime'), '10 seconds'))
      .agg(max('price').as('price')),
    consume: (rows) => rows.length,
    hand: () => {
      const highest = new Map<number, number>();
      const watermark = new Watermark();
      return (bids) => {
        for (const b of bids) {
          watermark.see(b.dateTime);
          const ws = windowStart(b.dateTime, Q7_SIZE_MS);
          if (ws + Q7_SIZE_MS <= watermark.value) continue;
          const best = highest.get(ws);
          if (best === undefined || b.price > best) highest.set(ws, b.price);
        }
        const wm = watermark.advance();
        let out = 0;
        for (const ws of highest.keys()) {
          if (ws + Q7_SIZE_MS > wm) continue;
          out++;
          highest.delete(ws);
        }
        return out;
      };
    },
  },
];
