/**
 * The text of a value inside a JSON document, as written. A STRING column keeps the text of a number
 * or nested value it receives, as Spark does (its exact string parsing): `12345678901234567890` stays
 * those digits instead of the double JSON.parse makes of it. Only the rare values that need it are
 * located, in text JSON.parse has already accepted, so the scan need not validate anything.
 */

/** A step from a JSON value to one inside it: an object member's name or an array index. */
export type JsonPathPart = string | number;

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && isSpace(text.charCodeAt(at))) at++;
  return at;
}

/** The position after the string starting (at its quote) at `at`. */
function skipString(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === BACKSLASH) i++;
    else if (code === QUOTE) return i + 1;
  }
  return text.length;
}

/** The position after the value starting at `at`. */
function skipValue(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return skipString(text, at);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    for (let i = at; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === QUOTE) i = skipString(text, i) - 1;
      else if (code === OPEN_OBJECT || code === OPEN_ARRAY) depth++;
      else if ((code === CLOSE_OBJECT || code === CLOSE_ARRAY) && --depth === 0) return i + 1;
    }
    return text.length;
  }
  let i = at;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === COMMA || code === CLOSE_OBJECT || code === CLOSE_ARRAY || isSpace(code)) break;
    i++;
  }
  return i;
}

/** Where the member `name` of the object starting at `at` starts; the last one when the name repeats, as in JSON.parse. */
function memberStart(text: string, at: number, name: string): number {
  if (text.charCodeAt(at) !== OPEN_OBJECT) return -1;
  let found = -1;
  let i = skipSpace(text, at + 1);
  while (text.charCodeAt(i) === QUOTE) {
    const keyEnd = skipString(text, i);
    const raw = text.slice(i + 1, keyEnd - 1);
    const key = raw.includes('\\') ? (JSON.parse(text.slice(i, keyEnd)) as string) : raw;
    const valueStart = skipSpace(text, skipSpace(text, keyEnd) + 1);
    if (key === name) found = valueStart;
    i = skipSpace(text, skipValue(text, valueStart));
    if (text.charCodeAt(i) !== COMMA) break;
    i = skipSpace(text, i + 1);
  }
  return found;
}

/** Where element `index` of the array starting at `at` starts. */
function elementStart(text: string, at: number, index: number): number {
  if (text.charCodeAt(at) !== OPEN_ARRAY) return -1;
  let i = skipSpace(text, at + 1);
  if (text.charCodeAt(i) === CLOSE_ARRAY) return -1;
  for (let n = 0; n < index; n++) {
    i = skipSpace(text, skipValue(text, i));
    if (text.charCodeAt(i) !== COMMA) return -1;
    i = skipSpace(text, i + 1);
  }
  return i;
}

/**
 * The text of the value at `path` inside the JSON value that starts at (or after white space from)
 * `start` of `text`; null when there is no such value.
 */
export function valueTextAt(text: string, start: number, path: readonly JsonPathPart[]): string | null {
  let at = skipSpace(text, start);
  for (const part of path) {
    at = typeof part === 'string' ? memberStart(text, at, part) : elementStart(text, at, part);
    if (at < 0) return null;
  }
  return text.slice(at, skipValue(text, at));
}

/** Where each element of the JSON array `text` starts, in one pass. */
export function arrayElementStarts(text: string): number[] {
  const starts: number[] = [];
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_ARRAY) return starts;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_ARRAY) return starts;
  for (;;) {
    starts.push(i);
    i = skipSpace(text, skipValue(text, i));
    if (text.charCodeAt(i) !== COMMA) return starts;
    i = skipSpace(text, i + 1);
  }
}
