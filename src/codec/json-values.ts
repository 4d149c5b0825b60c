import { Decimal } from '../common/decimal.js';
import { isDecimalType } from '../common/decimal-type.js';
import { DataType, someNestedType, Value } from '../common/schema.js';
import { ownValue, setField } from './fields.js';

/**
 * Values as JSON writes them, shared by the json file sink and `to_json`: timestamps as ISO-8601 UTC
 * text (`2024-01-01T00:00:00.000Z`, Spark's default JSON timestampFormat), dates as `yyyy-MM-dd`,
 * binary as base64 text, at any depth of structs, arrays and maps.
 */

export function timeText(v: Value, date: boolean): string {
  if (typeof v !== 'number') return String(v);
  const iso = isoOf(v);
  return date ? iso.slice(0, 10) : iso;
}

/**
 * Output rows of one batch mostly share a few window bounds, read alternately (start, end): two
 * remembered texts save a Date and its formatting per value.
 */
const recentMs = [NaN, NaN];
const recentIso = ['', ''];
let nextSlot = 0;

function isoOf(ms: number): string {
  if (ms === recentMs[0]) return recentIso[0]!;
  if (ms === recentMs[1]) return recentIso[1]!;
  const iso = new Date(ms).toISOString();
  recentMs[nextSlot] = ms;
  recentIso[nextSlot] = iso;
  nextSlot ^= 1;
  return iso;
}

export function base64Of(v: Value): string {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : String(v);
}

/** True when a nested type holds values written as text: timestamps, dates, binary. */
export function hasTextEncodedValues(t: DataType): boolean {
  return someNestedType(t, (a) => a === 'timestamp' || a === 'date' || a === 'binary');
}

/** A nested value with its timestamps and dates turned into text, ready for JSON.stringify. */
export function withTextValues(v: Value, t: DataType): Value {
  if (v === null || v === undefined) return null;
  if (typeof t === 'string') return t === 'timestamp' || t === 'date' ? timeText(v, t === 'date') : t === 'binary' ? base64Of(v) : v;
  if (t.kind === 'array') return (v as readonly Value[]).map((e) => withTextValues(e, t.element));
  const obj = v as Record<string, Value>;
  const out: Record<string, Value> = {};
  if (t.kind === 'map') {
    for (const key of Object.keys(obj)) setField(out, key, withTextValues(ownValue(obj, key) ?? null, t.value));
    return out;
  }
  for (const f of t.fields) setField(out, f.name, withTextValues(ownValue(obj, f.name) ?? null, f.type));
  return out;
}


/**
 * JSON.stringify's replacer for what JSON lacks: non-finite doubles become the strings `NaN`, `Infinity`,
 * `-Infinity`, and a bigint its digits (JSON.stringify throws on one, which must not turn a report of
 * a bad row into a crash).
 */
export function nonFiniteAsText(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

/** True when a type holds decimals at some depth. */
export function hasDecimals(t: DataType): boolean {
  return someNestedType(t, isDecimalType);
}

/**
 * The JSON text of `v`, a value of type `t` (Spark's to_json). A decimal is written as a JSON number
 * with all its digits (`12.50`), as Spark writes one; JSON.stringify alone would quote it.
 */
export function valueJson(v: Value, t: DataType): string {
  if (!hasDecimals(t)) return JSON.stringify(withTextValues(v, t), nonFiniteAsText);
  if (v === null || v === undefined) return 'null';
  // An atomic type holding decimals is a decimal type.
  if (typeof t === 'string') return String(v);
  if (t.kind === 'array') return `[${(v as readonly Value[]).map((e) => valueJson(e, t.element)).join(',')}]`;
  const obj = v as Record<string, Value>;
  const members = t.kind === 'map'
    ? Object.keys(obj).map((key) => `${JSON.stringify(key)}:${valueJson(ownValue(obj, key) ?? null, t.value)}`)
    : t.fields.map((f) => `${JSON.stringify(f.name)}:${valueJson(ownValue(obj, f.name) ?? null, f.type)}`);
  return `{${members.join(',')}}`;
}

/**
 * A value that went through JSON.stringify and JSON.parse (a write-ahead log of rows) with its decimals
 * back: JSON.stringify wrote each as its exact text, so it reads back with the same digits and scale.
 */
export function withDecimalsRevived(v: unknown, t: DataType): Value {
  if (v === null || v === undefined) return null;
  if (typeof t === 'string') return isDecimalType(t) && typeof v === 'string' ? Decimal.parse(v) : v as Value;
  if (!hasDecimals(t)) return v as Value;
  if (t.kind === 'array') return (v as readonly unknown[]).map((e) => withDecimalsRevived(e, t.element));
  const obj = v as Record<string, unknown>;
  const out: Record<string, Value> = {};
  if (t.kind === 'map') for (const key of Object.keys(obj)) setField(out, key, withDecimalsRevived(ownValue(obj, key), t.value));
  else for (const f of t.fields) setField(out, f.name, withDecimalsRevived(ownValue(obj, f.name), f.type));
  return out;
}
