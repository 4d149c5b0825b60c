import { CheckpointError } from '../common/errors.js';

/*
 * A batch's identity beyond its id is a digest of its input (engine/batch-digest.ts): a re-run after a
 * crash carries the same digest, a batch id re-planned over other input (a checkpoint restored from a
 * backup, then new data) carries another. Sinks store it with a committed batch and compare it here
 * before skipping one.
 */

const RECOVERY_FIX = 'Restart from the newest checkpoint rather than a backup; to process again from the backup, write ' +
  'to a new output';

/**
 * What a sink checks before skipping batch `batchId`. `committedDigest` is the digest stored with the
 * committed batch: undefined when the sink holds no such batch, null when an older version committed it
 * without one (accepted, as before). Returns true when the batch is committed and must be skipped;
 * throws when the output and the checkpoint disagree: a batch committed from other input, or a later
 * batch committed while this one is not (the checkpoint is older than the output).
 */
export function isCommittedBatch(sink: string, where: string, batchId: number, digest: string,
  committedDigest: string | null | undefined, newestCommitted: number, output: string): boolean {
  if (committedDigest !== undefined) {
    if (committedDigest === null || committedDigest === digest) return true;
    throw new CheckpointError('SINK_BATCH_CHANGED', where, `The ${sink} already committed batch ${batchId} (${where}) ` +
      `from other input than the checkpoint now plans for it: the checkpoint is older than the output (restored from ` +
      `a backup?) and new data arrived since. Skipping the batch would lose that input, writing it would duplicate ` +
      `output. ${RECOVERY_FIX} (${output}).`);
  }
  if (newestCommitted > batchId) {
    throw new CheckpointError('SINK_AHEAD_OF_CHECKPOINT', where, `The ${sink} holds batch ${newestCommitted} of this ` +
      `query, but the checkpoint plans batch ${batchId}, which the ${sink} does not hold: the checkpoint is older than the ` +
      `output (restored from a backup?). ${RECOVERY_FIX} (${output}).`);
  }
  return false;
}
