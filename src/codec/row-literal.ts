import { Schema } from '../common/schema.js';
import { literalKeyCode } from './fields.js';

/**
 * The object literal that ends every compiled converter: schema column i from local `c<i>`, the
 * corrupt-record column null (the caller fills it for malformed records). One literal per row keeps
 * every row of a schema in one hidden class.
 */
export function rowLiteralCode(schema: Schema, corruptColumn: string | null): string {
  return `{ ${schema.map((f, i) => `${literalKeyCode(f.name)}: ${f.name === corruptColumn ? 'null' : `c${i}`}`).join(', ')} }`;
}
