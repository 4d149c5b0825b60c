import { Decimal } from '../common/decimal.js';
import { decimalParams, DecimalType, isDecimalType } from '../common/decimal-type.js';
import { AtomicType, DataType, Row, Schema, Value } from '../common/schema.js';

/**
 * The values each type admits, as Spark defines them: TIMESTAMP and DATE from 0001-01-01 to
 * 9999-12-31 (UTC), INT 32-bit integers, BIGINT whole numbers a JavaScript number holds exactly (2^53).
 * Sources refuse values outside; a query can still compute them (timestamp arithmetic, an overflowing
 * sum), so sinks check what they write.
 */
export const MIN_TIME_MS = -62_135_596_800_000; // 0001-01-01T00:00:00.000Z
export const MAX_TIME_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** Why a value cannot be written, or null when it can. */
export type ValueCheck = (v: Value) => string | null;

export interface RowProblem {
  /** The column, with the path inside it for a nested value (`window.start`, `tags[2]`). */
  readonly column: string;
  readonly reason: string;
}

export type RowCheck = (row: Row) => RowProblem | null;

function describe(v: Value): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(v);
}

const DOMAIN: Partial<Record<AtomicType, ValueCheck>> = {
  timestamp: (v) => (typeof v === 'number' && v >= MIN_TIME_MS && v <= MAX_TIME_MS ? null
    : `${describe(v)} (epoch ms) is outside the TIMESTAMP range 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z`),
  date: (v) => (typeof v === 'number' && v >= MIN_TIME_MS && v <= MAX_TIME_MS ? null
    : `${describe(v)} (epoch ms) is outside the DATE range 0001-01-01 to 9999-12-31`),
  integer: (v) => (Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31 ? null
    : `${describe(v)} is not a 32-bit integer (INT)`),
  // Beyond 2^53 a JavaScript number may already have been rounded (a sum, a product): refused, never written rounded.
  long: (v) => (Number.isSafeInteger(v) ? null
    : `${describe(v)} is outside the exact LONG range −(2^53−1) … 2^53−1, where it may have been rounded`),
};

/** A DECIMAL(p,s) column holds decimals that fit p digits at scale s (a row built by user code could hold anything). */
function decimalCheck(type: DecimalType): ValueCheck {
  const { precision, scale } = decimalParams(type);
  return (v) => (v instanceof Decimal && v.toPrecision(precision, scale) !== null ? null
    : `${v instanceof Decimal ? v.toString() : describe(v)} is not a ${type.toUpperCase()} value (at most ${precision - scale} ` +
      `digits before the point${v instanceof Decimal ? '' : '; build one with Decimal.parse(\'12.34\')'})`);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** For sinks that write text as UTF-8 bytes (CSV, PostgreSQL): a lone UTF-16 surrogate has no UTF-8 form. */
export const wellFormedText: ValueCheck = (v) => (typeof v === 'string' && LONE_SURROGATE.test(v)
  ? `${describe(v)} is not valid Unicode (it holds a lone UTF-16 surrogate), so it has no UTF-8 form` : null);

type PathCheck = (v: Value, path: string) => RowProblem | null;

function pathCheck(type: DataType, textCheck: ValueCheck | null): PathCheck | null {
  if (typeof type === 'string') {
    const check = type === 'string' ? textCheck : isDecimalType(type) ? decimalCheck(type) : DOMAIN[type];
    if (!check) return null;
    return (v, path) => {
      const reason = check(v);
      return reason === null ? null : { column: path, reason };
    };
  }
  if (type.kind === 'map') {
    const inner = pathCheck(type.value, textCheck);
    if (!inner) return null;
    return (v, path) => {
      const map = v as Readonly<Record<string, Value>>;
      for (const key of Object.keys(map)) {
        const item = map[key]!;
        const problem = item === null ? null : inner(item, `${path}[${JSON.stringify(key)}]`);
        if (problem) return problem;
      }
      return null;
    };
  }
  if (type.kind === 'array') {
    const element = pathCheck(type.element, textCheck);
    if (!element) return null;
    return (v, path) => {
      const items = v as readonly Value[];
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        const problem = item === null ? null : element(item, `${path}[${i}]`);
        if (problem) return problem;
      }
      return null;
    };
  }
  const fields = type.fields.flatMap((f) => {
    const check = pathCheck(f.type, textCheck);
    return check ? [{ name: f.name, check }] : [];
  });
  if (fields.length === 0) return null;
  return (v, path) => {
    const obj = v as Readonly<Record<string, Value>>;
    for (const { name, check } of fields) {
      const inner = obj[name];
      const problem = inner === null || inner === undefined ? null : check(inner, `${path}.${name}`);
      if (problem) return problem;
    }
    return null;
  };
}

/**
 * The check of a row against its types' domains, plus `textCheck` on every string (a sink's own limits);
 * null when no column of the schema can hold a value outside what the sink writes, so the sink skips
 * the pass. Nulls always pass: NOT NULL is the sink's own concern.
 */
export function compileRowCheck(schema: Schema, textCheck: ValueCheck | null = null): RowCheck | null {
  const columns = schema.flatMap((f) => {
    const check = pathCheck(f.type, textCheck);
    return check ? [{ name: f.name, check }] : [];
  });
  if (columns.length === 0) return null;
  return (row) => {
    for (const { name, check } of columns) {
      const v = row[name];
      const problem = v === null || v === undefined ? null : check(v, name);
      if (problem) return problem;
    }
    return null;
  };
}
