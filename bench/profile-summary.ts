/**
 * Prints the functions with the most self time in a V8 CPU profile (`node --cpu-prof`):
 *
 *   node dist/bench/profile-summary.js <file.cpuprofile | folder> [--top 15]
 *
 * A folder means its newest .cpuprofile. Samples are attributed by the time delta V8 recorded for
 * them and grouped by function name and source position; (idle), (garbage collector) and (program)
 * are V8's own entries and are kept, since they say how much of the run was not JavaScript.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface SelfTime { readonly name: string; readonly location: string; readonly ms: number; readonly percent: number }

function location(frame: CallFrame): string {
  if (!frame.url) return '';
  const path = frame.url.startsWith('file://') ? relative(process.cwd(), fileURLToPath(frame.url)) : frame.url;
  return `${path}:${frame.lineNumber + 1}`;
}

/** Self time per function, most first, and the profile's total. */
export function selfTimes(profile: CpuProfile): { totalMs: number; functions: SelfTime[] } {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const micros = new Map<string, { name: string; location: string; us: number }>();
  let total = 0;
  profile.samples.forEach((nodeId, i) => {
    const frame = byNode.get(nodeId);
    const us = Math.max(0, profile.timeDeltas[i] ?? 0);
    total += us;
    if (!frame) return;
    const name = frame.functionName || '(anonymous)';
    const where = location(frame);
    const key = `${name}@${where}`;
    const entry = micros.get(key) ?? { name, location: where, us: 0 };
    entry.us += us;
    micros.set(key, entry);
  });
  const functions = [...micros.values()].sort((a, b) => b.us - a.us)
    .map((e) => ({ name: e.name, location: e.location, ms: e.us / 1000, percent: total > 0 ? (100 * e.us) / total : 0 }));
  return { totalMs: total / 1000, functions };
}

async function newestProfile(path: string): Promise<string> {
  if (!(await stat(path)).isDirectory()) return path;
  const files = (await readdir(path)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`No .cpuprofile file in ${path}: run node --cpu-prof --cpu-prof-dir=${path} …`);
  const dated = await Promise.all(files.map(async (f) => ({ f, t: (await stat(join(path, f))).mtimeMs })));
  return join(path, dated.sort((a, b) => b.t - a.t)[0]!.f);
}

export function formatSelfTimes(totalMs: number, functions: readonly SelfTime[], top: number): string {
  const rows = functions.slice(0, top).map((f) => [f.percent.toFixed(1).padStart(5), f.ms.toFixed(0).padStart(7), f.name, f.location]);
  const nameWidth = Math.max(8, ...rows.map((r) => r[2]!.length));
  return [`total ${(totalMs / 1000).toFixed(2)} s sampled`, `    %  self ms  ${'function'.padEnd(nameWidth)}  where`,
    ...rows.map((r) => `${r[0]}  ${r[1]}  ${r[2]!.padEnd(nameWidth)}  ${r[3]}`)].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 15;
  const target = args.find((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));
  if (!target || !Number.isInteger(top) || top <= 0) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile | folder> [--top 15]');
    process.exit(2);
  }
  const file = await newestProfile(target);
  const { totalMs, functions } = selfTimes(JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
  console.log(`${file}\n${formatSelfTimes(totalMs, functions, top)}`);
}
