/**
 * A NEXMark event generator for weir: persons, auctions and bids of an online auction site, in the
 * benchmark's proportions (per 50 events: 1 person, 3 auctions, 46 bids), deterministic for a seed.
 * Half the bids go to a "hot" auction and a quarter come from a "hot" bidder, the rest spread over
 * the most recent auctions and people, so windowed queries see skewed keys as in the original.
 * Times are epoch milliseconds advancing at `eventsPerSecond` of event time.
 */
export type Person = {
  id: number; name: string; emailAddress: string; creditCard: string; city: string; state: string;
  dateTime: number; extra: string;
};
export type Auction = {
  id: number; itemName: string; description: string; initialBid: number; reserve: number; dateTime: number;
  expires: number; seller: number; category: number; extra: string;
};
export type Bid = { auction: number; bidder: number; price: number; channel: string; url: string; dateTime: number; extra: string };

export const PERSON_SCHEMA = 'id LONG, name STRING, emailAddress STRING, creditCard STRING, city STRING, state STRING, ' +
  'dateTime TIMESTAMP, extra STRING';
export const AUCTION_SCHEMA = 'id LONG, itemName STRING, description STRING, initialBid LONG, reserve LONG, ' +
  'dateTime TIMESTAMP, expires TIMESTAMP, seller LONG, category LONG, extra STRING';
export const BID_SCHEMA = 'auction LONG, bidder LONG, price LONG, channel STRING, url STRING, dateTime TIMESTAMP, extra STRING';

const PROPORTION = 50;
const PERSONS_PER_PROPORTION = 1;
const AUCTIONS_PER_PROPORTION = 3;
/** Bids pick among this many most recent auctions / people when not hot. */
const ACTIVE = 1000;
const HOT_AUCTION_SHARE = 0.5;
const HOT_BIDDER_SHARE = 0.25;
const FIRST_ID = 1000;
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'] as const;
const CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];

/** mulberry32: a small, fast, seedable PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface NexmarkEvents {
  readonly persons: Person[];
  readonly auctions: Auction[];
  readonly bids: Bid[];
}

export interface NexmarkConfig {
  readonly seed: number;
  readonly firstEventTime: number;
  readonly eventsPerSecond: number;
}

export const DEFAULT_NEXMARK: NexmarkConfig = { seed: 42, firstEventTime: Date.UTC(2024, 0, 1), eventsPerSecond: 10_000 };

/** Generates events until `bids` bids exist (persons and auctions in proportion). */
export function generateNexmark(bids: number, config: NexmarkConfig = DEFAULT_NEXMARK): NexmarkEvents {
  const random = prng(config.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const out: NexmarkEvents = { persons: [], auctions: [], bids: [] };
  const recent = (count: number, hotShare: number): number => {
    const last = count - 1;
    // Hot ids are the latest multiple of 10: a handful of ids takes `hotShare` of the traffic.
    if (random() < hotShare) return FIRST_ID + last - (last % 10);
    return FIRST_ID + Math.max(0, last - Math.floor(random() * ACTIVE));
  };
  for (let n = 0; out.bids.length < bids; n++) {
    const dateTime = config.firstEventTime + Math.floor((n * 1000) / config.eventsPerSecond);
    const slot = n % PROPORTION;
    if (slot < PERSONS_PER_PROPORTION) {
      const id = FIRST_ID + out.persons.length;
      const name = `${pick(FIRST_NAMES)} ${pick(LAST_NAMES)}`;
      out.persons.push({
        id, name, emailAddress: `${name.replace(' ', '.').toLowerCase()}@example.com`,
        creditCard: Array.from({ length: 4 }, () => String(1000 + Math.floor(random() * 9000))).join(' '),
        city: pick(CITIES), state: pick(STATES), dateTime, extra: '',
      });
    } else if (slot < PERSONS_PER_PROPORTION + AUCTIONS_PER_PROPORTION) {
      const initialBid = Math.round(Math.pow(10, random() * 6) * 100);
      out.auctions.push({
        id: FIRST_ID + out.auctions.length, itemName: `item-${out.auctions.length}`, description: 'a thing',
        initialBid, reserve: initialBid + Math.round(random() * initialBid), dateTime,
        expires: dateTime + 10_000 + Math.floor(random() * 20_000), seller: recent(out.persons.length, HOT_BIDDER_SHARE),
        category: 10 + Math.floor(random() * 5), extra: '',
      });
    } else {
      const channel = pick(CHANNELS);
      out.bids.push({
        auction: recent(out.auctions.length, HOT_AUCTION_SHARE), bidder: recent(out.persons.length, HOT_BIDDER_SHARE),
        price: Math.round(Math.pow(10, random() * 6) * 100), channel,
        url: `https://www.nexmark.com/${channel.toLowerCase()}/item.htm?query=1`, dateTime, extra: '',
      });
    }
  }
  return out;
}
