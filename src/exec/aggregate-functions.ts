import { Decimal, decimalArithmetic, pow10 } from '../common/decimal.js';
import { arithmeticType, decimalParams, DecimalType, isDecimalType, LONG_DECIMAL, sumType, avgType } from '../common/decimal-type.js';
import { DataType, Value } from '../common/schema.js';
import { AggregateFunction } from '../plan/expressions.js';
import { StateValueCodec } from '../state/state-store.js';
import { DEFAULT_ACCURACY, DEFAULT_RSD, hllPrecision } from '../plan/aggregate-parameters.js';
import { hllEstimate } from './hyperloglog.js';
import { quantileQuery } from './quantile-summary.js';

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
  /** `by`: the local holding the second input (max_by/min_by's ordering). */
  update(s: number, v: string, by?: string): string;
  merge(s: number): string;
  result(e: GroupEntry, s: number): Value;
  /** How the first slot is written to the checkpoint when it is not plain data (a Set, registers). */
  readonly slotCodec?: StateValueCodec<unknown>;
}

const setCodec: StateValueCodec<unknown> = {
  encode: (v) => [...(v as Set<Value>)],
  decode: (d) => new Set(d as Value[]),
};

/** A copy: a decoded buffer may be a view into the checkpoint file it was read from. */
const registersCodec: StateValueCodec<unknown> = {
  encode: (v) => Uint8Array.from(v as Uint8Array),
  decode: (d) => Uint8Array.from(d as Uint8Array),
};

/** `a op b` for two non-null values of one type; strings by UTF-8 bytes as in Spark. */
const ordered = (a: string, op: '<' | '>', b: string): string =>
  `(typeof ${a} === 'string' ? rt.compareText(${a}, ${b}) ${op} 0 : typeof ${a} === 'object' ? rt.compare(${a}, ${b}) ${op} 0 : ${a} ${op} ${b})`;

/**
 * Count, mean and sum of squared differences from the mean, updated and merged as Spark's
 * CentralMomentAgg does (Welford's update, Chan's merge), so results agree with Spark's to the last bits.
 */
const moments = (result: (n: number, m2: number) => number | null): AggregateImpl => ({
  slots: 3, init: ['0', '0', '0'],
  update: (s, v) => `if (${v} !== null) { const n = e[${s}] + 1, d = ${v} - e[${s + 1}], dn = d / n; ` +
    `e[${s}] = n; e[${s + 1}] += dn; e[${s + 2}] += d * (d - dn); }`,
  merge: (s) => `if (o[${s}] > 0) { const n1 = e[${s}], n2 = o[${s}], n = n1 + n2, d = o[${s + 1}] - e[${s + 1}], dn = d / n; ` +
    `e[${s}] = n; e[${s + 1}] += dn * n2; e[${s + 2}] += o[${s + 2}] + d * dn * n1 * n2; }`,
  result: (e, s) => ((e[s] as number) === 0 ? null : result(e[s] as number, e[s + 2] as number)),
});
// Spark 3's sample statistics of a single value are null (not NaN, its legacy result).
const sampleVariance = (n: number, m2: number): number | null => (n === 1 ? null : m2 / (n - 1));
const populationVariance = (n: number, m2: number): number => m2 / n;
const sampleStddev = (n: number, m2: number): number | null => (n === 1 ? null : Math.sqrt(m2 / (n - 1)));

/** The value at the extreme ordering; a null ordering is skipped, the first of equal orderings kept (as Spark). */
const valueBy = (op: '<' | '>'): AggregateImpl => ({
  slots: 2, init: ['null', 'null'],
  update: (s, v, by) => `if (${by} !== null && (e[${s + 1}] === null || ${ordered(by!, op, `e[${s + 1}]`)})) ` +
    `{ e[${s}] = ${v}; e[${s + 1}] = ${by}; }`,
  merge: (s) => `if (o[${s + 1}] !== null && (e[${s + 1}] === null || ${ordered(`o[${s + 1}]`, op, `e[${s + 1}]`)})) ` +
    `{ e[${s}] = o[${s}]; e[${s + 1}] = o[${s + 1}]; }`,
  result: (e, s) => e[s] as Value,
});

