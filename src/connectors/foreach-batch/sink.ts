import { Row } from '../../common/schema.js';
import { Sink } from '../../sinks/sink.js';

export type ForeachBatchFunction = (rows: Row[], batchId: number) => void | Promise<void>;

/**
 * Hands each batch's rows to a user function. At-least-once: after a crash the last batch is
 * handed over again with the same id, which the function can use to skip work it already did.
 */
export function foreachBatchSink(fn: ForeachBatchFunction): Sink {
  return {
    description: 'ForeachBatchSink',
    supportedModes: ['append', 'update', 'complete'],
    async open() {},
    async addBatch(batchId, rows) {
      await fn([...rows], batchId);
    },
    async stop() {},
  };
}
