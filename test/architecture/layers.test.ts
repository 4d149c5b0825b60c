import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The layers of src/ and what each may import (docs/ARCHITECTURE.md explains why). A module may import
// its own layer and the layers listed here, nothing above or beside it; a connector may not import
// another connector's folder.
const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  codec: ['common'],
  checkpoint: ['common'],
  state: ['common', 'checkpoint'],
  sources: ['common', 'codec', 'checkpoint'],
  sinks: ['common', 'codec', 'checkpoint'],
  plan: ['common', 'codec', 'sources'],
  sql: ['common'],
  exec: ['common', 'codec', 'checkpoint', 'state', 'sources', 'plan'],
  engine: ['common', 'codec', 'checkpoint', 'state', 'sources', 'sinks', 'plan', 'exec'],
  connectors: ['common', 'codec', 'checkpoint', 'sources', 'sinks'],
  // Monitoring reads the engine's events and progress types and the checkpoint; the session (api) owns it.
  monitoring: ['common', 'codec', 'checkpoint', 'engine'],
  api: ['common', 'codec', 'checkpoint', 'state', 'sources', 'sinks', 'plan', 'sql', 'exec', 'engine', 'connectors', 'monitoring'],
  cli: ['common', 'codec', 'checkpoint', 'state', 'sources', 'sinks', 'plan', 'sql', 'exec', 'engine', 'connectors', 'monitoring', 'api'],
};

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative module specifiers of a file's static, side-effect and dynamic imports and re-exports. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) found.push(match[1]!);
  return found;
}

/** `['connectors', 'file']` for src/connectors/file/sink.ts; `['index.ts']` for src/index.ts. */
function placeOf(file: string): string[] {
  return relative(SRC, file).split(sep);
}

export function layerViolations(): string[] {
  const problems: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = placeOf(file);
    if (from.length === 1) continue; // src/index.ts is the package's front door: it may re-export any layer
    const fromLayer = from[0]!;
    const allowed = ALLOWED[fromLayer];
    if (!allowed) {
      problems.push(`${relative(SRC, file)}: folder '${fromLayer}' is not a known layer; add it to the table in this test`);
      continue;
    }
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const to = placeOf(resolve(dirname(file), spec));
      const toLayer = to[0]!;
      const where = `${relative(SRC, file)} imports ${spec}`;
      if (to.length === 1) problems.push(`${where}: only the package entry may import it`);
      else if (toLayer !== fromLayer && !allowed.includes(toLayer)) {
        problems.push(`${where}: layer '${fromLayer}' may not import layer '${toLayer}'`);
      } else if (fromLayer === 'connectors' && toLayer === 'connectors' && from[1] !== to[1] && from.length > 2 && to.length > 2) {
        problems.push(`${where}: one connector may not import another connector's folder (move shared code down a layer)`);
      }
    }
  }
  return problems;
}

test('every module imports only its own layer and the layers below it; connectors do not import each other', () => {
  assert.deepEqual(layerViolations(), []);
});

test('the check itself catches an upward import', () => {
  assert.deepEqual(importsOf("import { x } from '../exec/runtime.js';\nimport './y.js';\nexport * from '../../a/b.js';"),
    ['../exec/runtime.js', './y.js', '../../a/b.js']);
  assert.equal(ALLOWED['sinks']!.includes('exec'), false);
});
