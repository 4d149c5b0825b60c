/** What the http source's tests share: opening a source on a temp checkpoint, posting, sample records. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { PrefixedStorage } from '../../src/checkpoint/prefixed-storage.js';
import { Options, OptionValue } from '../../src/common/options.js';
import { Row, Schema, toSchema } from '../../src/common/schema.js';
import { HttpSource } from '../../src/connectors/http/source.js';
import { tempDir } from '../api/helpers.js';

export const SCHEMA = toSchema('ts TIMESTAMP, user STRING, amount DOUBLE, n INT');

export const tempFolder = (): Promise<string> => tempDir('weir-http-');

export function makeSource(options: Record<string, OptionValue>, schema: Schema | null = SCHEMA): HttpSource {
  return new HttpSource({ format: 'http', schema, path: null, options: new Options(options, 'http source') });
}

export interface Opened {
  readonly source: HttpSource;
  readonly url: string;
  notified(): number;
}

export async function open(folder: string, options: Record<string, OptionValue> = {}, schema: Schema = SCHEMA): Promise<Opened> {
  const source = makeSource({ port: 0, ...options }, schema);
  let notified = 0;
  await source.open({
    storage: new PrefixedStorage(new FileSystemStorage(folder), 'sources/0'), queryId: 'q',
    notifyDataAvailable: () => { notified++; },
  });
  return { source, url: `http://127.0.0.1:${source.port}`, notified: () => notified };
}

export const walDir = (folder: string): string => join(folder, 'sources', '0', 'wal');
export const segments = async (folder: string): Promise<string[]> =>
  (await readdir(walDir(folder))).filter((n) => n.endsWith('.seg')).sort();

export interface Reply {
  readonly status: number;
  readonly body: { offsets?: { start: number; end: number }; duplicate?: boolean; error?: string; line?: number; record?: number };
  readonly headers: Headers;
}

export async function post(url: string, body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${url}/ingest`, {
    method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', ...headers },
  });
  return { status: res.status, body: (await res.json()) as Reply['body'], headers: res.headers };
}

export const record = (i: number): Row => ({ ts: 1_000 + i, user: `u${i}`, amount: i / 2, n: i });
export const records = (from: number, count: number): Row[] => Array.from({ length: count }, (_, i) => record(from + i));
export const jsonLines = (rows: readonly object[]): string => rows.map((r) => JSON.stringify(r)).join('\n');
