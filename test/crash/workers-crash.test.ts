/**
 * The crash proof of test/crash/crash.test.ts for queries on worker threads (numWorkers 2): killed at
 * each step of the batch protocol, by SIGKILL at random moments, and by one worker thread dying in a
 * batch; each time the final run's committed output holds every input record's effect exactly once.
 * A child that finishes exits on its own, so its worker threads ended with the query.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { mulberry32, testSeed } from '../connectors/harness.js';
import { appendInput, checkOutput, endInput, FAULT_STEPS, pipelineFolders, PipelineKind, runPipelineChild } from './file-pipeline.js';

const FILES = 8;
const PER_FILE = 60;
const NUM_WORKERS = 2;

async function exactlyOnce(kind: PipelineKind, root: string, records: Awaited<ReturnType<typeof appendInput>>, label: string): Promise<void> {
  const check = await checkOutput(kind, pipelineFolders(root), records);
  assert.deepEqual({ lost: check.lost, duplicated: check.duplicated, wrong: check.wrong }, { lost: [], duplicated: [], wrong: [] }, label);
  assert.ok(check.expected > 0);
}

for (const kind of ['windowed', 'stateless'] as const) {
  describe(`${kind} file pipeline on ${NUM_WORKERS} worker threads`, () => {
    test('killed at each step of the batch protocol, then finished: every record exactly once', async () => {
      const root = await mkdtemp(join(tmpdir(), `weir-workers-crash-${kind}-`));
      try {
        const folders = pipelineFolders(root);
        const records = await appendInput(folders.input, 0, FILES, PER_FILE);
        await endInput(folders.input, records);
        for (const [i, step] of FAULT_STEPS.entries()) {
          const fault = `${step}@${i + 1}`;
          const exit = await runPipelineChild(kind, root, { fault, numWorkers: NUM_WORKERS });
          assert.equal(exit.signal, 'SIGKILL', `the ${fault} fault did not kill the child: ${exit.stderr}`);
        }
        const last = await runPipelineChild(kind, root, { numWorkers: NUM_WORKERS });
        assert.equal(last.code, 0, last.stderr);
        await exactlyOnce(kind, root, records, 'after the protocol faults');
        if (kind === 'windowed') {
          const offsets = await readFile(join(folders.checkpoint, 'offsets', '0'), 'utf8');
          assert.match(offsets, /"statePartitioning":"group"/, 'the checkpoint says how its state is partitioned');
        }
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    test('a worker thread dies in a batch: the batch fails naming it, and the next run re-runs it exactly', async () => {
      const root = await mkdtemp(join(tmpdir(), `weir-workers-crash-${kind}-`));
      try {
        const folders = pipelineFolders(root);
        const records = await appendInput(folders.input, 0, FILES, PER_FILE);
        await endInput(folders.input, records);
        const failed = await runPipelineChild(kind, root, { fault: 'inWorker@3', numWorkers: NUM_WORKERS });
        assert.equal(failed.signal, null);
        assert.notEqual(failed.code, 0);
        assert.match(failed.stderr, /Worker thread 2 of 2 of .* exited with code 70/);
        assert.match(failed.stderr, /in batch 3/);
        const last = await runPipelineChild(kind, root, { numWorkers: NUM_WORKERS });
        assert.equal(last.code, 0, last.stderr);
        await exactlyOnce(kind, root, records, 'after the worker thread died');
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    test('SIGKILLed at random moments, then finished (numWorkers 1 for the last run): every record exactly once', async (t) => {
      const seed = testSeed(t);
      const random = mulberry32(seed);
      const root = await mkdtemp(join(tmpdir(), `weir-workers-crash-${kind}-`));
      try {
        const folders = pipelineFolders(root);
        const records = [];
        let killed = 0;
        for (let run = 0; run < 4; run++) {
          records.push(...await appendInput(folders.input, run * 4, 4, PER_FILE));
          const exit = await runPipelineChild(kind, root, { killAfterMs: 200 + Math.floor(random() * 600), numWorkers: NUM_WORKERS });
          if (exit.signal === 'SIGKILL') killed++;
          else assert.equal(exit.code, 0, `seed ${seed}: ${exit.stderr}`);
        }
        assert.ok(killed > 0, `seed ${seed}: no run was killed before it finished; the test proved nothing`);
        await endInput(folders.input, records);
        // The state keeps its partitioning: one thread finishes it through a single worker thread.
        const last = await runPipelineChild(kind, root, { numWorkers: 1 });
        assert.equal(last.code, 0, `seed ${seed}: ${last.stderr}`);
        await exactlyOnce(kind, root, records, `seed ${seed}`);
        t.diagnostic(`seed ${seed}: ${killed} of 4 runs killed before they finished`);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  });
}
