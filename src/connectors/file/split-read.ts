/**
 * A file source's batch read in parts for other threads (see `Source.splitRead`). The batch's files,
 * in their logged order, are taken as one run of bytes cut into equal parts; json and text files are
 * cut anywhere (each line goes to the part its first byte is in, see {@link LineRange}), a csv file goes
 * whole to one part (a record may span lines). Parts are a pure function of the file list and the
 * number of parts, so a re-run reads the same rows in the same order. A part's reader applies the
 * source's own reader and malformed-record policy; what needs the whole batch (line numbers past a
 * cut, the first failure, bad-records files) is settled by {@link mergeSummaries} on the query's thread.
 */
import { errorMessage, MalformedRecordError } from '../../common/errors.js';
import { PartReader } from '../../sources/source.js';
import { fileReader, FormatSettings } from './formats.js';
import { LineRange } from './lines.js';
import { InputFile } from './paths.js';
import { BadRecord, ParseMode, RowCollector } from './records.js';

/** What a part reads of one file: the lines starting in `range`, within the file's first `size` bytes; null: all of them. */
export interface FilePiece {
  readonly path: string;
  readonly size: number;
  readonly range: LineRange | null;
}

export interface FilePart {
  readonly format: FormatSettings;
  readonly mode: ParseMode;
  readonly keepBadRecords: boolean;
  readonly pieces: readonly FilePiece[];
}

/** Why a piece's read stopped: a record FAILFAST rejects (line within the piece) or an error reading the file. */
type PieceFailure =
  | { readonly kind: 'malformed'; readonly line: number; readonly reason: string }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

interface PieceSummary {
  /** See `forEachLine`: the piece's end when read whole, else where the file ended. */
  readonly bytes: number;
  readonly lines: number | null;
  readonly badRecords: number;
  readonly failure: PieceFailure | null;
}

export interface PartSummary {
  readonly pieces: readonly PieceSummary[];
  /** In piece order; line numbers count from each piece's first line. */
  readonly badRecords: readonly BadRecord[];
  readonly malformed: number;
}

/** The files cut into `parts` parts of about equal bytes, in order. */
export function splitFiles(files: readonly InputFile[], parts: number, byLine: boolean): FilePiece[][] {
  const total = files.reduce((n, f) => n + f.size, 0);
  const boundary = (k: number): number => Math.round((k * total) / parts);
  const out: FilePiece[][] = Array.from({ length: parts }, () => []);
  let offset = 0;
  for (const file of files) {
    const { path, size } = file;
    if (!byLine || size === 0) {
      // Whole, to the part its middle byte falls in (an empty file: the part its offset falls in, so it is still opened).
      const middle = offset + size / 2;
      let k = 0;
      while (k < parts - 1 && boundary(k + 1) <= middle) k++;
      out[k]!.push({ path, size, range: null });
    } else {
      for (let k = 0; k < parts; k++) {
        const from = Math.max(boundary(k), offset) - offset;
        const to = Math.min(boundary(k + 1), offset + size) - offset;
        if (from < to) out[k]!.push({ path, size, range: from === 0 && to === size ? null : { from, to } });
      }
    }
    offset += size;
  }
  return out;
}

/** Readers compiled once per thread for each format settings a part names. */
const readers = new Map<string, ReturnType<typeof fileReader>>();

/** Reads one part on any thread: exported as the `readerModule`'s `readPart`. */
export const readPart: PartReader = async (data) => {
  const part = data as FilePart;
  const key = JSON.stringify(part.format);
  let read = readers.get(key);
  if (read === undefined) {
    read = fileReader(part.format);
    readers.set(key, read);
  }
  const out = new RowCollector({ mode: part.mode, corruptColumn: part.format.corruptColumn, keepBadRecords: part.keepBadRecords });
  const pieces: PieceSummary[] = [];
  let failed = false;
  for (const piece of part.pieces) {
    const badBefore = out.badRecords.length;
    try {
      const extent = await read(piece.path, out, piece.size, piece.range ?? undefined);
      pieces.push({ bytes: extent.bytes, lines: extent.lines, badRecords: out.badRecords.length - badBefore, failure: null });
    } catch (err) {
      // The batch fails with the first failure in batch order, which the query's thread picks: the rest of the part is not read.
      const failure: PieceFailure = err instanceof MalformedRecordError
        ? { kind: 'malformed', line: err.line, reason: err.reason }
        : { kind: 'error', code: (err as { code?: unknown }).code === undefined ? 'FILE_READ' : String((err as { code: unknown }).code),
          message: errorMessage(err) };
      pieces.push({ bytes: 0, lines: null, badRecords: out.badRecords.length - badBefore, failure });
      failed = true;
      break;
    }
  }
  const summary: PartSummary = { pieces, badRecords: out.badRecords, malformed: out.malformedCount };
  return { rows: failed ? [] : out.rows, summary };
};

/** The first reason the batch's read failed, in batch order, as the one-thread read would have met it. */
export type SplitFailure =
  | { readonly kind: 'malformed'; readonly path: string; readonly line: number; readonly reason: string }
  | { readonly kind: 'error'; readonly code: string; readonly message: string }
  | { readonly kind: 'short'; readonly path: string; readonly bytes: number };

/** The parts' summaries as one read: bad records with their lines in the whole file, the malformed count, the first failure. */
export function mergeSummaries(parts: readonly (readonly FilePiece[])[], summaries: readonly PartSummary[]):
  { badRecords: BadRecord[]; malformed: number; failure: SplitFailure | null } {
  const linesBefore = new Map<string, number>();
  const badRecords: BadRecord[] = [];
  let malformed = 0;
  for (const [k, pieces] of parts.entries()) {
    const summary = summaries[k]!;
    malformed += summary.malformed;
    let bad = 0;
    for (const [i, piece] of pieces.entries()) {
      const read = summary.pieces[i]!;
      const base = linesBefore.get(piece.path) ?? 0;
      for (const record of summary.badRecords.slice(bad, bad + read.badRecords)) badRecords.push({ ...record, line: base + record.line });
      bad += read.badRecords;
      const { failure } = read;
      if (failure?.kind === 'malformed') return { badRecords, malformed, failure: { ...failure, path: piece.path, line: base + failure.line } };
      if (failure !== null) return { badRecords, malformed, failure };
      if (read.bytes !== piece.size) return { badRecords, malformed, failure: { kind: 'short', path: piece.path, bytes: read.bytes } };
      linesBefore.set(piece.path, base + (read.lines ?? 0));
    }
  }
  return { badRecords, malformed, failure: null };
}
