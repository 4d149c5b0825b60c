import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** What a fresh clone holds that the package build needs (no dist/). */
const CLONE = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'src', 'bin', 'scripts'];

interface PackResult {
  readonly filename: string;
  readonly integrity: string;
  readonly files: readonly { readonly path: string }[];
}

interface LockEntry {
  readonly dev?: boolean;
  readonly [field: string]: unknown;
}

async function sh(command: string, args: readonly string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, maxBuffer: 64 * 1024 * 1024, shell: process.platform === 'win32' });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/**
 * The app's lockfile: weir from the tarball, and weir's runtime dependencies at exactly the versions
 * (and integrity hashes) of this repository's lockfile, so `npm install --offline` takes them from the
 * npm cache that `npm ci` filled, without asking the registry for package metadata.
 */
async function appLockfile(tarball: string, integrity: string): Promise<unknown> {
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const runtime = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && entry.dev !== true);
  return {
    name: 'weir-package-check', lockfileVersion: 3, requires: true,
    packages: {
      '': { name: 'weir-package-check', dependencies: { weir: `file:${tarball}` } },
      'node_modules/weir': {
        version: manifest['version'], resolved: `file:${tarball}`, integrity, license: manifest['license'],
        dependencies: manifest['dependencies'], bin: manifest['bin'], engines: manifest['engines'],
      },
      ...Object.fromEntries(runtime),
    },
  };
}

const APP = `import { Weir, col, count } from 'weir';

const weir = new Weir();
const words = weir.memoryStream('word STRING');
const query = await words.toDF().groupBy(col('word')).agg(count('*').as('n'))
  .writeStream.format('memory').queryName('counts').outputMode('complete').start();
words.addData([{ word: 'a' }, { word: 'b' }, { word: 'a' }]);
await query.processAllAvailable();
await query.stop();
console.log(JSON.stringify(weir.memorySink('counts').rows.sort((x, y) => (x.word < y.word ? -1 : 1))));
`;

const TYPED_APP = `import { Weir, type OutputMode, type StreamingQuery } from 'weir';

const mode: OutputMode = 'update';
export function start(weir: Weir): Promise<StreamingQuery> {
  return weir.readStream.format('rate').load().writeStream.format('console').outputMode(mode).start();
}
`;

test('npm pack of a fresh clone gives a package that installs offline, imports, runs a query, type-checks and runs the CLI', async () => {
  const work = await mkdtemp(join(tmpdir(), 'weir-package-'));
  try {
    const clone = join(work, 'weir');
    for (const entry of CLONE) await cp(join(ROOT, entry), join(clone, entry), { recursive: true });
    // The clone's dev dependencies (TypeScript, for the prepack build) are this checkout's.
    await symlink(await realpath(join(ROOT, 'node_modules')), join(clone, 'node_modules'), 'junction');

    const packOutput = await sh(NPM, ['pack', '--json', '--pack-destination', work], clone);
    const [packed] = JSON.parse(packOutput.slice(packOutput.indexOf('[\n'))) as PackResult[];
    assert.ok(packed, packOutput);
    const files = packed.files.map((f) => f.path.replaceAll('\\', '/'));
    for (const needed of ['package.json', 'README.md', 'bin/weir.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js',
      'dist/src/monitoring/ui/index.html']) {
      assert.ok(files.includes(needed), `the package holds ${needed} (built by prepack: the clone had no dist/)`);
    }
    // The web UI's page files ship next to its server (copied by the build).
    const stray = files.filter((f) => !/^(package\.json|README\.md|bin\/[^/]+\.js|dist\/src\/.+\.(js|d\.ts)|dist\/src\/monitoring\/ui\/[^/]+\.(html|css))$/.test(f));
    assert.deepEqual(stray, [], 'no sources, tests, benchmarks or source maps in the package');

    const app = join(work, 'app');
    await mkdir(app);
    const tarball = `../${packed.filename}`;
    await writeFile(join(app, 'package.json'), JSON.stringify({
      name: 'weir-package-check', private: true, type: 'module', dependencies: { weir: `file:${tarball}` },
    }, null, 2));
    await writeFile(join(app, 'package-lock.json'), JSON.stringify(await appLockfile(tarball, packed.integrity), null, 2));
    await sh(NPM, ['install', '--offline', '--no-audit', '--no-fund'], app);

    await writeFile(join(app, 'app.mjs'), APP);
    assert.equal((await sh(process.execPath, ['app.mjs'], app)).trim(), '[{"word":"a","n":2},{"word":"b","n":1}]');

    await writeFile(join(app, 'typed.ts'), TYPED_APP);
    await sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck',
      '--module', 'nodenext', '--moduleResolution', 'nodenext', 'typed.ts'], app);

    const help = await sh(NPX, ['--offline', 'weir', '--help'], app);
    assert.match(help, /Usage: weir/);
    assert.match(help, /inspect/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
