import { AnalysisError } from './errors.js';

/**
 * The known name closest to `given` by edit distance (case-insensitive; a swap of two neighbouring
 * letters counts as one edit), or null when none is close enough to be a likely typo.
 */
export function nearestName(given: string, known: Iterable<string>): string | null {
  const word = given.toLowerCase();
  // A typo changes a few letters; beyond a third of the word it is more likely another name altogether.
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(word, candidate.toLowerCase());
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/** What {@link unknownNameError} reports: `Unknown <what> '<given>' <where>.` plus the nearest and all known names. */
export interface UnknownName {
  /** `option`, `sink format`, `output mode`, … */
  readonly what: string;
  readonly given: string;
  readonly known: Iterable<string>;
  /** Whose name it is, e.g. `of the json source`. */
  readonly where?: string;
  /** What else the user can do, as a sentence. */
  readonly advice?: string;
  readonly code: string;
}

/** The error for a name that is not a known one: names the nearest when it looks like a typo, and lists them all. */
export function unknownNameError(name: UnknownName): AnalysisError {
  const names = [...new Set(name.known)].sort((a, b) => a.localeCompare(b));
  const nearest = nearestName(name.given, names);
  const parts = [`Unknown ${name.what} '${name.given}'${name.where ? ` ${name.where}` : ''}.`];
  if (nearest) parts.push(`Did you mean '${nearest}'?`);
  parts.push(names.length > 0 ? `Known: ${names.join(', ')}.` : 'It takes none.');
  if (name.advice) parts.push(name.advice);
  return new AnalysisError(parts.join(' '), name.code);
}
