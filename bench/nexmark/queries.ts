/**
 * NEXMark q0, q1, q2, q5, q7 over the bid stream, each in weir and by hand (the baseline). q5 and q7
 * are the benchmark's own queries, each one weir query with chained stateful operators (Spark 3.5's
 * rules): q5 counts bids per auction per sliding window, takes the largest count per window and joins
 * back to the auctions that have it; q7 takes the highest price per tumbling window and joins back to
 * the bids that carry it.
 */
import { col, count, max, window, windowTime } from '../../src/index.js';
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
    build: (bids) => {
      const counts = bids.withWatermark('dateTime', '10 seconds')
        .groupBy(window(col('dateTime'), '10 seconds', '2 seconds'), col('auction')).agg(count('*').as('num'));
      const maxima = counts.groupBy(col('window').as('maxWindow')).agg(max('num').as('maxn'));
      return counts.join(maxima, col('window').equalTo(col('maxWindow')).and(col('num').geq(col('maxn'))))
        .select(col('auction'), col('num'), col('window.start').as('starttime'), col('window.end').as('endtime'));
    },
    consume: (rows) => rows.length,
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
    name: 'q7', description: 'highest bid (10 s tumbling window)', mode: 'append',
    build: (bids) => {
      const timed = bids.withWatermark('dateTime', '10 seconds');
      const maxima = timed.groupBy(window(col('dateTime'), '10 seconds')).agg(max('price').as('maxprice'))
        .select(windowTime(col('window')).as('windowTime'), col('maxprice'));
      // The benchmark's B.dateTime BETWEEN window_end - 10 s AND window_end, with window_time = window_end - 1 ms.
      return timed.join(maxima, col('price').equalTo(col('maxprice'))
        .and(col('dateTime').gt(col('windowTime').minus(Q7_SIZE_MS))).and(col('dateTime').leq(col('windowTime').plus(1))))
        .select('auction', 'price', 'bidder', 'dateTime', 'extra');
    },
    consume: (rows) => rows.length,
    hand: () => {
      // Per window, its highest price and the prices of its bids; a bid at exactly a window's end (the next
      // window's start) matches that window too, as the benchmark's BETWEEN includes both ends.
      const windows = new Map<number, { highest: number; prices: number[]; atStart: number[] }>();
      const watermark = new Watermark();
      return (bids) => {
        for (const b of bids) {
          watermark.see(b.dateTime);
          const ws = windowStart(b.dateTime, Q7_SIZE_MS);
          if (ws + Q7_SIZE_MS <= watermark.value) continue;
          let w = windows.get(ws);
          if (w === undefined) windows.set(ws, w = { highest: -Infinity, prices: [], atStart: [] });
          w.highest = Math.max(w.highest, b.price);
          w.prices.push(b.price);
          if (b.dateTime === ws) w.atStart.push(b.price);
        }
        const wm = watermark.advance();
        let out = 0;
        for (const [ws, w] of [...windows].sort((a, b) => a[0] - b[0])) {
          if (ws + Q7_SIZE_MS > wm) continue;
          for (const p of w.prices) if (p === w.highest) out++;
          for (const p of windows.get(ws + Q7_SIZE_MS)?.atStart ?? []) if (p === w.highest) out++;
          windows.delete(ws);
        }
        return out;
      };
    },
  },
];
