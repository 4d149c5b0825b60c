import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { PrefixedStorage } from '../../src/checkpoint/prefixed-storage.js';
import { AnalysisError, CheckpointError, ConnectorError, MalformedRecordError } from '../../src/common/errors.js';
import { Options, OptionValue } from '../../src/common/options.js';
import { Row, Schema, toSchema, typeToString } from '../../src/common/schema.js';
import { FileSource, readFiles } from '../../src/connectors/file/index.js';
import { Offset } from '../../src/sources/source.js';
import { removeTempDirs, tempDir } from '../api/helpers.js';
import { POISON } from '../codec/poison.js';

after(removeTempDirs);

const tempFolder = (): Promise<string> => tempDir('weir-file-source-');

type Format = 'json' | 'csv' | 'text';

function makeSource(format: Format, path: string, options: Record<string, OptionValue> = {},
  schema: string | Schema | null = 'ts TIMESTAMP, user STRING, amount DOUBLE'): FileSource {
  return new FileSource({
    format, path, options: new Options(options, `${format} source`),
    schema: schema === null ? null : typeof schema === 'string' ? toSchema(schema) : schema,
  }, format);
}

async function opened(source: FileSource, checkpoint: string): Promise<FileSource> {
  await source.open({
    storage: new PrefixedStorage(new FileSystemStorage(checkpoint), 'sources/0'), queryId: 'query-1',
    notifyDataAvailable: () => undefined,
  });
  return source;
}

/** Writes a file with a given modification time (seconds), so the admission order is under test control. */
async function put(dir: string, name: string, content: string, mtimeSeconds = 1_000): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), content);
  await utimes(join(dir, name), mtimeSeconds, mtimeSeconds);
}

const event = (user: string, amount: number): string =>
  JSON.stringify({ ts: '2024-01-01T00:00:00.000Z', user, amount });

async function readAll(source: FileSource, start: Offset | null, end: Offset): Promise<string[]> {
  return (await source.getBatch(start, end)).map((r) => `${r['user']}:${r['amount']}`);
}

function rejects(fn: () => Promise<unknown>, check: (err: unknown) => boolean): Promise<void> {
  return assert.rejects(fn, (err: unknown) => {
    if (!check(err)) throw err;
    return true;
  });
}

