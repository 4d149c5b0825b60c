import { DataType } from '../common/schema.js';
import { domainText } from './domains.js';
import { JsonPathPart } from './json-text.js';

/** The messages of values that do not fit their column, the same for every source. */

/** `a.b[2]` for the path `['a', 'b', 2]`. */
export function pathText(where: readonly JsonPathPart[]): string {
  let text = '';
  for (const part of where) text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`;
  return text;
}

/** A value as it appears in a message: its JSON text (or the text as written), cut at 60 characters. */
export function describeValue(v: unknown, written?: string | null): string {
  const text = written ?? JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function typeWithArticle(type: DataType): string {
  const name = typeof type === 'string' ? type : type.kind;
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

/** `field 'n' is 1.5, not an integer (a whole number from ...)`. */
export function notOfType(where: readonly JsonPathPart[], shown: string, type: DataType): string {
  const domain = typeof type === 'string' && type !== 'string' ? ` (${domainText(type)})` : '';
  return `field '${pathText(where)}' is ${shown}, not ${typeWithArticle(type)}${domain}`;
}

export function notNullable(where: readonly JsonPathPart[], isNull: boolean): string {
  return `field '${pathText(where)}' is ${isNull ? 'null' : 'missing'} but the schema says NOT NULL`;
}

/** Where a converter reports the first problem of the record it converts; null while there is none. */
export interface ProblemSlot { problem: string | null }
