// Embedded key-value stores measured on weir's state workload: N keys of count+sum state, then a
// restart (open + first get) and a batch commit of 10 k changed keys with a durable sync. Each store
// runs in its own process so RSS is its own. Usage (classic-level is not a dependency):
//   npm install --no-save classic-level && node bench/candidates/state-stores.mjs 1000000
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';

const CHANGED = 10_000;
const key = (i) => `user-${i}`;
const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const diskMb = (dir) => Math.round(readdirSync(dir, { recursive: true }).reduce((s, f) => {
  const st = statSync(join(dir, f)); return s + (st.isFile() ? st.blocks * 512 : 0);
}, 0) / 2 ** 20);

const stores = {
  async lmdb(dir, phase, n) {
    const { open } = await import('lmdb');
    const t0 = performance.now();
    const db = open({ path: dir, encoding: 'msgpack', mapSize: 64 * 2 ** 30 });
    if (phase === 'load') {
      for (let start = 0; start < n; start += 100_000) {
        await db.transaction(() => { for (let i = start; i < Math.min(n, start + 100_000); i++) db.put(key(i), [1, i]); });
      }
      return {};
    }
    const first = db.get(key(7));
    const openMs = performance.now() - t0;
    const c0 = performance.now();
    await db.transaction(() => { for (let i = 0; i < CHANGED; i++) { const k = key((i * 7919) % n); const v = db.get(k); db.put(k, [v[0] + 1, v[1] + i]); } });
    const commitMs = performance.now() - c0;
    const g0 = performance.now();
    let s = 0; for (let i = 0; i < 100_000; i++) s += db.get(key((i * 104729) % n))[0];
    const getUs = ((performance.now() - g0) / 100_000) * 1000;
    await db.close();
    return { openMs, commitMs, getUs, ok: first[1] === 7 && s > 0 };
  },
  async 'classic-level'(dir, phase, n) {
    const { ClassicLevel } = await import('classic-level');
    const t0 = performance.now();
    const db = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    if (phase === 'load') {
      for (let start = 0; start < n; start += 100_000) {
        const batch = db.batch();
        for (let i = start; i < Math.min(n, start + 100_000); i++) batch.put(key(i), pack([1, i]));
        await batch.write();
      }
      await db.close();
      return {};
    }
    const first = unpack(await db.get(key(7)));
    const openMs = performance.now() - t0;
    const c0 = performance.now();
    const batch = db.batch();
    for (let i = 0; i < CHANGED; i++) { const k = key((i * 7919) % n); const v = unpack(await db.get(k)); batch.put(k, pack([v[0] + 1, v[1] + i])); }
    await batch.write({ sync: true });
    const commitMs = performance.now() - c0;
    const g0 = performance.now();
    let s = 0; for (let i = 0; i < 100_000; i++) s += unpack(await db.get(key((i * 104729) % n)))[0];
    const getUs = ((performance.now() - g0) / 100_000) * 1000;
    await db.close();
    return { openMs, commitMs, getUs, ok: first[1] === 7 && s > 0 };
  },
};

const [name, dir, phase, n] = process.argv.slice(2);
if (phase) {
  const result = await stores[name](dir, phase, Number(n));
  process.stdout.write(JSON.stringify({ ...result, rssMb: rssMb() }));
} else {
  const keys = Number(process.argv[2] ?? 1_000_000);
  for (const store of Object.keys(stores)) {
    const where = mkdtempSync(join(tmpdir(), 'weir-candidate-'));
    try {
      const l0 = performance.now();
      const load = JSON.parse(execFileSync(process.execPath, [process.argv[1], store, where, 'load', String(keys)], { encoding: 'utf8' }));
      const loadS = (performance.now() - l0) / 1000;
      const run = JSON.parse(execFileSync(process.execPath, [process.argv[1], store, where, 'restart', String(keys)], { encoding: 'utf8' }));
      console.log(JSON.stringify({ store, keys, loadS: +loadS.toFixed(1), loadRssMb: load.rssMb, restartOpenMs: +run.openMs.toFixed(1),
        commit10kChangedMs: +run.commitMs.toFixed(1), pointGetUs: +run.getUs.toFixed(2), restartRssMb: run.rssMb, diskMb: diskMb(where), ok: run.ok }));
    } finally { rmSync(where, { recursive: true, force: true }); }
  }
}
