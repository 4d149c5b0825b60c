import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Weir } from '../../src/index.js';
import { EnvSubstitution } from '../../src/cli/run/secrets.js';
import { mulberry32, testSeed } from '../connectors/harness.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

const WEIR = fileURLToPath(new URL('../../../bin/weir.js', import.meta.url));

const PIPELINE = `
CREATE TABLE clicks (ts TIMESTAMP, page STRING, WATERMARK FOR ts AS ts - INTERVAL 0 SECONDS)
WITH ('format' = 'json', 'path' = 'in', 'maxFilesPerTrigger' = '1');
CREATE TABLE counts WITH ('format' = 'json', 'path' = 'out', 'trigger' = 'availableNow');
INSERT INTO counts
SELECT window.start AS start, page, count(*) AS n FROM clicks GROUP BY window(ts, INTERVAL 10 SECONDS), page;
`;

/** Runs `weir run pipeline.sql` in `cwd`; SIGKILLs it after `killAfterMs` when given. Resolves with its signal, or null. */
function runPipeline(cwd: string, killAfterMs?: number): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, [WEIR, 'run', 'pipeline.sql'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve, reject) => child.on('exit', (code, signal) => {
    clearTimeout(timer);
    if (code !== null && code !== 0) reject(new Error(`weir run exited with ${code}: ${stderr}`));
    else resolve(signal);
  }));
}

describe('weir run', () => {
  test('a SQL pipeline SIGKILLed at random moments and run again writes every window exactly once', { timeout: 240_000 }, async (t) => {
    const seed = testSeed(t);
    const random = mulberry32(seed);
    const cwd = await tempDir('weir-sql-crash-');
    await mkdir(join(cwd, 'in'));
    await writeFile(join(cwd, 'pipeline.sql'), PIPELINE);
    const expected = new Map<string, number>();
    // 24 files of 25 clicks, 2.5 s of event time each: the watermark passes a window every four files.
    for (let f = 0; f < 24; f++) {
      const lines: string[] = [];
      for (let i = 0; i < 25; i++) {
        const ts = f * 2_500 + i * 100;
        const page = ['home', 'cart', 'help'][Math.floor(random() * 3)]!;
        lines.push(JSON.stringify({ ts: new Date(ts).toISOString(), page }));
        const key = `${Math.floor(ts / 10_000) * 10_000} ${page}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
      await writeFile(join(cwd, 'in', `part-${String(f).padStart(3, '0')}.json`), lines.join('\n'));
    }
    let kills = 0;
    for (let run = 0; run < 6; run++) {
      if (await runPipeline(cwd, 400 + Math.floor(random() * 1_200)) === 'SIGKILL') kills++;
    }
    assert.equal(await runPipeline(cwd), null, 'the last run finishes');
    t.diagnostic(`${kills} of 6 runs were killed before they finished`);
    assert.ok(kills > 0, `no run was killed (seed ${seed}): the test proved nothing`);
    const rows = await new Weir().read.format('json').schema('start TIMESTAMP, page STRING, n LONG').load(join(cwd, 'out')).collect();
    const written = rows.map((r) => `${r['start']} ${r['page']} ${r['n']}`).sort();
    // The last file's windows stay open (the watermark has not passed them): only closed windows are final.
    const closed = [...expected].filter(([key]) => Number(key.split(' ')[0]) + 10_000 <= 23 * 2_500)
      .map(([key, n]) => `${key} ${n}`).sort();
    assert.deepEqual(written, closed);
  });

  test('${NAME} takes the environment variable, and its value never appears in what weir run prints', () => {
    const env = new EnvSubstitution({ PG_PASSWORD: 's3cr:t/pw' });
    const text = env.apply("'url' = 'postgres://weir:${PG_PASSWORD}@db/app'", 'pipeline.sql');
    assert.equal(text, "'url' = 'postgres://weir:s3cr:t/pw@db/app'");
    assert.equal(env.redact('cannot connect to postgres://weir:s3cr:t/pw@db/app (s3cr%3At%2Fpw)'),
      'cannot connect to postgres://weir:${PG_PASSWORD}@db/app (${PG_PASSWORD})');
    assert.throws(() => new EnvSubstitution({}).apply('${MISSING}', 'pipeline.sql'), /environment variable MISSING is not set/);
  });
});
