/**
 * Rows as columns for crossing between threads. Structured clone copies an object field by field and
 * costs ~3.7 µs per `{ ts, key, value }` row; a column of numbers in a Float64Array and a column of
 * strings as one joined string with end offsets cost ~0.6 µs per row, encode and decode included
 * (bench/candidates/thread-transfer.mjs). Columns the two kinds do not fit (nested values, binary,
 * mixed) go as plain value arrays, which structured clone copies as before. A decimal column goes as its
 * unscaled bigints and scales: structured clone keeps a bigint but not the Decimal class.
 */
import { literalKeyCode } from '../../codec/fields.js';
import { Decimal } from '../../common/decimal.js';
import { Row, Value } from '../../common/schema.js';

export type EncodedColumn =
  | { readonly kind: 'number'; readonly data: Float64Array; readonly nulls: Uint8Array | null }
  | { readonly kind: 'string'; readonly text: string; readonly ends: Uint32Array; readonly nulls: Uint8Array | null }
  | { readonly kind: 'boolean'; readonly data: Uint8Array }
  | { readonly kind: 'decimal'; readonly unscaled: (bigint | null)[]; readonly scales: Uint8Array }
  | { readonly kind: 'values'; readonly values: Value[] };

/** Rows of named columns; `names` in the order a decoded row holds its fields. */
export interface EncodedRows {
  readonly count: number;
  readonly names: readonly string[];
  readonly columns: readonly EncodedColumn[];
}

const BOOLEAN_NULL = 2;

/** Reads one field of every row; a name Object.prototype answers (`constructor`) is read as an own property only. */
function fieldValues(rows: readonly Row[], name: string): (Value | undefined)[] {
  const n = rows.length;
  const out = new Array<Value | undefined>(n);
  if (name in Object.prototype) for (let i = 0; i < n; i++) out[i] = Object.hasOwn(rows[i]!, name) ? rows[i]![name] : undefined;
  else for (let i = 0; i < n; i++) out[i] = rows[i]![name];
  return out;
}

function encodeColumn(rows: readonly Row[], name: string): EncodedColumn {
  const n = rows.length;
  const column = fieldValues(rows, name);
  let numbers = 0;
  let strings = 0;
  let booleans = 0;
  let decimals = 0;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = column[i];
    if (v === null || v === undefined) nulls++;
    else if (typeof v === 'number') numbers++;
    else if (typeof v === 'string') strings++;
    else if (typeof v === 'boolean') booleans++;
    else if (v instanceof Decimal) decimals++;
  }
  if (decimals + nulls === n && decimals > 0) {
    const unscaled = new Array<bigint | null>(n);
    const scales = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = column[i];
      unscaled[i] = v instanceof Decimal ? v.unscaled : null;
      scales[i] = v instanceof Decimal ? v.scale : 0;
    }
    return { kind: 'decimal', unscaled, scales };
  }
  if (numbers + nulls === n && numbers > 0) {
    const data = new Float64Array(n);
    const nullFlags = nulls > 0 ? new Uint8Array(n) : null;
    for (let i = 0; i < n; i++) {
      const v = column[i];
      if (typeof v === 'number') data[i] = v;
      else nullFlags![i] = 1;
    }
    return { kind: 'number', data, nulls: nullFlags };
  }
  if (strings + nulls === n && strings > 0) {
    const ends = new Uint32Array(n);
    const nullFlags = nulls > 0 ? new Uint8Array(n) : null;
    const parts = new Array<string>(n);
    let length = 0;
    for (let i = 0; i < n; i++) {
      const v = column[i];
      if (typeof v === 'string') {
        parts[i] = v;
        length += v.length;
      } else {
        parts[i] = '';
        nullFlags![i] = 1;
      }
      ends[i] = length;
    }
    return { kind: 'string', text: parts.join(''), ends, nulls: nullFlags };
  }
  if (booleans + nulls === n) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = column[i];
      data[i] = typeof v === 'boolean' ? Number(v) : BOOLEAN_NULL;
    }
    return { kind: 'boolean', data };
  }
  const values = new Array<Value>(n);
  for (let i = 0; i < n; i++) values[i] = column[i] ?? null;
  return { kind: 'values', values };
}

/** Encodes `rows` by the column `names` (a field a row lacks is null, as compiled code reads it). */
export function encodeRows(rows: readonly Row[], names: readonly string[]): EncodedRows {
  return { count: rows.length, names, columns: names.map((name) => encodeColumn(rows, name)) };
}

/** The buffers `postMessage` can move instead of copying. */
export function transferList(encoded: EncodedRows): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const c of encoded.columns) {
    if (c.kind === 'number') {
      buffers.push(c.data.buffer as ArrayBuffer);
      if (c.nulls) buffers.push(c.nulls.buffer as ArrayBuffer);
    } else if (c.kind === 'string') {
      buffers.push(c.ends.buffer as ArrayBuffer);
      if (c.nulls) buffers.push(c.nulls.buffer as ArrayBuffer);
    } else if (c.kind === 'boolean' || c.kind === 'decimal') {
      buffers.push((c.kind === 'boolean' ? c.data : c.scales).buffer as ArrayBuffer);
    }
  }
  return buffers;
}

function columnValues(c: EncodedColumn, count: number): Value[] {
  const out = new Array<Value>(count);
  switch (c.kind) {
    case 'number':
      for (let i = 0; i < count; i++) out[i] = c.nulls !== null && c.nulls[i] === 1 ? null : c.data[i]!;
      return out;
    case 'string': {
      let start = 0;
      for (let i = 0; i < count; i++) {
        const end = c.ends[i]!;
        out[i] = c.nulls !== null && c.nulls[i] === 1 ? null : c.text.slice(start, end);
        start = end;
      }
      return out;
    }
    case 'boolean':
      for (let i = 0; i < count; i++) out[i] = c.data[i] === BOOLEAN_NULL ? null : c.data[i] === 1;
      return out;
    case 'decimal':
      return c.unscaled.map((u, i) => (u === null ? null : new Decimal(u, c.scales[i]!)));
    case 'values':
      return c.values;
  }
}

/** Rows back from columns, each an object of the columns in `names` order. */
export function decodeRows(encoded: EncodedRows): Row[] {
  const { count, names } = encoded;
  const columns = encoded.columns.map((c) => columnValues(c, count));
  const rows = new Array<Row>(count);
  const make = rowMaker(names);
  for (let i = 0; i < count; i++) rows[i] = make(columns, i);
  return rows;
}

type RowMaker = (columns: readonly Value[][], i: number) => Row;
const makers = new Map<string, RowMaker>();

/** A compiled object literal per column list: rows of one shape, built as fast as a source builds them. */
function rowMaker(names: readonly string[]): RowMaker {
  const id = JSON.stringify(names);
  let make = makers.get(id);
  if (!make) {
    const fields = names.map((name, c) => `${literalKeyCode(name)}: columns[${c}][i]`).join(', ');
    make = new Function('columns', 'i', `return { ${fields} };`) as RowMaker;
    makers.set(id, make);
  }
  return make;
}
