/**
 * Out of file descriptors (EMFILE: this process, ENFILE: the whole system) is a passing shortage, not
 * a broken disk: sockets and files close again. File operations of a batch that need a descriptor go
 * through {@link retryOnDescriptorShortage}, which waits with exponential backoff (5 ms doubling up to
 * 1 s) until the open succeeds, so a burst of connections never fails the batch and stops the query.
 * Waits are counted process-wide (the engine reports them in progress as `durationMs.descriptorWait`)
 * and logged as process warnings on the 1st, 10th, 100th, ... retry.
 */
const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 1000;

const counters = { retries: 0, waitedMs: 0 };

/** Retries and time spent waiting for descriptors in this process since it started. */
export function descriptorShortage(): { readonly retries: number; readonly waitedMs: number } {
  return { ...counters };
}

export function isDescriptorShortage(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/** Runs `op` until it does not fail for want of a descriptor; `what` names the file in the warning. */
export async function retryOnDescriptorShortage<T>(what: string, op: () => Promise<T>): Promise<T> {
  for (let delay = FIRST_DELAY_MS; ; delay = Math.min(MAX_DELAY_MS, delay * 2)) {
    try {
      return await op();
    } catch (err) {
      if (!isDescriptorShortage(err)) throw err;
      counters.retries++;
      if (isPowerOfTen(counters.retries)) {
        process.emitWarning(`Out of file descriptors (${(err as NodeJS.ErrnoException).code}) opening ${what}; ` +
          `retrying with backoff (${counters.retries} retries so far in this process). Raise the limit ` +
          "(ulimit -n) or lower the http source's maxConnections.", { code: 'WEIR_DESCRIPTOR_SHORTAGE' });
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      counters.waitedMs += delay;
    }
  }
}

/** 1, 10, 100, ...: how often a repeated condition is worth a log line. */
export function isPowerOfTen(n: number): boolean {
  for (let p = 1; p <= n; p *= 10) if (p === n) return true;
  return false;
}