describe('file source options', () => {
  test('a streaming json or csv source needs a schema, and the error names the path and .schema()', () => {
    for (const format of ['json', 'csv'] as const) {
      assert.throws(() => makeSource(format, 'data/events', {}, null), (err: unknown) =>
        err instanceof AnalysisError && err.code === 'MISSING_SCHEMA' && err.message.includes("'data/events'") &&
        err.message.includes('.schema('));
    }
  });

  test('text has the fixed schema value STRING and refuses another', () => {
    assert.deepEqual(makeSource('text', 'in', {}, null).schema.map((f) => `${f.name} ${String(f.type)}`), ['value string']);
    assert.throws(() => makeSource('text', 'in', {}, 'a INT, b STRING'), (err: unknown) =>
      err instanceof AnalysisError && err.code === 'INVALID_SCHEMA' && /value STRING/.test(err.message));
  });

  test('a path is required; a bad mode, maxFilesPerTrigger, compactInterval or relistIntervalMs names the option', () => {
    assert.throws(() => new FileSource({ format: 'json', path: null, options: new Options({}), schema: toSchema('a INT') }, 'json'),
      (err: unknown) => err instanceof AnalysisError && err.code === 'MISSING_PATH' && /\.load\(/.test(err.message));
    assert.throws(() => makeSource('json', 'in', { mode: 'LENIENT' }), (err: unknown) =>
      err instanceof AnalysisError && /'mode'/.test(err.message) && /FAILFAST/.test(err.message));
    assert.throws(() => makeSource('json', 'in', { maxFilesPerTrigger: 0 }), (err: unknown) =>
      err instanceof AnalysisError && /'maxFilesPerTrigger'/.test(err.message));
    assert.throws(() => makeSource('json', 'in', { compactInterval: 0 }), (err: unknown) =>
      err instanceof AnalysisError && /'compactInterval'/.test(err.message));
    assert.throws(() => makeSource('json', 'in', { relistIntervalMs: -1 }), (err: unknown) =>
      err instanceof AnalysisError && /'relistIntervalMs'/.test(err.message));
  });

  test('the corrupt-record column must be a string, and csv cannot read nested columns', () => {
    assert.throws(() => makeSource('json', 'in', {}, 'a INT, _corrupt_record INT'), (err: unknown) =>
      err instanceof AnalysisError && err.code === 'INVALID_SCHEMA' && /'_corrupt_record'/.test(err.message));
    const nested: Schema = [{ name: 'w', nullable: true, type: { kind: 'struct', fields: [{ name: 'a', type: 'long', nullable: true }] } }];
    assert.throws(() => makeSource('csv', 'in', {}, nested), (err: unknown) =>
      err instanceof AnalysisError && /'w'/.test(err.message) && /flat/.test(err.message));
  });

  test('a streaming source refuses a file as its path', async () => {
    const dir = await tempFolder();
    await put(dir, 'one.json', event('a', 1));
    await rejects(() => opened(makeSource('json', join(dir, 'one.json')), join(dir, 'cp')), (err) =>
      err instanceof AnalysisError && err.code === 'INVALID_PATH' && err.message.includes('one.json'));
  });
});

describe('file source offsets and the seen-files log', () => {
  test('new files become the next offset; nothing new returns the start; a missing folder is no data yet', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    const source = await opened(makeSource('json', input), join(dir, 'cp'));
    assert.equal(await source.latestOffset(null), null);
    await put(input, 'a.json', `${event('a', 1)}\n${event('a', 2)}\n`, 1_000);
    await put(input, 'b.json', event('b', 3), 1_001);
    const first = await source.latestOffset(null);
    assert.deepEqual(first, { logOffset: 1 });
    assert.deepEqual(await readAll(source, null, first), ['a:1', 'a:2', 'b:3']);
    assert.deepEqual(await source.latestOffset(first), { logOffset: 1 });
    await put(input, 'c.json', event('c', 4), 1_002);
    const second = await source.latestOffset(first);
    assert.deepEqual(second, { logOffset: 2 });
    assert.deepEqual(await readAll(source, first, second), ['c:4']);
    assert.deepEqual(source.metrics(second), { numFilesRead: 1, numMalformedRecords: 0 });
  });

  test('a re-created source over the same checkpoint never re-admits a file, and replays any range the same', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    const checkpoint = join(dir, 'cp');
    await put(input, 'a.json', event('a', 1), 1_000);
    await put(input, 'b.json', event('b', 2), 1_001);
    const one = await opened(makeSource('json', input, { maxFilesPerTrigger: 1 }), checkpoint);
    const o1 = await one.latestOffset(null);
    const o2 = await one.latestOffset(o1);
    const before = [await readAll(one, null, o1), await readAll(one, o1, o2), await readAll(one, null, o2)];
    assert.deepEqual(before, [['a:1'], ['b:2'], ['a:1', 'b:2']]);

    // A seen file touched again (newer time) is not admitted again; a new file is.
    await utimes(join(input, 'a.json'), 2_000, 2_000);
    await put(input, 'c.json', event('c', 3), 1_500);
    const two = await opened(makeSource('json', input, { maxFilesPerTrigger: 1 }), checkpoint);
    const o3 = await two.latestOffset(o2);
    assert.deepEqual(o3, { logOffset: 3 });
    assert.deepEqual(await readAll(two, o2, o3), ['c:3']);
    assert.deepEqual(await two.latestOffset(o3), o3);
    assert.deepEqual([await readAll(two, null, o1), await readAll(two, o1, o2), await readAll(two, null, o2)], before);
  });

  test('an offset logged but never planned (a crash in between) is returned again after a restart, as logged', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    const checkpoint = join(dir, 'cp');
    await put(input, 'a.json', event('a', 1), 1_000);
    const crashed = await opened(makeSource('json', input), checkpoint);
    assert.deepEqual(await crashed.latestOffset(null), { logOffset: 1 });
    await put(input, 'b.json', event('b', 2), 1_001);
    const restarted = await opened(makeSource('json', input), checkpoint);
    const end = await restarted.latestOffset(null);
    assert.deepEqual(end, { logOffset: 1 });
    assert.deepEqual(await readAll(restarted, null, end), ['a:1']);
    assert.deepEqual(await restarted.latestOffset(end), { logOffset: 2 });
  });

  test('maxFilesPerTrigger admits the oldest files first (modification time, then name)', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    // Names run against modification times: the order must follow the times.
    for (const [i, name] of ['e', 'd', 'c', 'b', 'a'].entries()) await put(input, `${name}.json`, event(name, i), 1_000 + i);
    await put(input, 'tie2.json', event('tie2', 9), 5_000);
    await put(input, 'tie1.json', event('tie1', 9), 5_000);
    const source = await opened(makeSource('json', input, { maxFilesPerTrigger: 2 }), join(dir, 'cp'));
    const batches: string[][] = [];
    let start: Offset | null = null;
    for (;;) {
      const end = await source.latestOffset(start);
      if (end === null || JSON.stringify(end) === JSON.stringify(start)) break;
      batches.push((await source.getBatch(start, end)).map((r) => r['user'] as string));
      start = end;
    }
    assert.deepEqual(batches, [['e', 'd'], ['c', 'b'], ['a', 'tie1'], ['tie2']]);
  });

  test('pending offsets after a restart are grouped within maxFilesPerTrigger', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    const checkpoint = join(dir, 'cp');
    for (const name of ['a', 'b', 'c']) await put(input, `${name}.json`, event(name, 1), name.charCodeAt(0));
    const first = await opened(makeSource('json', input, { maxFilesPerTrigger: 1 }), checkpoint);
    let o: Offset | null = null;
    for (let i = 0; i < 3; i++) o = await first.latestOffset(o);
    const wider = await opened(makeSource('json', input, { maxFilesPerTrigger: 2 }), checkpoint);
    assert.deepEqual(await wider.latestOffset(null), { logOffset: 2 });
    const unlimited = await opened(makeSource('json', input), checkpoint);
    assert.deepEqual(await unlimited.latestOffset(null), { logOffset: 3 });
  });

  test('hidden, underscore and .tmp files and sub-folders are ignored; globs and pathGlobFilter select files', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    await put(input, 'good.json', event('good', 1));
    await put(input, 'other.txt', event('txt', 1));
    await put(input, '.hidden.json', event('hidden', 1));
    await put(input, '_SUCCESS', event('underscore', 1));
    await put(input, 'partial.json.tmp', event('tmp', 1));
    await put(join(input, 'sub'), 'nested.json', event('nested', 1));
    await put(join(input, '_meta'), 'm.json', event('meta', 1));
    const users = async (path: string, options: Record<string, OptionValue> = {}): Promise<string[]> => {
      const source = await opened(makeSource('json', path, options), await tempFolder());
      const end = await source.latestOffset(null);
      return end === null ? [] : (await source.getBatch(null, end)).map((r) => r['user'] as string).sort();
    };
    assert.deepEqual(await users(input), ['good', 'txt']);
    assert.deepEqual(await users(input, { pathGlobFilter: '*.json' }), ['good']);
    assert.deepEqual(await users(join(input, '*.json')), ['good']);
    assert.deepEqual(await users(join(input, '*', '*.json')), ['nested']);
    assert.deepEqual(await users(join(input, '**', '*.json')), ['good', 'nested']);
    assert.deepEqual(await users(input, { recursiveFileLookup: true }), ['good', 'nested', 'txt']);
  });

  test('recursive lookup visits each real folder once: symbolic link loops end, dangling and looping links are skipped', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    await put(input, 'a.json', event('a', 1));
    await put(join(input, 'sub'), 'b.json', event('b', 2));
    await put(join(dir, 'elsewhere'), 'c.json', event('c', 3));
    await symlink(input, join(input, 'sub', 'back-to-top'));
    await symlink(join(dir, 'elsewhere'), join(input, 'linked'));
    await symlink(join(dir, 'elsewhere'), join(input, 'linked-again'));
    await symlink(join(input, 'missing'), join(input, 'dangling.json'));
    await symlink(join(input, 'loop1.json'), join(input, 'loop2.json'));
    await symlink(join(input, 'loop2.json'), join(input, 'loop1.json'));
    const source = await opened(makeSource('json', input, { recursiveFileLookup: true }), join(dir, 'cp'));
    const end = await source.latestOffset(null);
    assert.deepEqual((await readAll(source, null, end!)).sort(), ['a:1', 'b:2', 'c:3']);
    assert.deepEqual(await source.latestOffset(end), end);
  });

  test('availableNow: files that appear after the trigger started are left for a later run', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    await put(input, 'a.json', event('a', 1), 1_000);
    await put(input, 'b.json', event('b', 2), 1_001);
    const source = await opened(makeSource('json', input, { maxFilesPerTrigger: 1 }), join(dir, 'cp'));
    await source.prepareForTriggerAvailableNow();
    await put(input, 'c.json', event('c', 3), 900);
    const o1 = await source.latestOffset(null);
    const o2 = await source.latestOffset(o1);
    assert.deepEqual(await readAll(source, null, o2), ['a:1', 'b:2']);
    assert.deepEqual(await source.latestOffset(o2), o2);
  });

  test('a file appended to after admission: every read of its batch, also after a restart, reads the admitted bytes only', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    const checkpoint = join(dir, 'cp');
    await put(input, 'a.json', `${event('a', 1)}\n`);
    const source = await opened(makeSource('json', input), checkpoint);
    const end = await source.latestOffset(null);
    await appendFile(join(input, 'a.json'), `${event('a', 2)}\n${event('a', 3)}`);
    assert.deepEqual(await readAll(source, null, end!), ['a:1']);
    // A new process: the offset is pending (never committed), and is re-read as logged.
    const restarted = await opened(makeSource('json', input), checkpoint);
    assert.deepEqual(await restarted.latestOffset(null), end);
    assert.deepEqual(await readAll(restarted, null, end!), ['a:1']);
    // The appended tail is never read: the file is seen.
    assert.deepEqual(await restarted.latestOffset(end), end);
  });

  test('a file truncated, replaced or removed after admission fails its batch, naming the file and the way out', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    const original = `${event('a', 1)}\n${event('a', 2)}\n`;
    await put(input, 'a.json', original);
    const source = await opened(makeSource('json', input), join(dir, 'cp'));
    const end = await source.latestOffset(null);
    await writeFile(join(input, 'a.json'), `${event('a', 1)}\n`);
    await rejects(() => source.getBatch(null, end!), (err) =>
      err instanceof ConnectorError && err.code === 'FILE_CHANGED' && err.message.includes(join(input, 'a.json')) &&
      /truncated/.test(err.message) && /new checkpointLocation/.test(err.message));
    // Putting the admitted bytes back lets the batch run as planned.
    await writeFile(join(input, 'a.json'), original);
    assert.deepEqual(await readAll(source, null, end!), ['a:1', 'a:2']);
    await writeFile(join(input, '.a.json.tmp'), original);
    await rename(join(input, '.a.json.tmp'), join(input, 'a.json'));
    await rejects(() => source.getBatch(null, end!), (err) =>
      err instanceof ConnectorError && err.code === 'FILE_CHANGED' && /inode/.test(err.message));
    await rm(join(input, 'a.json'));
    await rejects(() => source.getBatch(null, end!), (err) =>
      err instanceof ConnectorError && err.code === 'FILE_MISSING' && err.message.includes(join(input, 'a.json')));
  });

  test('csv and text read the admitted prefix of a grown file too', async () => {
    for (const [format, first, more, expected] of [
      ['csv', 'ts,user,amount\n2024-01-01T00:00:00Z,a,1\n', '2024-01-01T00:00:00Z,a,2\n', 'a:1'],
      ['text', 'one\n', 'two\n', 'one'],
    ] as const) {
      const dir = await tempFolder();
      const input = join(dir, 'in');
      await put(input, `a.${format}`, first);
      const source = await opened(makeSource(format, input, {}, format === 'text' ? null : undefined), join(dir, 'cp'));
      const end = await source.latestOffset(null);
      await appendFile(join(input, `a.${format}`), more);
      const rows = await source.getBatch(null, end!);
      assert.deepEqual(rows.map((r) => format === 'text' ? r['value'] : `${r['user']}:${r['amount']}`), [expected], format);
    }
  });

  test('foreign offsets, offsets past the log and damaged log entries are checkpoint errors naming the place', async () => {
    const dir = await tempFolder();
    const input = join(dir, 'in');
    const checkpoint = join(dir, 'cp');
    await put(input, 'a.json', event('a', 1));
    const source = await opened(makeSource('json', input), checkpoint);
    await source.latestOffset(null);
    await rejects(() => source.getBatch(null, { end: 5 }), (err) =>
      err instanceof CheckpointError && err.code === 'OFFSET_FOREIGN' && /logOffset/.test(err.message));
    await rejects(() => source.getBatch(null, { logOffset: 4 }), (err) =>
      err instanceof CheckpointError && err.code === 'OFFSET_AHEAD_OF_LOG' && err.path.endsWith(join('files', '4')));
    const entry = join(checkpoint, 'sources', '0', 'files', '1');
    await writeFile(entry, (await readFile(entry, 'utf8')).replace('a.json', 'x.json'));
    await rejects(() => opened(makeSource('json', input), checkpoint), (err) =>
      err instanceof CheckpointError && err.code === 'CHECKPOINT_CORRUPT' && err.path === entry);
    await rm(entry);
    await writeFile(join(checkpoint, 'sources', '0', 'files', 'notes.txt'), 'hello');
    await rejects(() => opened(makeSource('json', input), checkpoint), (err) =>
      err instanceof CheckpointError && err.code === 'CHECKPOINT_FOREIGN' && err.path.endsWith('notes.txt'));
  });
});

