/**
 * `attempt`, failed with a timeout error when it has not settled within `ms` (it is not cancelled: its late
 * result is ignored). `why` ends the error's message: what a wait this long usually means.
 */
export async function withinTime<T>(attempt: () => Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s (${why})`)), ms);
  });
  const running = attempt();
  running.catch(() => undefined); // once abandoned, its late failure is nobody's concern
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}
