import { Decimal } from '../../common/decimal.js';
import { Row, Schema } from '../../common/schema.js';
import { sparkTimestampText } from '../../codec/spark-text.js';
import { Sink, SinkSpec } from '../../sinks/sink.js';
import { ownValue } from '../../codec/fields.js';

/** Prints each batch as a table, like Spark's console sink. For development; at-least-once. */
export function createConsoleSink(spec: SinkSpec): Sink {
  const numRows = spec.options.integer('numRows', 20, 1);
  const truncate = spec.options.boolean('truncate', true);
  let schema: Schema = [];
  const write = (text: string): void => { process.stdout.write(text); };
  return {
    description: 'ConsoleSink',
    supportedModes: ['append', 'update', 'complete'],
    async open(context) {
      schema = context.schema;
    },
    async addBatch(batchId, rows) {
      write(`-------------------------------------------\nBatch: ${batchId}\n-------------------------------------------\n`);
      write(formatTable(schema, rows.slice(0, numRows), truncate));
      if (rows.length > numRows) write(`only showing top ${numRows} rows\n`);
      write('\n');
    },
    async stop() {},
  };
}

function formatCell(value: unknown, type: Schema[number]['type'], truncate: boolean): string {
  let text: string;
  if (value === null || value === undefined) text = 'null';
  else if (type === 'timestamp' && typeof value === 'number') text = sparkTimestampText(value);
  // Spark shows bytes as hex pairs in brackets: [48 69].
  else if (value instanceof Decimal) text = value.toPlainString();
  else if (value instanceof Uint8Array) text = `[${[...value].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ')}]`;
  else if (typeof value === 'object' && 'start' in value && 'end' in value) {
    const w = value as { start: number; end: number };
    text = `{${sparkTimestampText(w.start)}, ${sparkTimestampText(w.end)}}`;
  } else text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return truncate && text.length > 20 ? `${text.slice(0, 17)}...` : text;
}

export function formatTable(schema: Schema, rows: readonly Row[], truncate = true): string {
  const header = schema.map((f) => f.name);
  const cells = rows.map((row) => schema.map((f) => formatCell(ownValue(row, f.name), f.type, truncate)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = `+${widths.map((w) => '-'.repeat(w)).join('+')}+\n`;
  const format = (values: string[]): string => `|${values.map((v, i) => v.padStart(widths[i]!)).join('|')}|\n`;
  return line + format(header) + line + cells.map(format).join('') + line;
}