/** One streaming read of a folder holding `content` as `name`. */
async function readOnce(format: Format, name: string, content: string, options: Record<string, OptionValue> = {},
  schema: string | Schema | null = 'ts TIMESTAMP, user STRING, amount DOUBLE'): Promise<{ rows: Row[]; dir: string; source: FileSource }> {
  const dir = await tempFolder();
  await put(join(dir, 'in'), name, content);
  const source = await opened(makeSource(format, join(dir, 'in'), options, schema), join(dir, 'cp'));
  const end = await source.latestOffset(null);
  return { rows: end === null ? [] : await source.getBatch(null, end), dir, source };
}

describe('file source formats and types', () => {
  test('json: types convert per schema; missing fields are null; extra fields are ignored; blank lines skipped', async () => {
    const schema = 'i INT, l LONG, d DOUBLE, b BOOLEAN, s STRING, ts TIMESTAMP, day DATE';
    const lines = [
      { i: 1, l: 2 ** 40, d: 1.5, b: true, s: 'x', ts: '2024-01-02T03:04:05.678Z', day: '2024-01-02', extra: 1 },
      { i: -2, l: 0, d: 3, b: false, s: 12, ts: 1_700_000_000_000, day: '2024-01-02T23:59:59+05:00' },
      { s: { nested: [1] }, ts: '2024-01-02 03:04', day: 86_400_000 * 3 + 5 },
      { ts: '2024-01-02T03:04:05.123456789+01:00' },
    ].map((o) => JSON.stringify(o)).join('\r\n\n  \n');
    const { rows } = await readOnce('json', 'types.json', lines, {}, schema);
    assert.deepEqual(rows, [
      { i: 1, l: 2 ** 40, d: 1.5, b: true, s: 'x', ts: Date.UTC(2024, 0, 2, 3, 4, 5, 678), day: Date.UTC(2024, 0, 2) },
      { i: -2, l: 0, d: 3, b: false, s: '12', ts: 1_700_000_000_000, day: Date.UTC(2024, 0, 2) },
      { i: null, l: null, d: null, b: null, s: '{"nested":[1]}', ts: Date.UTC(2024, 0, 2, 3, 4), day: 86_400_000 * 3 },
      { i: null, l: null, d: null, b: null, s: null, ts: Date.UTC(2024, 0, 2, 2, 4, 5, 123), day: null },
    ]);
  });

  test('json: a value of the wrong type is malformed (each type), reported with the field and the value', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['i INT', 1.5, /field 'i' is 1\.5, not an integer/],
      ['i INT', 2 ** 31, /field 'i' is 2147483648/],
      ['l LONG', 2 ** 60, /field 'l'/],
      ['l LONG', '12', /field 'l' is "12", not a long/],
      ['d DOUBLE', 'abc', /field 'd' is "abc", not a double/],
      ['b BOOLEAN', 'true', /field 'b' is "true", not a boolean/],
      ['t TIMESTAMP', 'yesterday', /field 't' is "yesterday", not a timestamp/],
      ['t TIMESTAMP', '2024-13-01T00:00:00.000Z', /field 't'/],
      ['t DATE', true, /field 't' is true, not a date/],
      ['n STRING NOT NULL', null, /field 'n' is null but the schema says NOT NULL/],
    ];
    for (const [schema, value, reason] of cases) {
      const column = schema.split(' ')[0]!;
      const { dir } = await readOnce('json', 'x.json', '{}', {}, schema);
      await put(join(dir, 'in2'), 'bad.json', `${JSON.stringify({ [column]: value })}\n`);
      const source = await opened(makeSource('json', join(dir, 'in2'), { mode: 'FAILFAST' }, schema), join(dir, 'cp2'));
      const end = await source.latestOffset(null);
      await rejects(() => source.getBatch(null, end!), (err) =>
        err instanceof MalformedRecordError && err.line === 1 && reason.test(err.message));
    }
  });

  test('values outside their type\'s domain are malformed: dropped and kept in badRecordsPath, or FAILFAST', async () => {
    const schema = 'ts TIMESTAMP, d DATE, l LONG, i INT, x DOUBLE, m DECIMAL(5,2), s STRING NOT NULL';
    const poisoned = POISON.map(([columnSchema, json]) => {
      const column = columnSchema.split(' ')[0]!;
      return column === 's' ? `{"s": ${json}}` : `{"s": "ok", "${column}": ${json}}`;
    });
    const good = '{"s": "fine", "ts": "0001-01-01T00:00:00Z", "l": 9007199254740991}';
    const bad = join(await tempFolder(), 'bad');
    const { rows } = await readOnce('json', 'poison.json', [good, ...poisoned].join('\n'), { mode: 'DROPMALFORMED', badRecordsPath: bad }, schema);
    assert.deepEqual(rows, [{ ts: -62_135_596_800_000, d: null, l: 2 ** 53 - 1, i: null, x: null, m: null, s: 'fine' }]);
    const [folder] = await readdir(bad);
    const [file] = await readdir(join(bad, folder!));
    const kept = (await readFile(join(bad, folder!, file!), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(kept.map((k) => k['record']), poisoned);
    for (const [i, [, , reason]] of POISON.entries()) assert.match(String(kept[i]!['reason']), reason);
    const failing = await readOnce('json', 'poison.json', `${good}\n${poisoned[0]!}`, { mode: 'FAILFAST' }, schema).catch((err: unknown) => err);
    assert.ok(failing instanceof MalformedRecordError && failing.line === 2 && POISON[0]![2].test(failing.message), String(failing));
    const csv = await readOnce('csv', 'poison.csv', 'ts,l\n253402300800000,1\n2023-02-29,2\n10000-01-01T00:00:00Z,3\n0,12345678901234567890\n',
      { mode: 'DROPMALFORMED', header: true }, 'ts TIMESTAMP, l LONG');
    assert.deepEqual(csv.rows, []);
  });

  test('a STRING column keeps a JSON number\'s text: 64-bit ids stay exact', async () => {
    const { rows } = await readOnce('json', 'ids.json',
      '{"id":12345678901234567890,"v":1e400}\n{"id":1.50,"v":{"a": 12345678901234567890}}', {}, 'id STRING, v STRING');
    assert.deepEqual(rows, [{ id: '12345678901234567890', v: '1e400' }, { id: '1.50', v: '{"a": 12345678901234567890}' }]);
  });

  test('text: one row per line, empty lines included, CRLF stripped', async () => {
    const { rows } = await readOnce('text', 'a.txt', 'first\r\n\nthird\nlast', {}, null);
    assert.deepEqual(rows, [{ value: 'first' }, { value: '' }, { value: 'third' }, { value: 'last' }]);
  });

  test('lines longer than a read chunk and files without a final newline are read whole', async () => {
    const long = 'x'.repeat(9 << 20);
    const { rows } = await readOnce('json', 'big.json', `${JSON.stringify({ user: long, amount: 1 })}\n${event('b', 2)}`);
    assert.equal(rows.length, 2);
    assert.equal((rows[0]!['user'] as string).length, long.length);
    assert.equal(rows[1]!['user'], 'b');
  });

  test('csv: header columns are matched by name, quoting and a custom delimiter work, empty fields are null', async () => {
    const csv = 'amount;user;ts;ignored\n1.5;"a;b";2024-01-01T00:00:00Z;x\n;"say ""hi""";1000;y\n2;"multi\nline";;z\n';
    const { rows } = await readOnce('csv', 'a.csv', csv, { sep: ';' });
    assert.deepEqual(rows, [
      { ts: Date.UTC(2024, 0, 1), user: 'a;b', amount: 1.5 },
      { ts: 1000, user: 'say "hi"', amount: null },
      { ts: null, user: 'multi\nline', amount: 2 },
    ]);
  });

  test('csv without a header reads columns by position; nullValue names the null token', async () => {
    const { rows } = await readOnce('csv', 'a.csv', '1,x,NA\r\n2,NA,3.5\n', { header: false, nullValue: 'NA' }, 'n INT, user STRING, amount DOUBLE');
    assert.deepEqual(rows, [{ n: 1, user: 'x', amount: null }, { n: 2, user: null, amount: 3.5 }]);
  });
});

