import { isDecimalType } from '../common/decimal-type.js';
import { AnalysisError } from '../common/errors.js';
import { DataType, isWindowType, typeToString, Value } from '../common/schema.js';
import { COLLECTION_FUNCTIONS } from './collection-functions.js';
import { likeRegex } from './like-pattern.js';

/**
 * The scalar functions expressions may call. Each entry gives the analyzer its type rule and the
 * compiler the JavaScript it inlines; keeping both in one table means a function cannot be typed
 * one way and run another. `emit` receives already-evaluated, non-null argument variables unless
 * `handlesNull` is set; `rt` in emitted code is the runtime helper object of exec/runtime.ts.
 */
export interface ScalarFunction {
  readonly sqlName: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  /** `literals` holds the arguments given as literals (undefined for the others). */
  resultType(args: readonly DataType[], literals: readonly (Value | undefined)[]): DataType;
  /** True when the function decides itself what a null argument means (otherwise: null in, null out). */
  readonly handlesNull?: boolean;
  /** `types` are the arguments' analyzed types (e.g. to print a double argument of a string function as Spark does). */
  emit(args: readonly string[], types: readonly DataType[]): string;
  /** Checks the arguments given as literals (undefined for the others) when the query is analyzed. */
  checkLiterals?(args: readonly (Value | undefined)[]): void;
}

const str = (): DataType => 'string';
const int = (): DataType => 'integer';
const dbl = (): DataType => 'double';
const bool = (): DataType => 'boolean';
const ts = (): DataType => 'timestamp';
const same = (args: readonly DataType[]): DataType => args[0] ?? 'string';

/** An argument of a string function as text: Spark casts other types implicitly (a double 43 is `43.0`). */
const text = (arg: string | undefined, type: DataType | undefined): string =>
  (type === 'string' ? arg! : type === 'integer' || type === 'long' ? `String(${arg})`
    : type === 'double' ? `rt.doubleText(${arg})` : `rt.toText(${arg}, ${JSON.stringify(type)})`);
const SPACE = "' '";

function fn(sqlName: string, minArgs: number, maxArgs: number, resultType: ScalarFunction['resultType'],
  emit: ScalarFunction['emit'], handlesNull = false): ScalarFunction {
  return { sqlName, minArgs, maxArgs, resultType, emit, handlesNull };
}

function windowTimeType([t]: readonly DataType[]): DataType {
  if (t === undefined || !isWindowType(t)) {
    throw new AnalysisError(`window_time needs a window column (the 'window' or 'session_window' a windowed aggregation ` +
      `outputs), got ${t === undefined ? 'nothing' : typeToString(t)}.`, 'TYPE_MISMATCH');
  }
  return 'timestamp';
}

const datePart = (name: string, method: string): ScalarFunction =>
  fn(name, 1, 1, int, ([t]) => `new Date(${t}).${method}()${method === 'getUTCMonth' ? ' + 1' : ''}`);

/**
 * Math functions that compute in doubles: a DECIMAL argument is converted to a double first (so
 * abs/round/floor/ceil of a decimal give doubles here, where Spark keeps a decimal).
 */
const DOUBLE_MATH = new Set(['abs', 'round', 'floor', 'ceil', 'sqrt', 'pow']);

/** The type function `fn` computes argument `t` in. */
export function argumentType(fn: string, t: DataType): DataType {
  return DOUBLE_MATH.has(fn) && isDecimalType(t) ? 'double' : t;
}

