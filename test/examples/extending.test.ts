import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../../..');

// Each example of README's "Extending weir" (and "State stores") is a program in examples/extending/, and what it prints.
const EXAMPLES: Record<string, string> = {
  'source': 'rows: 25, batches: 3',
  'sink': 'batches: 1, rows: 2',
  'state-store': 'pages: 2, state commits: 1',
  'checkpoint-storage': 'first run: batch 0, second run: batch 1',
  'lmdb-state': 'state rows: 2, output rows: 2',
};

for (const [name, output] of Object.entries(EXAMPLES)) {
  test(`README example '${name}' is examples/extending/${name}.ts, and it runs as written`, async () => {
    const text = await readFile(join(ROOT, 'examples/extending', `${name}.ts`), 'utf8');
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes('```ts\n' + text + '```'), `README.md shows examples/extending/${name}.ts verbatim`);
    // Relative paths in the examples land in a fresh folder; 'weir' resolves to this package (by its own name).
    const cwd = await mkdtemp(join(tmpdir(), `weir-example-${name}-`));
    try {
      const { stdout } = await run(process.execPath, [join(ROOT, 'dist/examples/extending', `${name}.js`)], { cwd });
      assert.equal(stdout.trim(), output);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
}