describe('file source malformed records', () => {
  const json = `${event('a', 1)}\nnot json\n{"user":"b","amount":"abc"}\n[1,2]\n${event('c', 3)}\n`;

  test('PERMISSIVE with a _corrupt_record column: malformed rows keep what converted plus the raw line', async () => {
    const { rows, source } = await readOnce('json', 'a.json', json, {}, 'user STRING, amount DOUBLE, _corrupt_record STRING');
    assert.deepEqual(rows, [
      { user: 'a', amount: 1, _corrupt_record: null },
      { user: null, amount: null, _corrupt_record: 'not json' },
      { user: 'b', amount: null, _corrupt_record: '{"user":"b","amount":"abc"}' },
      { user: null, amount: null, _corrupt_record: '[1,2]' },
      { user: 'c', amount: 3, _corrupt_record: null },
    ]);
    assert.deepEqual(source.metrics({ logOffset: 1 }), { numFilesRead: 1, numMalformedRecords: 3 });
  });

  test('PERMISSIVE without the column: malformed rows are nulls; columnNameOfCorruptRecord renames the column', async () => {
    const plain = await readOnce('json', 'a.json', json, {}, 'user STRING, amount DOUBLE');
    assert.deepEqual(plain.rows.map((r) => r['user']), ['a', null, 'b', null, 'c']);
    const renamed = await readOnce('json', 'a.json', json, { columnNameOfCorruptRecord: 'bad' }, 'user STRING, bad STRING');
    assert.deepEqual(renamed.rows.map((r) => r['bad']), [null, 'not json', null, '[1,2]', null]);
  });

  test('DROPMALFORMED drops them', async () => {
    const { rows } = await readOnce('json', 'a.json', json, { mode: 'dropmalformed' }, 'user STRING, amount DOUBLE');
    assert.deepEqual(rows, [{ user: 'a', amount: 1 }, { user: 'c', amount: 3 }]);
  });

  test('FAILFAST throws MalformedRecordError naming the file and the line', async () => {
    await rejects(() => readOnce('json', 'a.json', json, { mode: 'FAILFAST' }, 'user STRING, amount DOUBLE'), (err) =>
      err instanceof MalformedRecordError && err.code === 'MALFORMED_RECORD' && err.line === 2 &&
      err.file.endsWith(join('in', 'a.json')) && err.message.includes(`${err.file} at line 2`) && /not valid JSON/.test(err.message));
    await rejects(() => readOnce('csv', 'a.csv', 'user,amount\na,1\nb\n', { mode: 'FAILFAST' }, 'user STRING, amount DOUBLE'), (err) =>
      err instanceof MalformedRecordError && err.line === 3 && /1 fields where the header has 2/.test(err.message));
    await rejects(() => readOnce('csv', 'a.csv', 'user,amount\na,1\n\nb,x\n', { mode: 'FAILFAST' }, 'user STRING, amount DOUBLE'),
      (err) => err instanceof MalformedRecordError && err.line === 4 && /field 'amount' is "x", not a double/.test(err.message));
  });

  test('csv: wrong column counts and broken quotes are malformed, and reading resumes on the next line', async () => {
    const csv = 'user,amount\na,1\nb\n"bad"x,2\nc,3,extra\n"open,4\nd,5\n';
    const { rows } = await readOnce('csv', 'a.csv', csv, {}, 'user STRING, amount DOUBLE, _corrupt_record STRING');
    assert.deepEqual(rows, [
      { user: 'a', amount: 1, _corrupt_record: null },
      { user: 'b', amount: null, _corrupt_record: 'b' },
      { user: null, amount: null, _corrupt_record: '"bad"x,2' },
      { user: 'c', amount: 3, _corrupt_record: 'c,3,extra' },
      { user: null, amount: null, _corrupt_record: '"open,4' },
      { user: 'd', amount: 5, _corrupt_record: null },
    ]);
  });

  test('badRecordsPath gets each malformed record once per batch range, rewritten (not duplicated) on a re-run', async () => {
    const dir = await tempFolder();
    const bad = join(dir, 'bad');
    await put(join(dir, 'in'), 'a.json', json);
    const source = await opened(makeSource('json', join(dir, 'in'), { mode: 'DROPMALFORMED', badRecordsPath: bad },
      'user STRING, amount DOUBLE'), join(dir, 'cp'));
    const end = await source.latestOffset(null);
    await source.getBatch(null, end!);
    await source.getBatch(null, end!);
    const [folder] = await readdir(bad);
    assert.equal(folder, 'query-1');
    const files = await readdir(join(bad, folder!));
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^json-[0-9a-f]{8}_1-1\.json$/);
    const lines = (await readFile(join(bad, folder!, files[0]!), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => [l['line'], l['record']]), [[2, 'not json'], [3, '{"user":"b","amount":"abc"}'], [4, '[1,2]']]);
    assert.equal(lines[0]!['path'], join(dir, 'in', 'a.json'));
    assert.match(String(lines[1]!['reason']), /field 'amount' is "abc", not a double/);
  });
});

