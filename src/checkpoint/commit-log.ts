import { LogCodec } from './batch-log.js';

/** `commits/<N>`: written after the sink and the state committed batch N. */
export interface CommitEntry {
  /** The global watermark batch N+1 runs with. */
  readonly nextBatchWatermarkMs: number;
  /** Each `withWatermark` operator's own watermark, so the min/max policy survives a restart exactly. */
  readonly operatorWatermarksMs: readonly number[];
  /** The sink that took batch N (its description), so `weir inspect` can say where each batch went. */
  readonly sink?: string;
}

export const commitCodec: LogCodec<CommitEntry> = {
  kind: 'commits',
  version: 1,
  encode(entry) {
    return JSON.stringify(entry);
  },
  decode(body) {
    const entry = JSON.parse(body) as Partial<CommitEntry>;
    if (typeof entry.nextBatchWatermarkMs !== 'number') throw new Error('missing nextBatchWatermarkMs');
    return {
      nextBatchWatermarkMs: entry.nextBatchWatermarkMs,
      operatorWatermarksMs: entry.operatorWatermarksMs ?? [],
      ...(typeof entry.sink === 'string' ? { sink: entry.sink } : {}),
    };
  },
};
