import {
  QueryProgressEvent, QueryStandbyEvent, QueryStartedEvent, QueryTerminatedEvent, StreamingQueryListener, StreamingQueryProgress,
} from '../../engine/progress.js';

/**
 * What `weir run` shows while its queries run: on a terminal, one live line per query (batch, input
 * rate, watermark, state rows), redrawn in place; elsewhere a line when a query starts (or a standby
 * first follows, or takes over) and ends.
 */
export class StatusBoard implements StreamingQueryListener {
  private readonly lines = new Map<string, string>();
  private drawn = 0;

  constructor(private readonly say: (text: string) => void, private readonly live: boolean) {}

  onQueryStarted(event: QueryStartedEvent): void {
    const t = event.takeover;
    this.set(event.id, `${event.name ?? event.id}: ${t ? `took over after waiting ${t.waitedMs} ms (${t.warm ? 'warm' : 'cold'}, ` +
      `ready in ${t.ms} ms with ${t.stateRows} state rows, after batch ${t.fromBatch ?? 'none'})` : 'started'}`);
  }

  onQueryStandby(event: QueryStandbyEvent): void {
    const first = !this.lines.has(event.id);
    // Elsewhere than on a terminal, once: a line per commit the standby follows would flood a log.
    if (this.live || first) {
      this.set(event.id, `${event.name ?? event.id}: standby, state warm at batch ${event.followedBatchId} (${event.stateRows} rows)`);
    }
  }

  onQueryProgress({ progress }: QueryProgressEvent): void {
    if (this.live) this.set(progress.id, describe(progress));
  }

  onQueryTerminated(event: QueryTerminatedEvent): void {
    const name = this.lines.get(event.id)?.split(':')[0] ?? event.id;
    this.set(event.id, `${name}: ${event.exception === null ? 'stopped' : 'failed (see below)'}`);
  }

  close(): void {
    this.drawn = 0;
  }

  private set(id: string, line: string): void {
    this.lines.set(id, line);
    if (!this.live) {
      this.say(line);
      return;
    }
    // Move up over the previous drawing and redraw every line, clearing each first.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.say(`${up}${[...this.lines.values()].map((l) => `\x1b[2K${l}`).join('\n')}`);
    this.drawn = this.lines.size;
  }
}

function describe(p: StreamingQueryProgress): string {
  const state = p.stateOperators.reduce((n, op) => n + op.numRowsTotal, 0);
  const watermark = p.eventTime['watermark'];
  return `${p.name ?? p.id}: batch ${p.batchId}, ${p.numInputRows} rows in, ${p.processedRowsPerSecond} rows/s` +
    `${watermark ? `, watermark ${watermark}` : ''}${p.stateOperators.length > 0 ? `, state ${state} rows` : ''}`;
}