/** bool_and / bool_or: null until a non-null value arrives. */
const logical = (op: '&&' | '||'): AggregateImpl => ({
  slots: 1, init: ['null'],
  update: (s, v) => `if (${v} !== null) e[${s}] = e[${s}] === null ? ${v} : e[${s}] ${op} ${v};`,
  merge: (s) => `if (o[${s}] !== null) e[${s}] = e[${s}] === null ? o[${s}] : e[${s}] ${op} o[${s}];`,
  result: (e, s) => e[s] as Value,
});

/** approx_count_distinct with relative standard deviation `rsd` (Spark's default 0.05). */
function approxCountDistinct(rsd: number): AggregateImpl {
  const registers = 2 ** hllPrecision(rsd);
  return {
    slots: 1, init: [`new Uint8Array(${registers})`], slotCodec: registersCodec,
    update: (s, v) => `if (${v} !== null) rt.hllAdd(e[${s}], ${v});`,
    merge: (s) => `rt.hllMerge(e[${s}], o[${s}]);`,
    result: (e, s) => hllEstimate(e[s] as Uint8Array),
  };
}

/** percentile_approx: a quantile summary with relative error 1/accuracy; one value, or an array for an array of percentages. */
function percentileApprox(percentage: number | readonly number[], accuracy: number): AggregateImpl {
  const error = 1 / accuracy;
  const quantiles = typeof percentage === 'number' ? [percentage] : percentage;
  return {
    slots: 3, init: ['0', '[]', '[]'],
    update: (s, v) => `if (${v} !== null) rt.quantileAdd(e, ${s}, ${v}, ${error});`,
    merge: (s) => `rt.quantileMerge(e, o, ${s}, ${error});`,
    result: (e, s) => {
      // Null without values, for an array of percentages too (as Spark).
      const values = quantileQuery(e, s, quantiles, error);
      return values === null ? null : typeof percentage === 'number' ? values[0]! : values;
    },
  };
}

/**
 * sum of DECIMAL(p,s): exact, in DECIMAL(p+10,s). A running sum that outgrows that precision makes the
 * result null for good (Spark's non-ANSI overflow), also if later values would bring it back. Slots:
 * the sum's unscaled bigint (null before the first value; a bigint rather than a Decimal saves an object
 * per row, and the checkpoint holds it as a Decimal), the overflow flag, and for avg the count.
 */
function decimalSum(input: DecimalType, withCount: boolean): AggregateImpl {
  const { precision, scale } = decimalParams(sumType(input));
  const limit = `${pow10(precision)}n`;
  const add = (s: number, addend: string, n: string): string => `{ const t = (e[${s}] ?? 0n) + ${addend}; ` +
    `if (t >= ${limit} || t <= -${limit}) e[${s + 1}] = true; else e[${s}] = t;${withCount ? ` e[${s + 2}] += ${n};` : ''} }`;
  const sumOf = (e: GroupEntry, s: number): Decimal | null =>
    (e[s + 1] === true || e[s] === null ? null : new Decimal(e[s] as bigint, scale));
  return {
    slots: withCount ? 3 : 2, init: withCount ? ['null', 'false', '0'] : ['null', 'false'],
    slotCodec: {
      encode: (v) => (v === null ? null : new Decimal(v as bigint, scale)),
      decode: (d) => (d === null ? null : (d as Decimal).unscaled),
    },
    update: (s, v) => `if (${v} !== null && !e[${s + 1}]) ` +
      add(s, `(${v}.scale === ${scale} ? ${v}.unscaled : rt.unscaledAt(${v}, ${scale}))`, '1'),
    merge: (s) => `if (o[${s + 1}]) e[${s + 1}] = true; else if (o[${s}] !== null && !e[${s + 1}]) ${add(s, `o[${s}]`, `o[${s + 2}]`)}`,
    result: withCount ? (e, s) => decimalAverage(input, sumOf(e, s), e[s + 2] as number) : sumOf,
  };
}

/**
 * avg of DECIMAL(p,s) as Spark evaluates it: the sum divided by the count as decimals (the division
 * typed by DecimalPrecision), then rounded half up to DECIMAL(p+4, s+4).
 */
