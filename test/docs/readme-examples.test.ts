/**
 * The README's examples, run exactly as written. Every `ts`, `sh` and `sql` block is either run here or marked
 * `<!-- example: illustrative (why) -->` on the line before it. A block marked `<!-- example: <name> -->`
 * gets what its name needs (the files it reads, a server it talks to); an unmarked block must run on
 * its own. TypeScript blocks are compiled together against the built package (imported as 'weir', as a
 * user would), with strict type checking, then run with node in a fresh folder.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import ts from 'typescript';
import { Weir } from '../../src/index.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';
import { connectJetStream } from '../../src/connectors/nats/client.js';
import { service } from '../connectors/services.js';

const nats = service('WEIR_TEST_NATS_URL');

after(removeTempDirs);

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Each example's run may take this long (the API example's trigger is 5 seconds); never reached when it works. */
const RUN_LIMIT_MS = 60_000;

interface Example {
  readonly lang: string;
  readonly code: string;
  /** The marker's text (`illustrative (…)` or a name), null when unmarked. */
  readonly marker: string | null;
  /** README line of the opening fence. */
  readonly line: number;
}

const RUNNABLE = new Set(['ts', 'typescript', 'sh', 'bash', 'shell', 'sql']);
const isTs = (e: Example): boolean => e.lang === 'ts' || e.lang === 'typescript';
const isIllustrative = (e: Example): boolean => e.marker?.startsWith('illustrative') ?? false;

function readmeExamples(markdown: string): Example[] {
  const lines = markdown.split('\n');
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const close = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    assert.ok(close > i, `README line ${i + 1}: a code block that is never closed`);
    const marker = /^<!-- example: (.*) -->$/.exec(lines[i - 1] ?? '')?.[1] ?? null;
    examples.push({ lang: open[1]!, code: lines.slice(i + 1, close).join('\n'), marker, line: i + 1 });
    i = close;
  }
  return examples;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs to completion within RUN_LIMIT_MS (killed past it, which fails the test with what it printed). */
function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(limit);
    resolve({ code, stdout, stderr });
  }));
}

