import { open, readFile } from 'node:fs/promises';
import { ConnectorError, errorMessage } from '../../common/errors.js';

/** Bytes per read at most. Big enough that decoding and line splitting dominate, small enough to bound memory. */
const CHUNK_BYTES = 8 << 20;
/** Bytes per read at least when the length is not known up front (a file that grows while it is read). */
const MIN_CHUNK_BYTES = 64 << 10;

/** The lines of a file one reader takes: those whose first byte is at or after `from` and before `to`. */
export interface LineRange {
  readonly from: number;
  readonly to: number;
}

/**
 * Calls `onLine(text, lineNumber)` for every line of a file (1-based numbers; `\r\n` and `\n` both
 * end a line; a UTF-8 byte order mark is dropped) and resolves to the number of bytes read. With
 * `length`, reads only the first `length` bytes (fewer if the file is shorter): a streaming source
 * reads the prefix it admitted. Reads in chunks sized to the file (up to 8 MiB), the next chunk in
 * flight while the current one is split, so a file of any size streams through bounded memory and a
 * small file costs one small buffer.
 *
 * With `range` (and `length`), only the lines starting in the range, numbered from 1 within it: ranges
 * that cut a file anywhere give every line to exactly one of them, so threads can share a file. It
 * then resolves to `length` once its last line is read whole, or to where the file ended if it ended
 * before that.
 */
export async function forEachLine(path: string, onLine: (line: string, lineNumber: number) => void,
  length?: number, range?: LineRange): Promise<number> {
  const handle = await openInput(path);
  let pending: Promise<{ bytesRead: number }> | null = null;
  try {
    const expected = length ?? await handle.stat().then((s) => s.size, (err: unknown) => { throw readError(path, err); });
    // A range starts one byte early: a line starts at `from` exactly when the byte before it ends a line.
    const first = range?.from ?? 0;
    const start = first === 0 ? 0 : first - 1;
    const chunk = Math.min(CHUNK_BYTES, length === undefined ? Math.max(expected, MIN_CHUNK_BYTES)
      : Math.max(Math.min(expected - start, range === undefined ? expected : range.to - start + 4096), 1));
    // The second buffer only exists for files longer than one chunk.
    const buffers: Buffer[] = [Buffer.allocUnsafe(chunk)];
    let current = 0;
    let bytes = 0;
    /** The next read, from where the previous one ended; null once `length` bytes are in. */
    const read = (index: number): Promise<{ bytesRead: number }> | null => {
      const want = length === undefined ? chunk : Math.min(chunk, length - start - bytes);
      if (want <= 0) return null;
      const buffer = (buffers[index] ??= Buffer.allocUnsafe(chunk));
      return handle.read(buffer, 0, want, start + bytes).catch((err: unknown) => { throw readError(path, err); });
    };
    pending = read(0);
    let carry: Buffer | null = null;
    let lineNumber = 0;
    /** Before the range's first line: the bytes up to the first line break are another range's. */
    let skipping = first > 0;
    /** Past the range's last line break: nothing more is read. */
    let ended = false;
    const emit = (line: string): void => {
      lineNumber++;
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      if (lineNumber === 1 && first === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      onLine(line, lineNumber);
    };
    while (pending !== null && !ended) {
      const { bytesRead } = await pending;
      pending = null;
      if (bytesRead === 0) break;
      const at = start + bytes;
      bytes += bytesRead;
      let data = buffers[current]!.subarray(0, bytesRead);
      current = 1 - current;
      let from = 0;
      if (skipping) {
        const newline = data.indexOf(10);
        if (newline < 0) {
          pending = read(current);
          continue;
        }
        skipping = false;
        from = newline + 1;
      }
      if (range !== undefined && at + data.length >= range.to) {
        // The range's last line is the one that holds byte to - 1: it ends at the first line break from there.
        const last = data.indexOf(10, Math.max(from === 0 ? 0 : from - 1, range.to - 1 - at));
        if (last >= 0) {
          data = data.subarray(0, last + 1);
          ended = true;
        }
      }
      if (!ended) pending = read(current);
      if (carry !== null) {
        const newline = data.indexOf(10);
        if (newline < 0) {
          carry = Buffer.concat([carry, data]);
          continue;
        }
        emit(Buffer.concat([carry, data.subarray(0, newline)]).toString('utf8'));
        carry = null;
        from = newline + 1;
      }
      const last = data.lastIndexOf(10);
      if (last >= from) {
        const text = data.toString('utf8', from, last);
        let at = 0;
        for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', at)) {
          emit(text.slice(at, newline));
          at = newline + 1;
        }
        emit(text.slice(at));
        from = last + 1;
      }
      // A copy: the buffer is reused by the read after next.
      if (from < data.length) carry = Buffer.from(data.subarray(from));
    }
    if (carry !== null) emit(carry.toString('utf8'));
    return ended ? expected : start + bytes;
  } finally {
    await pending?.catch(() => undefined);
    await handle.close();
  }
}

/** The whole file, or its first `length` bytes (fewer if it is shorter), for formats whose records may span lines (CSV). */
export async function readWholeFile(path: string, length?: number): Promise<Buffer> {
  if (length === undefined) {
    try {
      return await readFile(path);
    } catch (err) {
      throw readError(path, err);
    }
  }
  const handle = await openInput(path);
  try {
    const data = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(data, filled, length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return data.subarray(0, filled);
  } catch (err) {
    throw readError(path, err);
  } finally {
    await handle.close();
  }
}

async function openInput(path: string): Promise<Awaited<ReturnType<typeof open>>> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw readError(path, err);
  }
}

function readError(path: string, err: unknown): ConnectorError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = code === 'ENOENT'
    ? ' It was listed for this batch but is gone: input files must stay in place until the query has read them ' +
      '(a re-run after a crash reads them again).'
    : '';
  return new ConnectorError(code === 'ENOENT' ? 'FILE_MISSING' : 'FILE_READ', `Could not read input file ${path}: ` +
    `${errorMessage(err)}.${hint}`, { cause: err });
}
