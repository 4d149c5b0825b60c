import { AnalysisError } from '../common/errors.js';

/**
 * Spark's LIKE: `%` any sequence, `_` any one character, and the escape character `\` makes the next
 * `%`, `_` or `\` literal; an escape before any other character, or at the end, is an error, as in Spark.
 */
export function likeRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[++i];
      if (next !== '%' && next !== '_' && next !== '\\') {
        throw new AnalysisError(`The LIKE pattern ${JSON.stringify(pattern)} is invalid: ` + (next === undefined
          ? 'it ends with the escape character \\.' : `the escape character \\ may precede only %, _ or \\, not '${next}'.`) +
          ' Write \\\\ for a literal backslash.', 'INVALID_LIKE_PATTERN');
      }
      source += escapeRegex(next);
    } else {
      source += c === '%' ? '.*' : c === '_' ? '.' : escapeRegex(c);
    }
  }
  // 'u': `_` is one character (code point), not one UTF-16 unit.
  return new RegExp(`^${source}$`, 'su');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
