/** How the file source finds new files and reads small ones: work per file and per idle poll, not per trigger. */
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Options } from '../../src/common/options.js';
import { FileLookup, UnseenFiles } from '../../src/connectors/file/discovery.js';
import { forEachLine } from '../../src/connectors/file/lines.js';
import { describeFiles, InputFile, InputFiles } from '../../src/connectors/file/paths.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';

after(removeTempDirs);

/** The real file system, counting listings and the files described (stat'ed). */
function countingLookup(folder: string, settleMs?: number): FileLookup & { listings: number; described: number } {
  const input = new InputFiles(folder, new Options({}));
  const lookup = {
    listings: 0,
    described: 0,
    settleMs,
    async listing() {
      lookup.listings++;
      return input.listing();
    },
    async describe(paths: readonly string[]): Promise<InputFile[]> {
      lookup.described += paths.length;
      return describeFiles(paths);
    },
  };
  return lookup;
}

async function files(folder: string, from: number, count: number): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (let i = from; i < from + count; i++) await writeFile(join(folder, `f${String(i).padStart(4, '0')}.json`), '{}\n');
}

describe('finding new files', () => {
  test('draining a backlog in small batches describes each file at most twice (listed, admitted), not once per trigger', async () => {
    const folder = await tempDir();
    await files(folder, 0, 200);
    const lookup = countingLookup(folder);
    const unseen = new UnseenFiles(lookup, 60_000);
    const admitted = new Set<string>();
    for (;;) {
      const next = await unseen.next((p) => !admitted.has(p), 10);
      if (next.length === 0) break;
      for (const f of next) admitted.add(f.path);
      unseen.admitted(next);
    }
    assert.equal(admitted.size, 200);
    assert.ok(lookup.described <= 400, `${lookup.described} files described for 200 files in 20 triggers`);
  });

  test('an idle folder is not listed again once its time has settled; a new file is found on the next trigger', async () => {
    const folder = await tempDir();
    await files(folder, 0, 3);
    // Settling is instant here (settleMs 0); an old folder time keeps the next file from landing in the same clock tick.
    await utimes(folder, 1_000, 1_000);
    const lookup = countingLookup(folder, 0);
    const unseen = new UnseenFiles(lookup, 60_000);
    const admitted = new Set<string>();
    const take = async (): Promise<string[]> => {
      const next = await unseen.next((p) => !admitted.has(p), undefined);
      for (const f of next) admitted.add(f.path);
      unseen.admitted(next);
      return next.map((f) => f.path);
    };
    assert.equal((await take()).length, 3);
    for (let i = 0; i < 50; i++) assert.deepEqual(await take(), []);
    assert.ok(lookup.listings <= 2, `${lookup.listings} listings for 51 triggers over an unchanged folder`);
    const listings = lookup.listings;
    await files(folder, 3, 1);
    assert.deepEqual(await take(), [join(folder, 'f0003.json')]);
    assert.equal(lookup.listings, listings + 1);
  });

  test('with the default wait, a folder with a sub-second modification time stops being listed soon after its last change', async () => {
    const folder = await tempDir();
    await files(folder, 0, 2);
    await utimes(folder, 1_000.25, 1_000.25);
    const lookup = countingLookup(folder);
    const unseen = new UnseenFiles(lookup, 60_000);
    assert.equal((await unseen.next(() => true, undefined)).length, 2);
    // Waits on the condition (a poll that does not list), polling as an idle query does.
    let before = -1;
    for (let polls = 0; lookup.listings !== before; polls++) {
      assert.ok(polls < 1_000, `still listing after ${polls} polls 10 ms apart`);
      before = lookup.listings;
      await new Promise((resolve) => setTimeout(resolve, 10));
      await unseen.next(() => false, undefined);
    }
  });

  test('relistIntervalMs 0 lists on every trigger (folders whose times cannot be trusted)', async () => {
    const folder = await tempDir();
    await files(folder, 0, 1);
    const lookup = countingLookup(folder, 0);
    const unseen = new UnseenFiles(lookup, 0);
    for (let i = 0; i < 5; i++) await unseen.next(() => false, undefined);
    assert.equal(lookup.listings, 5);
  });
});

describe('reading small files', () => {
  test('a small file is read through a buffer of its own size, not a fixed 8 MiB one; a prefix through one of the prefix', async () => {
    const folder = await tempDir();
    const path = join(folder, 'small.json');
    await writeFile(path, 'one\ntwo\nthree\n');
    const sizes: number[] = [];
    const allocUnsafe = Buffer.allocUnsafe;
    Buffer.allocUnsafe = (size: number): ReturnType<typeof allocUnsafe> => {
      sizes.push(size);
      return allocUnsafe(size);
    };
    const lines: string[] = [];
    const prefix: string[] = [];
    try {
      await forEachLine(path, (line) => { lines.push(line); });
      await forEachLine(path, (line) => { prefix.push(line); }, 8);
    } finally {
      Buffer.allocUnsafe = allocUnsafe;
    }
    assert.deepEqual(lines, ['one', 'two', 'three']);
    assert.deepEqual(prefix, ['one', 'two']);
    assert.ok(Math.max(...sizes) <= 64 * 1024, `buffers allocated: ${sizes.join(', ')}`);
    assert.equal(sizes.at(-1), 8);
  });
});
