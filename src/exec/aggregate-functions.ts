import { Value } from '../common/schema.js';
import { AggregateFunction } from '../plan/expressions.js';

/** A group's state: its grouping values, then each aggregate's slots, then the batch id that last changed it. */
export type GroupEntry = unknown[];

/**
 * How each aggregate keeps its running value in slots of a group entry. Update and merge are
 * JavaScript snippets the compiler inlines into the aggregation loop (`e`: the entry, `o`: another
 * entry merged into it, `v`: the input value, already null-normalized); the result is read once
 * per emitted row, so it stays a plain function.
 */
export interface AggregateImpl {
  readonly slots: number;
  /** Initial slot values as JS source (evaluated per new group, so `new Set()` is per group). */
  readonly init: readonly string[];
  update(s: number, v: string): string;
  merge(s: number): string;
  result(e: GroupEntry, s: number): Value;
  /** Slots holding a Set, which the state codec turns into an array. */
  readonly setSlot?: boolean;
}

const addNullable = (s: number, v: string): string => `if (${v} !== null) e[${s}] = e[${s}] === null ? ${v} : e[${s}] + ${v};`;
const extreme = (op: '<' | '>') => ({
  slots: 1, init: ['null'],
  update: (s: number, v: string) => `if (${v} !== null && (e[${s}] === null || ${v} ${op} e[${s}])) e[${s}] = ${v};`,
  merge: (s: number) => `if (o[${s}] !== null && (e[${s}] === null || o[${s}] ${op} e[${s}])) e[${s}] = o[${s}];`,
  result: (e: GroupEntry, s: number) => e[s] as Value,
});

export const AGGREGATES: Readonly<Record<AggregateFunction, AggregateImpl>> = {
  count: {
    slots: 1, init: ['0'],
    update: (s, v) => (v === 'ROW' ? `e[${s}]++;` : `if (${v} !== null) e[${s}]++;`),
    merge: (s) => `e[${s}] += o[${s}];`,
    result: (e, s) => e[s] as number,
  },
  sum: {
    slots: 1, init: ['null'], update: addNullable, merge: (s) => addNullable(s, `o[${s}]`),
    result: (e, s) => e[s] as Value,
  },
  avg: {
    slots: 2, init: ['0', '0'],
    update: (s, v) => `if (${v} !== null) { e[${s}] += ${v}; e[${s + 1}]++; }`,
    merge: (s) => `e[${s}] += o[${s}]; e[${s + 1}] += o[${s + 1}];`,
    result: (e, s) => ((e[s + 1] as number) === 0 ? null : (e[s] as number) / (e[s + 1] as number)),
  },
  min: extreme('<'),
  max: extreme('>'),
  countDistinct: {
    slots: 1, init: ['new Set()'], setSlot: true,
    update: (s, v) => `if (${v} !== null) e[${s}].add(${v});`,
    merge: (s) => `for (const x of o[${s}]) e[${s}].add(x);`,
    result: (e, s) => (e[s] as Set<Value>).size,
  },
  // Spark's first/last keep nulls (ignoreNulls = false): the first row's value, even if null.
  first: {
    slots: 2, init: ['false', 'null'],
    update: (s, v) => `if (e[${s}] === false) { e[${s}] = true; e[${s + 1}] = ${v}; }`,
    merge: (s) => `if (e[${s}] === false) { e[${s}] = o[${s}]; e[${s + 1}] = o[${s + 1}]; }`,
    result: (e, s) => e[s + 1] as Value,
  },
  last: {
    slots: 2, init: ['false', 'null'],
    update: (s, v) => `e[${s}] = true; e[${s + 1}] = ${v};`,
    merge: (s) => `if (o[${s}] === true) { e[${s}] = true; e[${s + 1}] = o[${s + 1}]; }`,
    result: (e, s) => e[s + 1] as Value,
  },
  collectList: {
    slots: 1, init: ['[]'],
    update: (s, v) => `if (${v} !== null) e[${s}].push(${v});`,
    merge: (s) => `for (const x of o[${s}]) e[${s}].push(x);`,
    result: (e, s) => [...(e[s] as Value[])],
  },
};
