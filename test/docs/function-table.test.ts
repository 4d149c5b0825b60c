/** The README's table of functions lists every exported function once, and every camelCase one has its snake_case twin. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as functions from '../../src/api/functions.js';
import { sqlFunctionNames } from '../../src/api/sql/expressions.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

/** The identifiers written in backticks in the table's first two columns (`lpad(col, len)` gives lpad). */
async function tableNames(): Promise<{ camel: string[]; snake: string[] }> {
  const text = await readFile(README, 'utf8');
  const start = text.indexOf('| camelCase | snake_case / SQL |');
  assert.ok(start >= 0, 'the README has the table of functions');
  const lines = text.slice(start).split('\n').slice(2);
  // The table ends at its first line that is not a row; later tables of the README are not part of it.
  const end = lines.findIndex((l) => !l.startsWith('|'));
  const rows = lines.slice(0, end < 0 ? lines.length : end).filter((l) => !l.startsWith('| **'));
  const names = (cell: string | undefined): string[] => [...(cell ?? '').matchAll(/`([A-Za-z_]+)/g)].map((m) => m[1]!);
  const cells = rows.map((r) => r.split('|'));
  return { camel: cells.flatMap((c) => names(c[1])), snake: cells.flatMap((c) => names(c[2])) };
}

test('every exported function is in the README table, each once in the camelCase column', async () => {
  const { camel, snake } = await tableNames();
  const listed = new Set([...camel, ...snake]);
  const exported = Object.entries(functions).filter(([, v]) => typeof v === 'function').map(([k]) => k);
  assert.deepEqual(exported.filter((name) => !listed.has(name)), [], 'exported but missing from the table');
  assert.deepEqual(camel.filter((name, i) => camel.indexOf(name) !== i), [], 'listed twice');
});

test('every camelCase function has its snake_case twin, the same function', () => {
  const exported = functions as unknown as Record<string, unknown>;
  for (const [name, fn] of Object.entries(exported)) {
    if (!/[a-z][A-Z]/.test(name)) continue;
    const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    assert.equal(exported[snake], fn, `${snake} for ${name}`);
  }
});

test('every function SQL knows is in the table', async () => {
  const { camel, snake } = await tableNames();
  const listed = new Set([...camel, ...snake, 'CASE', 'cast']);
  assert.deepEqual(sqlFunctionNames().filter((name) => !listed.has(name)), []);
});
