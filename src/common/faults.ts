import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Fault injection for the crash tests: `WEIR_FAULT=<step>@<batchId>` makes the process kill itself
 * with SIGKILL when it reaches that step of that batch, exactly as a power cut would. Steps are the
 * named points of the batch protocol. Unset (the normal case), this costs one property read.
 */
export type FaultStep = 'afterOffsetWrite' | 'midSink' | 'afterSink' | 'afterStateCommit' | 'midCommit' |
  'midSourceLogCompaction' | 'midSinkLogCompaction'
  /** Inside a disk state store's commit: its changelog written, its working copy not yet changed. */
  | 'midStateCommit'
  /** Inside a query's worker thread, as it starts a batch: the thread exits (the process lives on). */
  | 'inWorker'
  /** Inside the lmdb working copy's own transaction: the changes written into it, the transaction not committed. */
  | 'midWorkingCopyWrite';

const spec = parseSpec(process.env['WEIR_FAULT']);

function parseSpec(raw: string | undefined): { step: string; batchId: number } | null {
  if (!raw) return null;
  const m = /^(\w+)@(\d+)$/.exec(raw);
  return m ? { step: m[1]!, batchId: Number(m[2]) } : null;
}

/** Dies at the step; with `tornFile`, first leaves a half-written temp file there, as a crash mid-write would. */
export function injectFault(step: FaultStep, batchId: number, tornFile?: string): void {
  if (spec !== null && spec.step === step && spec.batchId === batchId) {
    if (tornFile) {
      mkdirSync(dirname(tornFile), { recursive: true });
      writeFileSync(tornFile, 'weir:commits v1\n{"nextBatchWat');
    }
    process.kill(process.pid, 'SIGKILL');
  }
}

/** True when the fault set for this run is `step` at `batchId`: for a step whose failure is not the process's death. */
export function faultDue(step: FaultStep, batchId: number): boolean {
  return spec !== null && spec.step === step && spec.batchId === batchId;
}
