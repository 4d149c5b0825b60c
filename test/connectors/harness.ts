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
 * It is printed with the test's output (`t`), or as a comment line of the run's output from a hook; put
 * it in assertion messages too.
 */
export function testSeed(t?: { diagnostic(message: string): void }): number {
  const fixed = process.env['WEIR_TEST_SEED'];
  const seed = fixed === undefined || fixed === '' ? Date.now() % 1_000_000 : Number(fixed);
  if (!Number.isSafeInteger(seed)) throw new Error(`WEIR_TEST_SEED must be a whole number, not ${JSON.stringify(fixed)}`);
  const line = `seed ${seed} (re-run with WEIR_TEST_SEED=${seed})`;
  if (t) t.diagnostic(line);
  else process.stdout.write(`# ${line}\n`);
  return seed;
}

/** A small seeded generator, so a failing run can be told apart by its seed. */
export { seededRandom as mulberry32 } from '../../src/common/random.js';
