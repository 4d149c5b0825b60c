/**
 * Checkpoint paths as key-value keys. Each path component becomes one subject token, so a folder is a
 * key prefix that a wildcard (`f.state.0.>`) lists. Characters a token cannot hold ('.', and anything
 * outside letters, digits, '-' and '_') are written `=XX` per UTF-8 byte: `state/0/1/5.delta` is
 * `f.state.0.1.5=2Edelta`. Files live under `f.`, the storage's own entries (the lease) under `c.`.
 */
const FILE_PREFIX = 'f';

export const LEASE_KEY = 'c.lease';

export function fileKey(path: string): string {
  if (path === '') return FILE_PREFIX;
  return `${FILE_PREFIX}.${path.split('/').map(encodeToken).join('.')}`;
}

/** The names directly under `folderKey` among `keys` (each key once, decoded). */
export function childNames(folderKey: string, keys: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(`${folderKey}.`)) continue;
    names.add(decodeToken(key.slice(folderKey.length + 1).split('.')[0]!));
  }
  return [...names];
}

function encodeToken(component: string): string {
  let out = '';
  for (const byte of Buffer.from(component, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(ch) ? ch : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decodeToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '=') {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
