/**
 * The file source and sink under real kills (a child process SIGKILLs itself at a WEIR_FAULT step):
 * a file appended between its admission and the batch's commit, and crashes in the middle of a
 * compaction of the seen-files log and of the sink's manifests.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { appendInput, checkOutput, pipelineFolders, recordAt, runPipelineChild } from '../crash/file-pipeline.js';

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'weir-file-crash-'));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function exactlyOnce(check: Awaited<ReturnType<typeof checkOutput>>): void {
  assert.deepEqual({ lost: check.lost, duplicated: check.duplicated, wrong: check.wrong }, { lost: [], duplicated: [], wrong: [] });
  assert.ok(check.expected > 0);
}

test('a file appended to between its admission and a crash: the restart re-reads the admitted bytes and finishes', async () => {
  await withRoot(async (root) => {
    const folders = pipelineFolders(root);
    const records = await appendInput(folders.input, 0, 3, 10);
    // Batch 1 (the second file) is admitted and logged, then the process dies while writing it to the sink.
    const killed = await runPipelineChild('stateless', root, { fault: 'midSink@1' });
    assert.equal(killed.signal, 'SIGKILL', `the fault did not kill the child: ${killed.stderr}`);
    const appended = Array.from({ length: 5 }, (_, k) => recordAt(1_000 + k));
    await appendFile(join(folders.input, 'events-0001.json'), appended.map((r) => `${JSON.stringify(r)}\n`).join(''));
    for (let run = 0; run < 2; run++) {
      const exit = await runPipelineChild('stateless', root);
      assert.equal(exit.code, 0, exit.stderr);
    }
    // The admitted records exactly once; the appended ones (never admitted) not at all.
    exactlyOnce(await checkOutput('stateless', folders, records));
  });
});

test('killed in the middle of compacting the seen-files log, then of the sink manifests: every record exactly once', async () => {
  await withRoot(async (root) => {
    const folders = pipelineFolders(root);
    const records = await appendInput(folders.input, 0, 12, 5);
    // One file per batch: the source's log compacts at offset 10 (batch 9), the sink's manifests at batch 9.
    for (const fault of ['midSourceLogCompaction@10', 'midSinkLogCompaction@9']) {
      const exit = await runPipelineChild('stateless', root, { fault });
      assert.equal(exit.signal, 'SIGKILL', `the ${fault} fault did not kill the child: ${exit.stderr}`);
    }
    const last = await runPipelineChild('stateless', root);
    assert.equal(last.code, 0, last.stderr);
    exactlyOnce(await checkOutput('stateless', folders, records));
    assert.deepEqual((await readdir(join(folders.checkpoint, 'sources', '0', 'files'))).sort(), ['10.compact', '11', '12']);
    assert.deepEqual((await readdir(join(folders.output, '_weir_metadata'))).sort(), ['10', '11', '9.compact']);
  });
});
