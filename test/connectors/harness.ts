/** Small helpers the connector tests share. */
import { createServer } from 'node:net';

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The seed of a randomized test: WEIR_TEST_SEED when set (to re-run a failing seed), else a new one.
 * It is printed with the test's output; put it in assertion messages too.
 */
export function testSeed(t: { diagnostic(message: string): void }): number {
  const fixed = process.env['WEIR_TEST_SEED'];
  const seed = fixed === undefined || fixed === '' ? Date.now() % 1_000_000 : Number(fixed);
  if (!Number.isSafeInteger(seed)) throw new Error(`WEIR_TEST_SEED must be a whole number, not ${JSON.stringify(fixed)}`);
  t.diagnostic(`seed ${seed} (re-run with WEIR_TEST_SEED=${seed})`);
  return seed;
}

/** A small seeded generator, so a failing run can be told apart by its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
