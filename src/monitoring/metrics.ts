import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ListenerBus, StreamingQueryListener, StreamingQueryProgress } from '../engine/progress.js';
import { sinkRejectedRows, watermarkGapMs } from './query-view.js';
import { SessionMonitor } from './session-monitor.js';

const QUERY_LABELS = ['query_name', 'query_id'] as const;

/**
 * The session's Prometheus metrics (README lists each): counters and the batch-duration histogram are
 * fed by progress events; gauges are read from each query's latest progress when scraped, so a stuck
 * watermark's lag keeps growing between batches. Node's process metrics come with them.
 */
export class SessionMetrics {
  readonly registry = new Registry();
  private readonly listener: StreamingQueryListener;

  constructor(private readonly bus: ListenerBus, monitor: SessionMonitor) {
    const registers = [this.registry];
    const counter = (name: string, help: string): Counter<(typeof QUERY_LABELS)[number]> =>
      new Counter({ name, help, labelNames: QUERY_LABELS, registers });
    const inputRows = counter('weir_input_rows_total', 'Rows read from all sources, summed over committed batches.');
    const batches = counter('weir_batches_total', 'Committed batches (no-data batches included).');
    const dropped = counter('weir_rows_dropped_by_watermark_total', 'Rows stateful operators dropped as later than the watermark.');
    const rejected = counter('weir_sink_rejected_rows_total', 'Rows the sink refused (progress.sink.numRejectedRows).');
    const duration = new Histogram({
      name: 'weir_batch_duration_seconds', help: 'Time spent per batch in each phase (durationMs of the progress).',
      labelNames: [...QUERY_LABELS, 'phase'], registers, buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    this.listener = {
      onQueryProgress: ({ progress: p }) => {
        const labels = { query_name: p.name ?? '', query_id: p.id };
        inputRows.inc(labels, p.numInputRows);
        batches.inc(labels);
        dropped.inc(labels, p.stateOperators.reduce((n, op) => n + op.numRowsDroppedByWatermark, 0));
        rejected.inc(labels, sinkRejectedRows(p));
        for (const [phase, ms] of Object.entries(p.durationMs)) duration.observe({ ...labels, phase }, ms / 1000);
      },
    };
    bus.add(this.listener);

    const latest = () => monitor.list().flatMap((t) => {
      const progress = t.history[t.history.length - 1];
      return progress && t.query?.isActive ? [{ labels: { query_name: t.name ?? '', query_id: t.id }, progress }] : [];
    });
    const gauge = (name: string, help: string, extra: readonly string[], read: (g: Gauge) => void): Gauge =>
      new Gauge({ name, help, labelNames: [...QUERY_LABELS, ...extra], registers, collect() { this.reset(); read(this); } });
    gauge('weir_watermark_lag_seconds', 'Now minus the global watermark of the latest batch.', [], (g) => {
      for (const { labels, progress } of latest()) {
        const gap = watermarkGapMs(progress, Date.now());
        if (gap !== null) g.set(labels, gap / 1000);
      }
    });
    const perOperator = (read: (op: StreamingQueryProgress['stateOperators'][number]) => number) => (g: Gauge) => {
      for (const { labels, progress } of latest()) {
        progress.stateOperators.forEach((op, i) => g.set({ ...labels, operator: `${i}:${op.operatorName}` }, read(op)));
      }
    };
    gauge('weir_state_rows', 'Rows in each stateful operator\'s state after the latest batch.', ['operator'],
      perOperator((op) => op.numRowsTotal));
    gauge('weir_state_memory_bytes', 'Estimated memory of each stateful operator\'s state.', ['operator'],
      perOperator((op) => op.memoryUsedBytes));
    gauge('weir_state_disk_bytes', 'Bytes of each stateful operator\'s state on local disk besides the checkpoint (lmdb working copy).',
      ['operator'], perOperator((op) => op.diskBytesUsed));
    const perSource = (key: string) => (g: Gauge) => {
      for (const { labels, progress } of latest()) {
        progress.sources.forEach((s, i) => {
          const value = s.metrics[key];
          if (typeof value === 'number') g.set({ ...labels, source: `${i}:${s.description}` }, value);
        });
      }
    };
    gauge('weir_source_lag_records', 'Records a source holds beyond the latest batch (NATS, rate: metrics.lag).', ['source'],
      perSource('lag'));
    gauge('weir_http_ingest_backlog_records', 'Records acknowledged by the HTTP source and not yet in a batch.', ['source'],
      perSource('backlog'));
    gauge('weir_http_ingest_wal_bytes', 'Bytes of the HTTP source\'s ingest WAL still on disk.', ['source'], perSource('walBytes'));
    gauge('weir_query_status', 'The query\'s health status (1 for the current one).', ['status'], (g) => {
      for (const report of monitor.health()) g.set({ query_name: report.name ?? '', query_id: report.id, status: report.status }, 1);
    });
    collectDefaultMetrics({ register: this.registry });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    this.bus.remove(this.listener);
  }
}
