/**
 * Row codec micro-benchmark: JSON records per second converted to rows by the reader every JSON source
 * uses (file json, NATS, and HTTP bodies through parseBody), against JSON.parse of the same lines
 * alone in the same run (the floor any converter pays). The ratio column is codec / JSON.parse. The
 * last case gives a STRING column a 20-digit number in every record, which takes the path that reads
 * the number's text from the record. No assertions: figures depend on the machine.
 *
 *   node dist/bench/json-rows.js [--quick]
 */
import { JsonRowReader } from '../src/codec/json-rows.js';
import { toSchema } from '../src/common/schema.js';
import { parseBody } from '../src/connectors/http/body.js';
import { EVENT_SCHEMA, eventAt, eventLine } from './lib/data.js';
import { alternate, median, timeMs } from './lib/measure.js';

interface Case {
  readonly name: string;
  readonly schema: string;
  readonly lines: readonly string[];
  /** Converts every line once; returns the number of rows made (so the work cannot be skipped). */
  convert(reader: JsonRowReader, lines: readonly string[]): number;
}

const byLine = (reader: JsonRowReader, lines: readonly string[]): number => {
  let made = 0;
  for (const line of lines) {
    reader.readText(line);
    if (reader.problem === null) made++;
  }
  return made;
};

/** HTTP request bodies of 100 JSON lines each, as the ingest endpoint converts them. */
const byBody = (reader: JsonRowReader, lines: readonly string[]): number => {
  let made = 0;
  for (let i = 0; i < lines.length; i += 100) {
    const result = parseBody(lines.slice(i, i + 100).join('\n'), reader);
    if (result.ok) made += result.rows.length;
  }
  return made;
};

function cases(count: number): Case[] {
  const events = Array.from({ length: count }, (_, i) => eventAt(i));
  const isoLines = events.map(eventLine);
  const msLines = events.map((e) => JSON.stringify(e));
  const idLines = events.map((e, i) => `{"id":${12345678901234567890n + BigInt(i)},"key":"${e.key}","value":${e.value}}`);
  return [
    { name: 'file/NATS lines, ISO timestamps', schema: EVENT_SCHEMA, lines: isoLines, convert: byLine },
    { name: 'file/NATS lines, epoch-ms timestamps', schema: EVENT_SCHEMA, lines: msLines, convert: byLine },
    { name: 'HTTP bodies (100 lines), ISO timestamps', schema: EVENT_SCHEMA, lines: isoLines, convert: byBody },
    { name: 'STRING column given a 20-digit number', schema: 'id STRING, key STRING, value DOUBLE', lines: idLines, convert: byLine },
  ];
}

function parseOnly(lines: readonly string[]): number {
  let made = 0;
  for (const line of lines) if (JSON.parse(line) !== null) made++;
  return made;
}

const quick = process.argv.includes('--quick');
const count = quick ? 100_000 : 500_000;
const reps = quick ? 3 : 7;
console.log(`json-rows: ${count} records per run, median of ${reps} alternating runs, Node ${process.version}`);
console.log('case                                      | codec rec/s | JSON.parse rec/s | ratio');
for (const c of cases(count)) {
  const reader = new JsonRowReader(toSchema(c.schema));
  if (c.convert(reader, c.lines) !== count) throw new Error(`${c.name}: not every record converted (${reader.problem})`);
  const runs = await alternate(reps, () => timeMs(() => c.convert(reader, c.lines)), () => timeMs(() => parseOnly(c.lines)));
  const codec = count / (median(runs.a) / 1000);
  const parse = count / (median(runs.b) / 1000);
  console.log(`${c.name.padEnd(41)} | ${(codec / 1e6).toFixed(2).padStart(9)} M | ${(parse / 1e6).toFixed(2).padStart(14)} M | ${(codec / parse).toFixed(2)}`);
}
