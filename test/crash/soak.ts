/**
 * The long crash soak (`npm run soak`): hundreds of kills of the file pipelines — SIGKILL at random
 * moments and faults injected at random steps of random batches — then a check of every record.
 *
 *   npm run soak -- [--kills 300] [--seed 42]     (or the seed in WEIR_TEST_SEED)
 *
 * Prints per pipeline: rounds, kills, records expected, lost, duplicated, wrong; exits 1 on any.
 */
import { readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../connectors/harness.js';
import {
  appendInput, checkOutput, endInput, FAULT_STEPS, InputRecord, PIPELINE_KINDS, PipelineKind, pipelineFolders,
  runPipelineChild,
} from './file-pipeline.js';

const KILLS_PER_ROUND = 10;
const FILES_PER_RUN = 4;
const PER_FILE = 50;

interface Tally { rounds: number; kills: number; faults: number; expected: number; lost: number; duplicated: number; wrong: number }

const { values } = parseArgs({ options: { kills: { type: 'string', default: '300' }, seed: { type: 'string' } } });
const targetKills = Number(values.kills);
const chosenSeed = values.seed ?? process.env['WEIR_TEST_SEED'];
const seed = chosenSeed === undefined || chosenSeed === '' ? Date.now() % 1_000_000 : Number(chosenSeed);
if (!Number.isInteger(targetKills) || targetKills < 1 || !Number.isFinite(seed)) {
  process.stderr.write('usage: npm run soak -- [--kills N (a whole number ≥ 1)] [--seed S]\n');
  process.exit(2);
}
const random = mulberry32(seed);
process.stdout.write(`seed ${seed} (re-run with --seed ${seed} or WEIR_TEST_SEED=${seed})\n`);
const tallies = new Map<PipelineKind, Tally>(PIPELINE_KINDS.map((k) => [k, { rounds: 0, kills: 0, faults: 0, expected: 0, lost: 0, duplicated: 0, wrong: 0 }]));

/** The newest batch id in the checkpoint's offsets log (-1 before the first). */
async function newestBatch(checkpoint: string): Promise<number> {
  const names = await readdir(join(checkpoint, 'offsets')).catch(() => [] as string[]);
  return Math.max(-1, ...names.filter((n) => /^\d+$/.test(n)).map(Number));
}

async function round(kind: PipelineKind, tally: Tally): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), `weir-soak-${kind}-`));
  try {
    const folders = pipelineFolders(root);
    const records: InputRecord[] = [];
    for (let run = 0, kills = 0; kills < KILLS_PER_ROUND; run++) {
      records.push(...await appendInput(folders.input, run * FILES_PER_RUN, FILES_PER_RUN, PER_FILE));
      const useFault = random() < 0.4;
      const fault = useFault
        ? `${FAULT_STEPS[Math.floor(random() * FAULT_STEPS.length)]}@${await newestBatch(folders.checkpoint) + 1 + Math.floor(random() * 3)}`
        : undefined;
      const exit = await runPipelineChild(kind, root, useFault ? { fault } : { killAfterMs: 50 + Math.floor(random() * 350) });
      if (exit.signal === 'SIGKILL') {
        kills++;
        tally.kills++;
        if (useFault) tally.faults++;
      } else if (exit.code !== 0) {
        throw new Error(`seed ${seed}: the ${kind} pipeline failed (exit ${exit.code}) in ${root}:\n${exit.stderr}`);
      }
    }
    await endInput(folders.input, records);
    const last = await runPipelineChild(kind, root);
    if (last.code !== 0) throw new Error(`seed ${seed}: the final ${kind} run failed in ${root}:\n${last.stderr}`);
    const check = await checkOutput(kind, folders, records);
    tally.rounds++;
    tally.expected += check.expected;
    tally.lost += check.lost.length;
    tally.duplicated += check.duplicated.length;
    tally.wrong += check.wrong.length;
    if (check.lost.length + check.duplicated.length + check.wrong.length > 0) {
      process.stderr.write(`seed ${seed}: ${kind} round ${tally.rounds} differs: ${JSON.stringify(check).slice(0, 2000)}\n`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const started = performance.now();
let total = 0;
for (let r = 0; total < targetKills; r++) {
  const kind = PIPELINE_KINDS[r % PIPELINE_KINDS.length]!;
  await round(kind, tallies.get(kind)!);
  total = [...tallies.values()].reduce((n, t) => n + t.kills, 0);
  process.stderr.write(`\rkills ${total}/${targetKills}`);
}
process.stderr.write('\n');

const header = ['pipeline', 'rounds', 'kills', 'of which faults', 'expected rows', 'lost', 'duplicated', 'wrong'];
const lines = [...tallies].map(([kind, t]) => [kind, t.rounds, t.kills, t.faults, t.expected, t.lost, t.duplicated, t.wrong].map(String));
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
for (const row of [header, ...lines]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
const bad = [...tallies.values()].reduce((n, t) => n + t.lost + t.duplicated + t.wrong, 0);
process.stdout.write(`\nseed ${seed}, ${((performance.now() - started) / 1000).toFixed(0)} s: ` +
  `${bad === 0 ? 'every record exactly once after every kill' : `${bad} rows lost, duplicated or wrong`}\n`);
process.exitCode = bad === 0 ? 0 : 1;
