import { Schema } from '../../common/schema.js';
import { compileRowCheck, RowCheck, ValueCheck, wellFormedText } from '../../sinks/value-domain.js';
import { ExistingColumn, TableColumn } from './columns.js';

/** PostgreSQL text, and strings inside jsonb, cannot hold U+0000; its text is UTF-8. */
const postgresText: ValueCheck = (v) => (typeof v === 'string' && v.includes('\u0000')
  ? 'the text holds the character U+0000 (NUL), which PostgreSQL text and jsonb cannot store' : wellFormedText(v));

/**
 * What the PostgreSQL sink rejects before writing: values outside their type (value-domain.ts), text
 * PostgreSQL cannot store, NULL in a NOT NULL column or in the upsert key (a unique index never
 * matches NULL, so each update would add a row), text longer than a `varchar(n)` column.
 */
export function postgresRowCheck(schema: Schema, columns: readonly TableColumn[], existing: readonly ExistingColumn[],
  keys: readonly string[]): RowCheck | null {
  const values = compileRowCheck(schema, postgresText);
  const byName = new Map(existing.map((c) => [c.name, c]));
  const checks = columns.flatMap((column) => {
    const have = byName.get(column.name);
    const key = keys.includes(column.name);
    const maxChars = Number(/^character(?: varying)?\((\d+)\)$/.exec(have?.type ?? '')?.[1] ?? Infinity);
    if (!key && have?.notNull !== true && maxChars === Infinity) return [];
    const nullReason = key ? `NULL in the upsert key column '${column.name}' (the grouping key ${keys.join(', ')}): ` +
      'PostgreSQL cannot upsert on a NULL key' : `NULL in column '${column.name}', which is NOT NULL in the table`;
    return [{ column, nullReason, maxChars, key }];
  });
  if (values === null && checks.length === 0) return null;
  return (row) => {
    const problem = values?.(row) ?? null;
    if (problem) return problem;
    for (const { column, nullReason, maxChars } of checks) {
      const v = column.value(row);
      if (v === null) return { column: column.name, reason: nullReason };
      if (typeof v === 'string' && v.length > maxChars && [...v].length > maxChars) {
        return { column: column.name, reason: `the text has ${[...v].length} characters; the column holds at most ${maxChars}` };
      }
    }
    return null;
  };
}
