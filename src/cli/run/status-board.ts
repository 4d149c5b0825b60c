import {
  QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent, StreamingQueryListener, StreamingQueryProgress,
} from '../../engine/progress.js';

/**
 * What `weir run` shows while its queries run: on a terminal, one live line per query (batch, input
 * rate, watermark, state rows), redrawn in place; elsewhere a line when a query starts and ends.
 */
export class StatusBoard implements StreamingQueryListener {
  private readonly lines = new Map<string, string>();
  private drawn = 0;

  constructor(private readonly say: (text: string) => void, private readonly live: boolean) {}

  onQueryStarted(event: QueryStartedEvent): void {
    this.set(event.id, `${event.name ?? event.id}: started`);
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
