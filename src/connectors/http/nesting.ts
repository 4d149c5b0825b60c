/**
 * Where a body nests JSON deepest: the depth of its brackets outside strings, and the line and record
 * (counted from 1; the elements of a top-level array, else one per JSON value) where that depth is
 * first reached. Used only to explain a body that overflowed the stack while being converted, so the
 * usual path pays nothing for it.
 */
export function deepestNesting(text: string): { readonly depth: number; readonly line: number; readonly record: number } {
  const recordDepth = /\S/.exec(text)?.[0] === '[' ? 1 : 0;
  let depth = 0;
  let line = 1;
  let record = 0;
  let deepest = { depth: 0, line: 1, record: 1 };
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (depth === recordDepth) record++;
      if (++depth > deepest.depth) deepest = { depth, line, record };
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x0a) {
      line++;
    }
  }
  return deepest;
}
