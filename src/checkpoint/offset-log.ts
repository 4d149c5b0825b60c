import { LogCodec } from './batch-log.js';

/** A source's position, as the source defines it; it must survive a JSON round trip. */
export type Offset = unknown;

/** `offsets/<N>`: written before batch N runs; fixes everything a re-run must reproduce. */
export interface OffsetEntry {
  readonly batchWatermarkMs: number;
  readonly batchTimestampMs: number;
  /** Settings that must not change under a running query (e.g. the number of state partitions). */
  readonly conf: Readonly<Record<string, string | number>>;
  /** End offset of each source (by source index); null: the source has had no data yet. */
  readonly sources: readonly Offset[];
}

export const offsetCodec: LogCodec<OffsetEntry> = {
  kind: 'offsets',
  version: 1,
  // One JSON object per line, as Spark does: the metadata first, then one line per source.
  encode(entry) {
    const meta = { batchWatermarkMs: entry.batchWatermarkMs, batchTimestampMs: entry.batchTimestampMs, conf: entry.conf };
    return [JSON.stringify(meta), ...entry.sources.map((o) => (o === null ? '-' : JSON.stringify(o)))].join('\n');
  },
  decode(body) {
    const [metaLine, ...sourceLines] = body.split('\n');
    const meta = JSON.parse(metaLine!) as Partial<OffsetEntry>;
    if (typeof meta.batchWatermarkMs !== 'number' || typeof meta.batchTimestampMs !== 'number') {
      throw new Error('missing batchWatermarkMs or batchTimestampMs');
    }
    return {
      batchWatermarkMs: meta.batchWatermarkMs,
      batchTimestampMs: meta.batchTimestampMs,
      conf: meta.conf ?? {},
      sources: sourceLines.map((line) => (line === '-' ? null : (JSON.parse(line) as Offset))),
    };
  },
};
