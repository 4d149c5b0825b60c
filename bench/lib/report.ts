/** Result rows of the suite and their rendering as a console table, Markdown and JSON. */

/** One measured figure: the number, its unit, and how it reads in the table. */
export interface Figure {
  readonly value: number;
  readonly unit: string;
  readonly text: string;
}

export interface ResultRow {
  readonly id: string;
  readonly workload: string;
  readonly weir: Figure | null;
  readonly baseline: Figure | null;
  /** What the baseline is, e.g. "hand-written loop". */
  readonly baselineName: string;
  /** weir ÷ baseline in the workload's sense (higher is better unless the goal says otherwise). */
  readonly ratio: number | null;
  readonly goal: string;
  /** null: a reference figure without a goal. */
  readonly met: boolean | null;
  readonly notes: readonly string[];
  /** weir's figure per core used (÷ CPU seconds of the process tree, user + system), when measured. */
  readonly perCore?: Figure;
  /** The published per-core figures this workload is set beside, with their source. */
  readonly published?: string;
  /** Raw samples and per-workload details, kept in the JSON only. */
  readonly details?: Readonly<Record<string, unknown>>;
}

const SI: readonly [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];

/** 1234567 -> "1.23 M" */
export function si(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  for (const [scale, prefix] of SI) if (Math.abs(value) >= scale) return `${(value / scale).toPrecision(3)} ${prefix}`;
  return value.toPrecision(3);
}

export function rate(value: number, unit: string): Figure {
  return { value, unit, text: `${si(value)} ${unit}` };
}

export function figure(value: number, unit: string, digits = 2): Figure {
  return { value, unit, text: `${value.toFixed(digits)} ${unit}` };
}

export function ratioText(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? '—' : `${ratio.toFixed(2)}`;
}

function metText(met: boolean | null): string {
  return met === null ? '—' : met ? 'yes' : 'NO';
}

const HEADER = ['id', 'workload', 'weir', 'weir per core', 'baseline', 'ratio', 'goal', 'met?', 'published per core'] as const;

function cells(row: ResultRow): string[] {
  const baseline = row.baseline ? `${row.baseline.text} (${row.baselineName})` : row.baselineName || '—';
  return [row.id, row.workload, row.weir?.text ?? '—', row.perCore?.text ?? '—', baseline, ratioText(row.ratio), row.goal,
    metText(row.met), row.published ?? '—'];
}

export function consoleTable(rows: readonly ResultRow[]): string {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string => c.map((v, i) => v.padEnd(widths[i]!)).join(' | ');
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function markdownTable(rows: readonly ResultRow[]): string {
  return [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(escape).join(' | ')} |`),
  ].join('\n');
}

export function notesText(rows: readonly ResultRow[], bullet: string): string {
  return rows.flatMap((r) => r.notes.map((n) => `${bullet}${r.id}: ${n}`)).join('\n');
}
