import { JsonRowReader } from '../../codec/json-rows.js';
import { Row, Schema } from '../../common/schema.js';

/** Spark's column for the raw text of a malformed record in PERMISSIVE mode (when the schema has it). */
export const CORRUPT_RECORD = '_corrupt_record';

/**
 * Reads message payloads (one JSON object each) as rows of the schema with the row reader every JSON
 * source shares. Never throws: a field that does not fit its column is null in the row and the first
 * problem is reported, so each read mode (FAILFAST, DROPMALFORMED, PERMISSIVE) decides from one pass.
 */
export class MessageDecoder {
  private readonly reader: JsonRowReader;

  constructor(schema: Schema) {
    this.reader = new JsonRowReader(schema, schema.some((f) => f.name === CORRUPT_RECORD) ? CORRUPT_RECORD : null);
  }

  decode(text: string): { row: Row; problem: string | null } {
    const row = this.reader.readText(text);
    return { row, problem: this.reader.problem };
  }
}
