/**
 * A replayable in-process source for the suite (`format('bench-gen')`): offsets are row positions,
 * rows come from a function of the range, and the bench moves `available` and `maxPerTrigger`
 * between batches. It behaves like a broker topic with a backlog and a read limit (Kafka's
 * maxOffsetsPerTrigger): batches run back to back with no idle rounds in between, which a memory
 * stream fed chunk by chunk would add (each chunk would also cost a no-data batch).
 */
import { Weir } from '../../src/index.js';
import type { DataFrame, Offset, Row } from '../../src/index.js';

export interface GeneratorControl {
  /** Rows [0, available) exist. */
  available: number;
  /** The most rows one batch reads. */
  maxPerTrigger: number;
  /** Rows [start, end): must return the same rows for the same range, in any process. */
  readonly rows: (start: number, end: number) => Row[];
}

const controls = new Map<string, GeneratorControl>();
let nextControl = 0;

/** A stream over `control`; the description is fixed so a checkpoint can be reopened by another process. */
export function generatorStream(weir: Weir, schema: string, control: GeneratorControl): DataFrame {
  const id = `${process.pid}-${nextControl++}`;
  controls.set(id, control);
  return weir.readStream.format('bench-gen').schema(schema).option('control', id).load();
}

/** Forgets every control (and the rows they hold); call between workloads, after their queries stopped. */
export function clearGenerators(): void {
  controls.clear();
}

/** Rows from a per-index function, generated when a batch reads them (nothing is kept). */
export function rowsOf(rowAt: (i: number) => Row): (start: number, end: number) => Row[] {
  return (start, end) => {
    const out = new Array<Row>(end - start);
    for (let i = start; i < end; i++) out[i - start] = rowAt(i);
    return out;
  };
}

/** Rows from a generated array, sliced as a memory stream slices its buffer. */
export function rowsFrom(rows: readonly Row[]): (start: number, end: number) => Row[] {
  return (start, end) => rows.slice(start, end);
}

Weir.registerSource('bench-gen', (spec) => {
  const id = spec.options.required('control', 'the suite passes the id of its generator control');
  const control = controls.get(id);
  if (!control || !spec.schema) throw new Error(`bench-gen: unknown control ${id} or no schema`);
  return {
    description: 'BenchGenerator',
    schema: spec.schema,
    async open() {},
    async latestOffset(start: Offset | null) {
      const from = (start as number | null) ?? 0;
      const end = Math.min(control.available, from + control.maxPerTrigger);
      return end <= 0 ? null : Math.max(end, from);
    },
    async getBatch(start, end) {
      return control.rows((start as number | null) ?? 0, end as number);
    },
    async commit() {},
    async stop() {},
  };
}, { options: ['control'] });
