// The weir web UI: the queries list, and for the selected query live charts, operators and the
// fault-tolerance view. Data comes from /api/...; updates are pushed as server-sent events.
import { createChart } from '/ui/charts.js';

const PHASES = ['latestOffset', 'getBatch', 'walCommit', 'execution', 'addBatch', 'stateCommit', 'commitOffsets'];
const token = new URLSearchParams(location.search).get('token');
const withToken = (path) => (token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path);
const $ = (selector) => document.querySelector(selector);

let selected = decodeURIComponent(location.hash.replace(/^#\/query\//, '')) || null;
let detail = null; // { summary, history, recoveries } of the selected query
let charts = null;

/** An element with attributes and children (strings become text, never HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children.map((c) => (c instanceof Node ? c : String(c ?? ''))));
  return node;
}

async function getJson(path) {
  const res = await fetch(withToken(path));
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

const short = (id) => id.slice(0, 8);
const number = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
function duration(ms) {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

async function renderQueries() {
  const queries = await getJson('/api/queries');
  if (!selected && queries.length > 0) select(queries[0].id);
  $('#queries tbody').replaceChildren(...queries.map((q) => {
    const status = q.health?.status ?? (q.isActive ? 'starting' : 'stopped');
    return el('tr', { 'data-query': q.id, class: q.id === selected ? 'selected' : '', onclick: () => select(q.id) },
      el('td', {}, q.name ?? '(unnamed)'), el('td', { title: q.id }, short(q.id)), el('td', { title: q.runId }, short(q.runId)),
      el('td', {}, el('span', { class: `badge ${status}`, 'data-field': 'status' }, status)),
      el('td', {}, duration(q.uptimeMs)), el('td', { 'data-field': 'latestBatchId' }, number(q.latestBatchId)),
      el('td', {}, number(q.inputRowsPerSecond)), el('td', {}, number(q.processedRowsPerSecond)),
      el('td', { class: 'error' }, q.lastError ?? ''));
  }));
}

function select(id) {
  if (selected !== id) {
    selected = id;
    location.hash = `#/query/${encodeURIComponent(id)}`;
  }
  quietly(loadDetail());
}

async function loadDetail() {
  if (!selected) return;
  detail = await getJson(`/api/queries/${encodeURIComponent(selected)}`);
  $('#detail').hidden = false;
  if (!charts) charts = createCharts($('#charts'));
  renderDetail();
  renderRecoveries();
  renderCheckpoint();
}

function createCharts(container) {
  const sumOps = (p, field) => p.stateOperators.reduce((n, op) => n + op[field], 0);
  const stateful = (p) => p.stateOperators.length > 0;
  return [
    createChart(container, 'Input vs processing rate (rows/s)',
      (p) => ({ input: p.inputRowsPerSecond, processing: p.processedRowsPerSecond })),
    createChart(container, 'Input rows per batch', (p) => ({ rows: p.numInputRows })),
    createChart(container, 'Batch duration by phase (ms)',
      (p) => Object.fromEntries(PHASES.filter((ph) => ph in p.durationMs).map((ph) => [ph, p.durationMs[ph]]))),
    createChart(container, 'Watermark gap: batch time − watermark (s)', (p) => (p.eventTime.watermark === undefined ? {}
      : { gap: (Date.parse(p.timestamp) - Date.parse(p.eventTime.watermark)) / 1000 })),
    createChart(container, 'State rows', (p) => (!stateful(p) ? {} : {
      total: sumOps(p, 'numRowsTotal'), updated: sumOps(p, 'numRowsUpdated'), removed: sumOps(p, 'numRowsRemoved'),
      'dropped by watermark': sumOps(p, 'numRowsDroppedByWatermark'),
    })),
    createChart(container, 'State memory and disk (bytes)', (p) => (!stateful(p) ? {} : {
      memory: sumOps(p, 'memoryUsedBytes'), disk: sumOps(p, 'diskBytesUsed'),
    })),
    createChart(container, 'Source lag (records)', (p) => Object.fromEntries(p.sources.flatMap((s, i) => {
      const lag = s.metrics.lag ?? s.metrics.backlog;
      return typeof lag === 'number' ? [[`${i}: ${s.description}`, lag]] : [];
    }))),
  ];
}

function renderDetail() {
  const { summary, history } = detail;
  const status = summary.health?.status ?? 'starting';
  $('#detail-title').replaceChildren(`${summary.name ?? '(unnamed)'} `, el('span', { class: `badge ${status}` }, status),
    el('small', {}, ` ${summary.message ?? ''}`));
  $('#reasons').textContent = (summary.health?.reasons ?? []).join(' · ');
  const last = history[history.length - 1];
  const fields = last ? {
    batchId: last.batchId, numInputRows: last.numInputRows, inputRowsPerSecond: last.inputRowsPerSecond,
    processedRowsPerSecond: last.processedRowsPerSecond, triggerExecutionMs: last.durationMs.triggerExecution,
    numOutputRows: last.sink.numOutputRows, watermark: last.eventTime.watermark ?? '–',
  } : {};
  $('#latest').replaceChildren(...Object.entries(fields).map(([name, value]) =>
    el('div', {}, el('dt', {}, name), el('dd', { 'data-field': name, 'data-value': String(value) },
      typeof value === 'number' ? number(value) : value))));
  for (const chart of charts) chart.update(history);
  renderOperators(last);
}

// Per-operator figures: the physical plan's operators when progress carries them, else the stateful ones.
function renderOperators(progress) {
  const operators = progress?.operators ?? progress?.stateOperators ?? [];
  const columns = [...new Set(operators.flatMap((op) => Object.keys(op)))];
  $('#operators thead').replaceChildren(el('tr', {}, ...columns.map((c) => el('th', {}, c))));
  $('#operators tbody').replaceChildren(...operators.map((op) =>
    el('tr', {}, ...columns.map((c) => el('td', {}, cellText(op[c]))))));
}

function cellText(value) {
  if (typeof value === 'number') return number(value);
  return typeof value === 'string' ? value : JSON.stringify(value) ?? '';
}

function renderRecoveries() {
  const items = [...detail.recoveries].reverse().map((r) => {
    const from = r.lastCommittedBatchId === null ? 'before any committed batch' : `after batch ${r.lastCommittedBatchId}`;
    const rerun = r.rerun ? `; re-ran batch ${r.rerun.batchId} with its logged offsets ${JSON.stringify(r.rerun.sources)}` : '';
    return el('li', { 'data-recovery': r.runId }, `${r.timestamp}: resumed ${from}${rerun}; recovery took ${r.recoveryMs} ms`);
  });
  $('#recoveries').replaceChildren(...(items.length > 0 ? items : [el('li', {}, 'none: the query has not restarted')]));
}

async function renderCheckpoint() {
  const view = await getJson(`/api/queries/${encodeURIComponent(selected)}/checkpoint`);
  $('#checkpoint-location').textContent = view.location ?? '(temporary checkpoint)';
  $('#batches tbody').replaceChildren(...[...view.batches].reverse().map((b) => el('tr', { 'data-batch': b.batchId },
    el('td', {}, b.batchId), el('td', {}, b.committed ? 'yes' : 'not yet (re-run if the process stops)'), el('td', {}, b.timestamp),
    el('td', {}, b.watermark), el('td', {}, JSON.stringify(b.offsets)), el('td', {}, b.sink ?? ''),
    el('td', {}, b.durationMs ? number(b.durationMs.triggerExecution) : ''))));
  $('#state-files tbody').replaceChildren(...view.state.flatMap((op) => op.partitions.map((p) => el('tr', {},
    el('td', {}, op.operator), el('td', {}, p.partition), el('td', {}, p.newestVersion ?? '–'),
    el('td', {}, p.newestSnapshot ?? '–'), el('td', {}, p.deltasAfterSnapshot)))));
}

function connect() {
  const events = new EventSource(withToken('/api/events'));
  const badge = $('#connection');
  events.onopen = () => {
    badge.textContent = 'live';
    badge.className = 'badge live';
    refresh(); // after a reconnect (e.g. the process restarted) everything may have changed
  };
  events.onerror = () => {
    badge.textContent = 'offline, reconnecting';
    badge.className = 'badge offline';
  };
  events.addEventListener('progress', (e) => {
    const { id, progress } = JSON.parse(e.data);
    if (id === selected && detail) {
      detail.history = [...detail.history.filter((p) => p.batchId !== progress.batchId), progress].slice(-500);
      redrawDetail();
      refreshCheckpoint();
    }
    refreshQueries();
  });
  for (const kind of ['status', 'started', 'terminated', 'recovered']) events.addEventListener(kind, () => refresh());
}

// A request that fails while the server is away is retried by the next event or reconnect.
function quietly(promise) {
  promise.catch(() => undefined);
}

// A fast query commits many batches a second: redraw and re-fetch at most every `ms`, always ending on the latest.
function throttled(fn, ms) {
  let timer = null;
  return () => {
    timer ??= setTimeout(() => { timer = null; fn(); }, ms);
  };
}
const redrawDetail = throttled(() => renderDetail(), 200);
const refreshQueries = throttled(() => quietly(renderQueries()), 500);
const refreshCheckpoint = throttled(() => quietly(renderCheckpoint()), 1000);

let refreshing = null;
function refresh() {
  refreshing ??= Promise.all([renderQueries(), loadDetail()]).catch(() => undefined).finally(() => { refreshing = null; });
  return refreshing;
}

setInterval(() => quietly(renderQueries()), 5000); // uptimes move on without events
connect();
