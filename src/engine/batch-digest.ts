import { createHash } from 'node:crypto';
import { OffsetEntry } from '../checkpoint/offset-log.js';
import { Offset, Source } from '../sources/source.js';

/**
 * The digest a sink stores with a committed batch (sinks/batch-identity.ts): each source's range, what
 * sources whose offsets are log positions say the range holds, and the batch watermark. A re-run
 * after a crash reads the same offsets entry and the same source logs, so it has the same digest; a
 * batch id re-planned over other input (a checkpoint restored from a backup, then new data) has another.
 */
export async function batchDigest(entry: OffsetEntry, sources: readonly Source[], starts: readonly (Offset | null)[]): Promise<string> {
  const inputs = await Promise.all(sources.map((source, i) => {
    const end = entry.sources[i] ?? null;
    return end === null ? null : source.inputIdentity?.(starts[i] ?? null, end) ?? null;
  }));
  const text = canonicalJson({ sources: entry.sources, inputs, watermarkMs: entry.batchWatermarkMs });
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted: offsets read back from the log may list their keys in another order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}