const describeRun = (what: string, r: Run): string => `${what} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** A folder where `import ... from 'weir'` resolves to this package, as after `npm install weir`. */
async function userProject(): Promise<string> {
  const dir = await tempDir('weir-readme-');
  await mkdir(join(dir, 'node_modules'));
  await symlink(ROOT, join(dir, 'node_modules', 'weir'), 'dir');
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  return dir;
}

/** Compiles the blocks (file i is `example-<i>.ts` in `dir`) with a user's strict settings; returns the errors. */
function compile(dir: string, blocks: readonly Example[]): string[] {
  const files = blocks.map((_, i) => join(dir, `example-${i}.ts`));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    strict: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
  });
  const emitted = program.emit();
  return [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('README examples', () => {
  let examples: Example[] = [];
  let project = '';
  /** Compiled blocks by index into `examples`: the script to run. */
  const scripts = new Map<number, string>();

  before(async () => {
    examples = readmeExamples(await readFile(join(ROOT, 'README.md'), 'utf8'));
    project = await userProject();
    const tsBlocks = examples.filter((e) => isTs(e) && !isIllustrative(e));
    await Promise.all(tsBlocks.map((e, i) => writeFile(join(project, `example-${i}.ts`), e.code)));
    const errors = compile(project, tsBlocks);
    assert.deepEqual(errors, [], `README TypeScript examples do not compile:\n${errors.join('\n')}`);
    tsBlocks.forEach((e, i) => scripts.set(examples.indexOf(e), join(project, `example-${i}.js`)));
  });

  const named = (name: string): Example => {
    const found = examples.find((e) => e.marker === name);
    assert.ok(found, `README has no example marked '${name}'`);
    return found;
  };
  const scriptOf = (e: Example): string => scripts.get(examples.indexOf(e))!;

  test('every ts and sh block is run by this test or marked illustrative', () => {
    const known = new Set(['api', 'http-server', 'http-client', 'pipeline-sql', 'replicated-ingest']);
    const runnable = examples.filter((e) => RUNNABLE.has(e.lang) && !isIllustrative(e));
    assert.ok(runnable.length >= 3, 'the README has runnable examples');
    for (const e of runnable) {
      assert.ok(e.marker === null || known.has(e.marker),
        `README line ${e.line}: example '${e.marker}' is unknown to this test; mark it illustrative or teach the test its setup`);
    }
    for (const name of known) named(name);
    const illustrative = examples.filter(isIllustrative);
    assert.ok(illustrative.every((e) => /^illustrative \(.+\)$/.test(e.marker!)), 'an illustrative mark says why');
  });

  test('the SQL pipeline runs with weir run and writes each closed minute once', { timeout: RUN_LIMIT_MS * 2 }, async () => {
    const cwd = await tempDir('weir-readme-sql-');
    await writeFile(join(cwd, 'pipeline.sql'), named('pipeline-sql').code);
    await mkdir(join(cwd, 'data', 'views'), { recursive: true });
    const at = (minute: number, second: number): string => new Date(Date.UTC(2024, 0, 1, 0, minute, second)).toISOString();
    const views = [
      { ts: at(0, 1), page: 'home', user: 'ann' }, { ts: at(0, 20), page: 'home', user: 'bob' },
      { ts: at(0, 40), page: 'home', user: 'ann' }, { ts: at(0, 50), page: 'cart', user: 'cy' },
      { ts: at(1, 5), page: 'home', user: 'ann' }, { ts: at(1, 7), page: null, user: 'dee' },
      // Far later: the watermark passes the first two minutes, whose counts are then final.
      { ts: at(5, 0), page: 'home', user: 'eve' },
    ];
    await writeFile(join(cwd, 'data', 'views', 'part-0.json'), views.map((v) => JSON.stringify(v)).join('\n'));
    const r = await run(process.execPath, [join(ROOT, 'bin', 'weir.js'), 'run', 'pipeline.sql'], cwd);
    assert.equal(r.code, 0, describeRun('weir run pipeline.sql', r));
    const rows = await new Weir().read.format('json').schema('minute TIMESTAMP, page STRING, views LONG, visitors LONG')
      .load(join(cwd, 'out', 'views_per_minute')).collect();
    assert.deepEqual(rows.map((row) => `${new Date(row['minute'] as number).toISOString()} ${row['page']} ${row['views']} ${row['visitors']}`).sort(), [
      `${at(0, 0)} cart 1 1`, `${at(0, 0)} home 3 2`, `${at(1, 0)} home 1 1`,
    ]);
  });

  test('the API example runs over a folder of events', { timeout: RUN_LIMIT_MS * 2 }, async () => {
    const cwd = await tempDir('weir-readme-api-');
    await mkdir(join(cwd, 'data', 'events'), { recursive: true });
    const events = [0, 20, 70, 130].map((s, i) => ({ ts: new Date(Date.UTC(2024, 0, 1, 0, 0, s)).toISOString(), user: `u${i % 2}`, amount: i }));
    await writeFile(join(cwd, 'data', 'events', 'part-0.json'), events.map((e) => JSON.stringify(e)).join('\n'));
    const r = await run(process.execPath, [scriptOf(named('api'))], cwd);
    assert.equal(r.code, 0, describeRun('the API example', r));
    assert.match(r.stdout, /batchId/, 'it printed the last progress');
  });

  test('the HTTP example serves on port 8080 and the curl example ingests into it, once', { timeout: RUN_LIMIT_MS * 2 },
    async (t) => {
      const cwd = await tempDir('weir-readme-http-');
      const server: ChildProcess = spawn(process.execPath, [scriptOf(named('http-server'))], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      t.after(() => { server.kill('SIGKILL'); });
      let out = '';
      let err = '';
      let ended: number | null = null;
      server.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      server.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      server.on('exit', (code) => { ended = code ?? -1; });
      const printed = async (text: string): Promise<void> => {
        while (!out.includes(text)) {
          if (ended !== null) assert.fail(`the HTTP example ended (${ended}) before printing '${text}' (is port 8080 taken?)\n${out}\n${err}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      await printed('listening');
      const client = named('http-client').code;
      const first = await run('bash', ['-c', client], cwd);
      assert.equal(first.code, 0, describeRun('the curl example', first));
      assert.equal(first.stdout, '{"offsets":{"start":0,"end":2}}');
      const again = await run('bash', ['-c', client], cwd);
      assert.equal(again.stdout, '{"offsets":{"start":0,"end":2},"duplicate":true}', describeRun('the curl example again', again));
      await printed('gadget');
      assert.match(out, /widget/);
      const health = (await (await fetch('http://127.0.0.1:8080/health')).json()) as { walEnd: number };
      assert.equal(health.walEnd, 2, 'the retry ingested nothing');
    });

  test('the replicated ingest example keeps its log and checkpoint on the NATS cluster; a key holds once',
    { timeout: RUN_LIMIT_MS * 2, skip: nats.skip }, async (t) => {
      const servers = nats.url().replace(/^nats:\/\//, '');
      const admin = await connectJetStream([nats.url()], 'test');
      const streams = ['WEIR_INGEST_orders', 'KV_weir_orders-query', 'OBJ_weir_orders-query'];
      const clear = async (): Promise<void> => { for (const s of streams) await admin.jsm.streams.delete(s).catch(() => false); };
      await clear();
      t.after(async () => { await clear(); await admin.nc.close(); });
      const cwd = await tempDir('weir-readme-replicated-');
      const server: ChildProcess = spawn(process.execPath, [scriptOf(named('replicated-ingest'))],
        { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NATS_SERVERS: servers } });
      t.after(() => { server.kill('SIGKILL'); });
      let out = '';
      let err = '';
      server.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      server.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      while (!out.includes('listening')) {
        if (server.exitCode !== null) assert.fail(`the example ended (${server.exitCode}) before listening (is port 8081 taken?)\n${out}\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const send = async (): Promise<unknown> => (await fetch('http://127.0.0.1:8081/ingest', {
        method: 'POST', body: '{"ts": "2024-05-01T12:00:00Z", "item": "widget", "qty": 3}',
        headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': 'order-17' },
      })).json();
      assert.deepEqual(await send(), { offsets: { start: 0, end: 1 } });
      assert.deepEqual(await send(), { offsets: { start: 0, end: 1 }, duplicate: true });
      while (!out.includes('widget')) {
        if (server.exitCode !== null) assert.fail(`the example ended (${server.exitCode}) before printing the record\n${out}\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });

  test('blocks without a mark run on their own', { timeout: RUN_LIMIT_MS * 4 }, async () => {
    for (const e of examples.filter((x) => RUNNABLE.has(x.lang) && x.marker === null)) {
      const cwd = await tempDir('weir-readme-');
      const r = isTs(e) ? await run(process.execPath, [scriptOf(e)], cwd) : await run('bash', ['-c', e.code], cwd);
      assert.equal(r.code, 0, describeRun(`the example at README line ${e.line}`, r));
    }
  });
});
