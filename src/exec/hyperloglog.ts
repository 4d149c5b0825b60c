import { Value } from '../common/schema.js';

/**
 * HyperLogLog distinct counting for approx_count_distinct: a group keeps 2^p one-byte registers (its
 * state, merged by taking the larger register), each the longest run of leading zeros seen among the
 * 64-bit hashes that address it.
 */

/** Two independent 32-bit hashes (murmur3 finalizer over the value's units): together 64 hash bits. */
function hash64(v: Value, out: Uint32Array): void {
  let h1 = 0x9747b28c;
  let h2 = 0x2f1a3b5d;
  const mix = (unit: number): void => {
    h1 = Math.imul(h1 ^ unit, 0xcc9e2d51);
    h1 = (h1 << 15) | (h1 >>> 17);
    h2 = Math.imul(h2 ^ unit, 0x1b873593);
    h2 = (h2 << 13) | (h2 >>> 19);
    h2 = Math.imul(h2, 5) + 0xe6546b64;
  };
  if (typeof v === 'number') {
    FLOAT[0] = v + 0; // -0 and 0 are one value
    mix(WORDS[0]!);
    mix(WORDS[1]!);
    mix(1);
  } else if (typeof v === 'string') {
    for (let i = 0; i < v.length; i++) mix(v.charCodeAt(i));
    mix(v.length + 2);
  } else if (typeof v === 'boolean') {
    mix(v ? 1 : 0);
    mix(3);
  } else if (v instanceof Uint8Array) {
    for (let i = 0; i < v.length; i++) mix(v[i]!);
    mix(v.length + 4);
  } else {
    const text = JSON.stringify(v);
    for (let i = 0; i < text.length; i++) mix(text.charCodeAt(i));
    mix(5);
  }
  out[0] = fmix(h1 ^ h2);
  out[1] = fmix(h2 + Math.imul(h1, 0x85ebca6b));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const FLOAT = new Float64Array(1);
const WORDS = new Uint32Array(FLOAT.buffer);
const HASH = new Uint32Array(2);

export function hllAdd(registers: Uint8Array, v: Value): void {
  hash64(v, HASH);
  const p = Math.log2(registers.length);
  const high = HASH[0]!;
  const index = high >>> (32 - p);
  const rest = (high << p) >>> 0;
  const rank = rest !== 0 ? Math.clz32(rest) + 1 : 32 - p + Math.clz32(HASH[1]!) + 1;
  if (rank > registers[index]!) registers[index] = rank;
}

export function hllMerge(into: Uint8Array, other: Uint8Array): void {
  for (let i = 0; i < into.length; i++) if (other[i]! > into[i]!) into[i] = other[i]!;
}

/**
 * Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017):
 * from the histogram of register values, accurate over the whole range without HyperLogLog++'s
 * empirical bias tables, and equal to linear counting's accuracy for small counts.
 */
export function hllEstimate(registers: Uint8Array): number {
  const m = registers.length;
  const q = 64 - Math.log2(m);
  const histogram = new Array<number>(q + 2).fill(0);
  for (let i = 0; i < m; i++) histogram[registers[i]!]!++;
  let z = m * tau(1 - histogram[q + 1]! / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + histogram[k]!);
  z += m * sigma(histogram[0]! / m);
  return Math.round(m * m / (2 * Math.LN2 * z));
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const previous = z;
    z += x * y;
    y += y;
    if (z === previous) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === previous) return z / 3;
  }
}