export const SCALAR_FUNCTIONS: Readonly<Record<string, ScalarFunction>> = {
  upper: fn('upper', 1, 1, str, ([s], [t]) => `${text(s, t)}.toUpperCase()`),
  lower: fn('lower', 1, 1, str, ([s], [t]) => `${text(s, t)}.toLowerCase()`),
  length: fn('length', 1, 1, int, ([s], [t]) => `rt.length(${text(s, t)})`),
  // Spark's trim(str, trimStr) (the function form of TRIM(BOTH trimStr FROM str)); spaces only by default.
  trim: fn('trim', 1, 2, str, ([s, c], [t, u]) => `rt.trim(${text(s, t)}, ${c ? text(c, u) : SPACE}, true, true)`),
  btrim: fn('btrim', 1, 2, str, ([s, c], [t, u]) => `rt.trim(${text(s, t)}, ${c ? text(c, u) : SPACE}, true, true)`),
  ltrim: fn('ltrim', 1, 2, str, ([s, c], [t, u]) => `rt.trim(${text(s, t)}, ${c ? text(c, u) : SPACE}, true, false)`),
  rtrim: fn('rtrim', 1, 2, str, ([s, c], [t, u]) => `rt.trim(${text(s, t)}, ${c ? text(c, u) : SPACE}, false, true)`),
  lpad: fn('lpad', 2, 3, str, ([s, n, p], [t, , u]) => `rt.pad(${text(s, t)}, ${n}, ${p ? text(p, u) : SPACE}, true)`),
  rpad: fn('rpad', 2, 3, str, ([s, n, p], [t, , u]) => `rt.pad(${text(s, t)}, ${n}, ${p ? text(p, u) : SPACE}, false)`),
  concat: fn('concat', 1, 64, str, (args, types) => args.map((a, i) => text(a, types[i])).join(' + ')),
  // Spark's substring is 1-based; position 0 behaves like 1.
  substring: fn('substring', 2, 3, str, ([s, p, n], [t]) => `rt.substring(${text(s, t)}, ${p}, ${n ?? 'Infinity'})`),
  contains: fn('contains', 2, 2, bool, ([s, x], [t, u]) => `${text(s, t)}.includes(${text(x, u)})`),
  startswith: fn('startswith', 2, 2, bool, ([s, x], [t, u]) => `${text(s, t)}.startsWith(${text(x, u)})`),
  endswith: fn('endswith', 2, 2, bool, ([s, x], [t, u]) => `${text(s, t)}.endsWith(${text(x, u)})`),
  like: {
    ...fn('like', 2, 2, bool, ([s, p], [t]) => `rt.likePattern(${p}).test(${text(s, t)})`),
    // An invalid pattern fails when the DataFrame is built, not in the middle of a batch.
    checkLiterals: ([, pattern]) => { if (typeof pattern === 'string') likeRegex(pattern); },
  },
  rlike: fn('rlike', 2, 2, bool, ([s, p], [t]) => `rt.regex(${p}).test(${text(s, t)})`),
  regexp_replace: fn('regexp_replace', 3, 3, str, ([s, p, r], [t, , u]) =>
    `${text(s, t)}.replace(rt.regexAll(${p}), ${text(r, u)})`),
  coalesce: fn('coalesce', 1, 64, same, (args) => `(${args.map((a) => `${a} ?? `).join('')}null)`, true),
  abs: fn('abs', 1, 1, same, ([x]) => `Math.abs(${x})`),
  round: fn('round', 1, 2, same, ([x, d]) => `rt.roundHalfUp(${x}, ${d ?? 0})`),
  floor: fn('floor', 1, 1, () => 'long', ([x]) => `Math.floor(${x})`),
  ceil: fn('ceil', 1, 1, () => 'long', ([x]) => `Math.ceil(${x})`),
  sqrt: fn('sqrt', 1, 1, dbl, ([x]) => `(${x} < 0 ? null : Math.sqrt(${x}))`),
  pow: fn('pow', 2, 2, dbl, ([x, y]) => `Math.pow(${x}, ${y})`),
  greatest: fn('greatest', 2, 64, same, (args) => `rt.extreme([${args.join(', ')}], 1)`, true),
  least: fn('least', 2, 64, same, (args) => `rt.extreme([${args.join(', ')}], -1)`, true),
  // The logged batch timestamp, so a re-run batch sees the same value (docs/ARCHITECTURE.md §1).
  current_timestamp: fn('current_timestamp', 0, 0, ts, () => 'ctx.batchTimestampMs', true),
  to_timestamp: fn('to_timestamp', 1, 1, ts, ([s]) => `rt.parseTimestamp(${s})`),
  unix_timestamp: fn('unix_timestamp', 1, 1, () => 'long', ([t]) => `Math.floor(${t} / 1000)`),
  // Spark's from_unixtime gives text, 'yyyy-MM-dd HH:mm:ss' (here in UTC); cast it to timestamp for a time value.
  from_unixtime: fn('from_unixtime', 1, 1, str, ([s]) => `rt.timestampText(Math.floor(${s}) * 1000)`),
  date_trunc: fn('date_trunc', 2, 2, ts, ([u, t]) => `rt.truncateTime(${u}, ${t})`),
  year: datePart('year', 'getUTCFullYear'),
  month: datePart('month', 'getUTCMonth'),
  dayofmonth: datePart('dayofmonth', 'getUTCDate'),
  hour: datePart('hour', 'getUTCHours'),
  minute: datePart('minute', 'getUTCMinutes'),
  second: datePart('second', 'getUTCSeconds'),
  // A window's event time, for the next stateful operator: its end minus 1 ms, the last instant inside it
  // at weir's millisecond resolution (Spark's window_time is the end minus 1 µs).
  window_time: fn('window_time', 1, 1, windowTimeType, ([w]) => `(${w}.end - 1)`),
  split: fn('split', 2, 2, () => ({ kind: 'array', element: 'string' }), ([s, p], [t]) => `${text(s, t)}.split(rt.regex(${p}))`),
  hash: fn('hash', 1, 64, int, (args) => `rt.hashValues([${args.join(', ')}])`, true),
  ...COLLECTION_FUNCTIONS,
};