describe('file batch reads', () => {
  const spec = (format: Format, path: string, options: Record<string, OptionValue> = {}, schema: string | null = null) => ({
    format, path, options: new Options(options, `${format} reader`), schema: schema === null ? null : toSchema(schema),
  });

  test('json without a schema infers one: keys sorted, long/double/boolean/string/struct, corrupt column when needed', async () => {
    const dir = await tempFolder();
    await put(dir, 'a.json', '{"n":1,"x":1,"flag":true,"s":"a","o":{"k":1}}\n{"n":2,"x":2.5,"mixed":1}\n');
    await put(dir, 'b.json', '{"mixed":"t","nothing":null}\nbroken\n');
    const { schema, rows } = await readFiles(spec('json', dir), 'json');
    assert.deepEqual(schema.map((f) => `${f.name}:${typeToString(f.type)}`),
      ['flag:boolean', 'mixed:string', 'n:long', 'nothing:string', 'o:struct<k:long>', 's:string', 'x:double', '_corrupt_record:string']);
    assert.deepEqual(rows[0], { flag: true, mixed: null, n: 1, nothing: null, o: { k: 1 }, s: 'a', x: 1, _corrupt_record: null });
    assert.equal(rows[3]!['_corrupt_record'], 'broken');
    const dropped = await readFiles(spec('json', dir, { mode: 'DROPMALFORMED' }), 'json');
    assert.equal(dropped.schema.some((f) => f.name === '_corrupt_record'), false);
    assert.equal(dropped.rows.length, 3);
  });

  test('csv infers strings, or types with inferSchema; a single file can be read', async () => {
    const dir = await tempFolder();
    await put(dir, 'a.csv', 'id,big,price,ok,at,day,name\n1,5000000000,1.5,true,2024-01-01T00:00:00Z,2024-01-01,x\n2,1,2,FALSE,,2024-01-02,\n');
    const plain = await readFiles(spec('csv', join(dir, 'a.csv')), 'csv');
    assert.deepEqual(plain.schema.map((f) => String(f.type)), Array(7).fill('string'));
    const typed = await readFiles(spec('csv', dir, { inferSchema: true }), 'csv');
    assert.deepEqual(typed.schema.map((f) => `${f.name}:${String(f.type)}`),
      ['id:integer', 'big:long', 'price:double', 'ok:boolean', 'at:timestamp', 'day:string', 'name:string']);
    assert.deepEqual(typed.rows[1], { id: 2, big: 1, price: 2, ok: false, at: null, day: '2024-01-02', name: null });
    const headless = await readFiles(spec('csv', dir, { header: false }), 'csv');
    assert.deepEqual(headless.schema.map((f) => f.name), ['_c0', '_c1', '_c2', '_c3', '_c4', '_c5', '_c6']);
    assert.equal(headless.rows.length, 3);
  });

  test('a missing path and an empty folder without a schema are analysis errors naming the path', async () => {
    const dir = await tempFolder();
    await rejects(() => readFiles(spec('json', join(dir, 'nope')), 'json'), (err) =>
      err instanceof AnalysisError && err.code === 'PATH_NOT_FOUND' && err.message.includes(join(dir, 'nope')));
    await rejects(() => readFiles(spec('json', dir), 'json'), (err) =>
      err instanceof AnalysisError && err.code === 'MISSING_SCHEMA' && err.message.includes(dir) && /\.schema\(/.test(err.message));
    assert.deepEqual((await readFiles(spec('json', dir, {}, 'a INT'), 'json')).rows, []);
  });

  test('batch reads write bad records to a fresh file under badRecordsPath', async () => {
    const dir = await tempFolder();
    await put(join(dir, 'in'), 'a.json', `${event('a', 1)}\noops\n`);
    const { rows } = await readFiles(spec('json', join(dir, 'in'), { badRecordsPath: join(dir, 'bad'), mode: 'DROPMALFORMED' },
      'user STRING'), 'json');
    assert.deepEqual(rows, [{ user: 'a' }]);
    const [file] = await readdir(join(dir, 'bad'));
    assert.match(file!, /^read-.*\.json$/);
    assert.equal(JSON.parse((await readFile(join(dir, 'bad', file!), 'utf8')).trim()).record, 'oops');
  });
});
