/** W6/W7's query: count and sum per short string key, over rows generated from their position. */
import { count, sum } from '../../src/index.js';
import type { DataFrame } from '../../src/index.js';
import { Row } from '../../src/common/schema.js';

export const COUNTER_SCHEMA = 'key STRING, value LONG';

/** Row i: key `k<i mod keys>`, so rows [n·keys, (n+1)·keys) touch every key once. */
export function counterRow(i: number, keys: number): Row {
  return { key: `k${i % keys}`, value: i % 1000 };
}

export function countAndSum(df: DataFrame): DataFrame {
  return df.groupBy('key').agg(count('*').as('count'), sum('value').as('sum'));
}

/** Messages from bench/child.ts to the suite. */
export type ChildMessage =
  | { readonly kind: 'built'; readonly stateRows: number }
  | { readonly kind: 'firstCommit'; readonly rssBytes: number }
  | { readonly kind: 'batches'; readonly commitMs: readonly number[]; readonly batchMs: readonly number[]; readonly rssBytes: number }
  | { readonly kind: 'memory'; readonly heapBytes: number; readonly keys: number }
  | { readonly kind: 'error'; readonly message: string };
