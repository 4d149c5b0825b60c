/** `weir top`: the queries of a running web UI in the terminal, refreshed until Ctrl-C. */
import { ConnectorError, errorMessage } from '../common/errors.js';
import { QuerySummary } from '../monitoring/server.js';

export interface TopOptions {
  readonly url: string;
  readonly token: string | null;
  readonly intervalMs: number;
  readonly once: boolean;
}

const CLEAR = '\x1b[H\x1b[2J';

export async function runTop(options: TopOptions, write: (text: string) => void): Promise<void> {
  for (;;) {
    const view = formatTop(await fetchQueries(options), options.url, new Date());
    write(options.once ? view : `${CLEAR}${view}`);
    if (options.once) return;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

async function fetchQueries(options: TopOptions): Promise<QuerySummary[]> {
  const where = `${options.url.replace(/\/$/, '')}/api/queries`;
  let res: Response;
  try {
    res = await fetch(where, options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {});
  } catch (err) {
    throw new ConnectorError('UI_UNREACHABLE', `Cannot reach the weir web UI at ${options.url} (${errorMessage(err)}): ` +
      'is the session running with new Weir({ ui: { port } }), and is this its address?', { cause: err });
  }
  if (res.status === 401) {
    throw new ConnectorError('UI_UNAUTHORIZED', `The weir web UI at ${options.url} needs its token: pass --token or set WEIR_UI_TOKEN.`);
  }
  if (!res.ok) throw new ConnectorError('UI_ERROR', `The weir web UI at ${where} answered ${res.status}.`);
  return await res.json() as QuerySummary[];
}

/** The view as text: one row per query, then the reasons and errors of those in trouble. */
export function formatTop(queries: readonly QuerySummary[], url: string, now: Date): string {
  const header = ['NAME', 'ID', 'STATUS', 'UPTIME', 'BATCH', 'IN ROWS/S', 'PROC ROWS/S'];
  const rows = queries.map((q) => [
    q.name ?? '(unnamed)', q.id.slice(0, 8), q.health?.status ?? (q.isActive ? 'starting' : 'stopped'), uptime(q.uptimeMs),
    q.latestBatchId === null ? '-' : String(q.latestBatchId), rate(q.inputRowsPerSecond), rate(q.processedRowsPerSecond),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i >= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
    .join('  ').trimEnd();
  const notes = queries.flatMap((q) => {
    const said = [...(q.health?.reasons ?? []), ...(q.lastError && !(q.health?.reasons ?? []).includes(q.lastError) ? [q.lastError] : [])];
    return said.map((text) => `${q.name ?? q.id.slice(0, 8)}: ${text}`);
  });
  return [
    `weir top — ${url} — ${now.toISOString()} — ${queries.length} ${queries.length === 1 ? 'query' : 'queries'}`, '',
    line(header), ...rows.map(line), ...(notes.length > 0 ? ['', ...notes] : []), '',
  ].join('\n');
}

function uptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function rate(value: number | null): string {
  return value === null ? '-' : value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}