function decimalAverage(input: DecimalType, sum: Decimal | null, count: number): Decimal | null {
  if (sum === null || count === 0) return null;
  const quotientType = decimalParams(arithmeticType('/', sumType(input), LONG_DECIMAL));
  const quotient = decimalArithmetic('/', sum, Decimal.ofInteger(count), quotientType.precision, quotientType.scale);
  const { precision, scale } = decimalParams(avgType(input));
  return quotient === null ? null : quotient.toPrecision(precision, scale);
}

/**
 * count(DISTINCT) and collect_set of decimals: a Set would compare the objects, so the distinct values
 * are kept by their key text (1.0 and 1.00 are one value).
 */
function distinctDecimals(collect: boolean): AggregateImpl {
  return {
    slots: 1, init: ['new Map()'],
    slotCodec: {
      encode: (v) => [...(v as Map<string, Decimal>).values()],
      decode: (d) => new Map((d as Decimal[]).map((x) => [x.keyText(), x])),
    },
    update: (s, v) => `if (${v} !== null) e[${s}].set(${v}.keyText(), ${v});`,
    merge: (s) => `for (const [k, x] of o[${s}]) e[${s}].set(k, x);`,
    result: collect ? (e, s) => [...(e[s] as Map<string, Decimal>).values()] : (e, s) => (e[s] as Map<string, Decimal>).size,
  };
}

/** The implementation of `fn` with its literal parameters (checked by the analyzer already) over input of type `input`. */
export function aggregateImpl(fn: AggregateFunction, params: readonly Value[] = [], input?: DataType): AggregateImpl {
  if ((fn === 'sum' || fn === 'avg') && isDecimalType(input)) return decimalSum(input, fn === 'avg');
  if ((fn === 'countDistinct' || fn === 'collectSet') && isDecimalType(input)) return distinctDecimals(fn === 'collectSet');
  if (fn === 'approxCountDistinct') return approxCountDistinct((params[0] as number | undefined) ?? DEFAULT_RSD);
  if (fn === 'percentileApprox') {
    return percentileApprox(params[0] as number | readonly number[], (params[1] as number | undefined) ?? DEFAULT_ACCURACY);
  }
  return AGGREGATES[fn];
}

const addNullable = (s: number, v: string): string => `if (${v} !== null) e[${s}] = e[${s}] === null ? ${v} : e[${s}] + ${v};`;
const extreme = (op: '<' | '>') => ({
  slots: 1, init: ['null'],
  update: (s: number, v: string) => `if (${v} !== null && (e[${s}] === null || ${ordered(v, op, `e[${s}]`)})) e[${s}] = ${v};`,
  merge: (s: number) => `if (o[${s}] !== null && (e[${s}] === null || ${ordered(`o[${s}]`, op, `e[${s}]`)})) e[${s}] = o[${s}];`,
  result: (e: GroupEntry, s: number) => e[s] as Value,
});

const AGGREGATES: Readonly<Record<Exclude<AggregateFunction, 'approxCountDistinct' | 'percentileApprox'>, AggregateImpl>> = {
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
    slots: 1, init: ['new Set()'], slotCodec: setCodec,
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
  collectSet: {
    slots: 1, init: ['new Set()'], slotCodec: setCodec,
    update: (s, v) => `if (${v} !== null) e[${s}].add(${v});`,
    merge: (s) => `for (const x of o[${s}]) e[${s}].add(x);`,
    result: (e, s) => [...(e[s] as Set<Value>)],
  },
  // Spark's stddev and variance are the sample statistics.
  stddev: moments(sampleStddev),
  stddevSamp: moments(sampleStddev),
  stddevPop: moments((n, m2) => Math.sqrt(populationVariance(n, m2))),
  variance: moments(sampleVariance),
  varSamp: moments(sampleVariance),
  varPop: moments(populationVariance),
  maxBy: valueBy('>'),
  minBy: valueBy('<'),
  countIf: {
    slots: 1, init: ['0'],
    update: (s, v) => `if (${v} === true) e[${s}]++;`,
    merge: (s) => `e[${s}] += o[${s}];`,
    result: (e, s) => e[s] as number,
  },
  boolAnd: logical('&&'),
  boolOr: logical('||'),
};
