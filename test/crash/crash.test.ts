/**
 * The engine's proof: a file source -> file sink pipeline (stateless, a windowed aggregation, a join, two chained aggregations) run
 * in a child process that is killed at every step of the batch protocol and by SIGKILL at random
 * moments, then run to the end; the committed output must hold each input record's effect exactly once.
 * `npm run soak` does the same with hundreds of kills.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { mulberry32, testSeed } from '../connectors/harness.js';
import {
  appendInput, checkOutput, endInput, FAULT_STEPS, LMDB_FAULT_STEPS, PIPELINE_KINDS, pipelineFolders, runPipelineChild,
  StateProviderName,
} from './file-pipeline.js';

const FILES = 12;
const PER_FILE = 60;
const RANDOM_RUNS = 6;
/** Files added before each randomly killed run, so every run has work to be killed in. */
const FILES_PER_RUN = 5;

// Stateful pipelines run with each state store provider; the stateless one keeps no state.
const RUNS = PIPELINE_KINDS.flatMap((kind) => (kind === 'stateless' ? ['memory'] as const : ['memory', 'lmdb'] as const)
  .map((provider: StateProviderName) => ({ kind, provider })));

for (const { kind, provider } of RUNS) {
  describe(`${kind} file pipeline (${provider} state store)`, () => {
    test('killed at each step of the batch protocol, then finished: every record exactly once', async () => {
      const root = await mkdtemp(join(tmpdir(), `weir-crash-${kind}-`));
      try {
        const folders = pipelineFolders(root);
        const records = await appendInput(folders.input, 0, FILES, PER_FILE);
        await endInput(folders.input, records);
        for (const [i, step] of (provider === 'lmdb' ? LMDB_FAULT_STEPS : FAULT_STEPS).entries()) {
          const fault = `${step}@${i + 1}`;
          const exit = await runPipelineChild(kind, root, { fault, provider });
          assert.equal(exit.signal, 'SIGKILL', `the ${fault} fault did not kill the child: ${exit.stderr}`);
        }
        const last = await runPipelineChild(kind, root, { provider });
        assert.equal(last.code, 0, last.stderr);
        const check = await checkOutput(kind, folders, records);
        assert.deepEqual({ lost: check.lost, duplicated: check.duplicated, wrong: check.wrong },
          { lost: [], duplicated: [], wrong: [] });
        assert.ok(check.expected > 0);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    test('SIGKILLed at random moments, then finished: every record exactly once', async (t) => {
      const seed = testSeed(t);
      const random = mulberry32(seed);
      const root = await mkdtemp(join(tmpdir(), `weir-crash-${kind}-`));
      try {
        const folders = pipelineFolders(root);
        const records = [];
        let killed = 0;
        for (let run = 0; run < RANDOM_RUNS; run++) {
          records.push(...await appendInput(folders.input, run * FILES_PER_RUN, FILES_PER_RUN, PER_FILE));
          const exit = await runPipelineChild(kind, root, { killAfterMs: 50 + Math.floor(random() * 300), provider });
          if (exit.signal === 'SIGKILL') killed++;
          else assert.equal(exit.code, 0, `seed ${seed}: ${exit.stderr}`);
        }
        assert.ok(killed > 0, `seed ${seed}: no run was killed before it finished; the test proved nothing`);
        await endInput(folders.input, records);
        const last = await runPipelineChild(kind, root, { provider });
        assert.equal(last.code, 0, `seed ${seed}: ${last.stderr}`);
        const check = await checkOutput(kind, folders, records);
        assert.deepEqual({ lost: check.lost, duplicated: check.duplicated, wrong: check.wrong },
          { lost: [], duplicated: [], wrong: [] }, `seed ${seed}`);
        t.diagnostic(`seed ${seed}: ${killed} of ${RANDOM_RUNS} runs killed before they finished`);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  });
}
