import { encodeFile, decodeFile } from '../../checkpoint/file-format.js';
import { CheckpointStorage } from '../../checkpoint/storage.js';
import { Row, Schema } from '../../common/schema.js';
import { Offset, Source, SourceSpec } from '../../sources/source.js';
import { SourcePaths } from '../../checkpoint/layout.js';

const RATE_SCHEMA: Schema = [
  { name: 'timestamp', type: 'timestamp', nullable: false },
  { name: 'value', type: 'long', nullable: false },
];

/**
 * Generates `rowsPerSecond` rows `{ timestamp, value }`. Row v's timestamp is the start time plus
 * v / rowsPerSecond seconds, and the start time is stored in the checkpoint on first run, so any
 * offset range replays the same rows after a restart.
 */
export function createRateSource(spec: SourceSpec): Source {
  const rowsPerSecond = spec.options.number('rowsPerSecond', 1);
  const maxRecordsPerTrigger = spec.options.integer('maxRecordsPerTrigger', undefined, 1);
  let startMs = 0;
  let target: number | null = null;
  const available = (): number => Math.floor(((Date.now() - startMs) * rowsPerSecond) / 1000);
  return {
    description: `RateStreamV2[rowsPerSecond=${rowsPerSecond}]`,
    schema: RATE_SCHEMA,
    async open(context) {
      startMs = await loadOrCreateStart(context.storage, spec.options.integer('startTimestamp', Date.now()));
    },
    async latestOffset(start: Offset | null) {
      const from = (start as number | null) ?? 0;
      let end = Math.min(target ?? Infinity, available());
      if (maxRecordsPerTrigger !== undefined) end = Math.min(end, from + maxRecordsPerTrigger);
      return end <= 0 ? null : Math.max(end, from);
    },
    async getBatch(start, end) {
      const rows: Row[] = [];
      for (let v = (start as number | null) ?? 0; v < (end as number); v++) {
        rows.push({ timestamp: startMs + Math.floor((v * 1000) / rowsPerSecond), value: v });
      }
      return rows;
    },
    async commit() {},
    async prepareForTriggerAvailableNow() {
      target = available();
    },
    metrics(end) {
      return { lag: Math.max(0, available() - ((end as number | null) ?? 0)) };
    },
    async stop() {},
  };
}

async function loadOrCreateStart(storage: CheckpointStorage, fallback: number): Promise<number> {
  const data = await storage.read(SourcePaths.startOffset);
  if (data !== null) {
    return Number(decodeFile(data, 'rate-start', 1, storage.locate(SourcePaths.startOffset)).body.toString('utf8'));
  }
  await storage.writeAtomic(SourcePaths.startOffset, encodeFile('rate-start', 1, String(fallback)), { overwrite: false });
  return fallback;
}

