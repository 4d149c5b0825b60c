/**
 * Greenwald-Khanna quantile summaries for percentile_approx, with the insert, compress, merge and query
 * rules Spark's QuantileSummaries documents, so a rank is off by at most `relativeError * count`.
 * A summary lives in three slots of a group entry, all plain data for the checkpoint: the count of
 * values summarized, the samples as a flat array of (value, g, delta) triples, and a buffer of values
 * not yet inserted (inserting in sorted batches is what makes it cheap).
 */

/** Values buffered before they are sorted into the samples. */
const BUFFER_LIMIT = 1000;

type Samples = number[];

function insertSorted(samples: Samples, count: number, values: readonly number[], relativeError: number): [Samples, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const out: Samples = [];
  let i = 0;
  let n = count;
  for (let k = 0; k < sorted.length; k++) {
    const v = sorted[k]!;
    while (i < samples.length && samples[i]! <= v) out.push(samples[i]!, samples[i + 1]!, samples[i + 2]!), i += 3;
    n++;
    // The smallest and largest values are known exactly.
    const delta = out.length === 0 || (i === samples.length && k === sorted.length - 1) ? 0 : Math.floor(2 * relativeError * n);
    out.push(v, 1, delta);
  }
  for (; i < samples.length; i++) out.push(samples[i]!);
  return [out, n];
}

/** Merges neighbouring samples whose combined uncertainty stays below 2·relativeError·count, keeping the first and last. */
function compress(samples: Samples, count: number, relativeError: number): Samples {
  if (samples.length <= 6) return samples;
  const threshold = Math.floor(2 * relativeError * count);
  const kept: number[][] = [];
  let head = samples.slice(samples.length - 3);
  for (let i = samples.length - 6; i >= 3; i -= 3) {
    if (samples[i + 1]! + head[1]! + head[2]! < threshold) head = [head[0]!, head[1]! + samples[i + 1]!, head[2]!];
    else {
      kept.push(head);
      head = samples.slice(i, i + 3);
    }
  }
  kept.push(head);
  if (samples[0]! <= head[0]!) kept.push(samples.slice(0, 3));
  return kept.reverse().flat();
}

/** Sorts the buffer of entry `e` (slots s: count, s + 1: samples, s + 2: buffer) into its samples. */
export function quantileFlush(e: unknown[], s: number, relativeError: number): void {
  const buffer = e[s + 2] as number[];
  if (buffer.length === 0) return;
  const [samples, count] = insertSorted(e[s + 1] as Samples, e[s] as number, buffer, relativeError);
  e[s] = count;
  e[s + 1] = compress(samples, count, relativeError);
  e[s + 2] = [];
}

export function quantileAdd(e: unknown[], s: number, v: number, relativeError: number): void {
  const buffer = e[s + 2] as number[];
  buffer.push(v);
  if (buffer.length >= BUFFER_LIMIT) quantileFlush(e, s, relativeError);
}

/** Merges the summary in `o` into the one in `e` (Spark: concatenate the samples by value, then compress). */
export function quantileMerge(e: unknown[], o: readonly unknown[], s: number, relativeError: number): void {
  const other = [...o];
  quantileFlush(other, s, relativeError);
  quantileFlush(e, s, relativeError);
  if ((other[s] as number) === 0) return;
  const triples: number[][] = [];
  for (const samples of [e[s + 1] as Samples, other[s + 1] as Samples]) {
    for (let i = 0; i < samples.length; i += 3) triples.push(samples.slice(i, i + 3));
  }
  triples.sort((a, b) => a[0]! - b[0]!);
  const count = (e[s] as number) + (other[s] as number);
  e[s] = count;
  e[s + 1] = compress(triples.flat(), count, relativeError);
}

/** The value at each quantile (Spark's query: the first sample whose rank range, widened by the summary's error, holds the target rank). */
export function quantileQuery(e: readonly unknown[], s: number, quantiles: readonly number[], relativeError: number): number[] | null {
  const copy = [...e];
  quantileFlush(copy, s, relativeError);
  const count = copy[s] as number;
  const samples = copy[s + 1] as Samples;
  if (count === 0) return null;
  let targetError = 0;
  for (let i = 0; i < samples.length; i += 3) targetError = Math.max(targetError, samples[i + 1]! + samples[i + 2]!);
  targetError /= 2;
  return quantiles.map((q) => {
    if (q <= relativeError) return samples[0]!;
    if (q >= 1 - relativeError) return samples[samples.length - 3]!;
    const rank = Math.ceil(q * count);
    let minRank = 0;
    for (let i = 0; i < samples.length; i += 3) {
      minRank += samples[i + 1]!;
      const maxRank = minRank + samples[i + 2]!;
      if (maxRank - targetError <= rank && rank <= minRank + targetError) return samples[i]!;
    }
    return samples[samples.length - 3]!;
  });
}
