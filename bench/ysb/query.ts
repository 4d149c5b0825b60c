/** YSB's query in weir and by hand: filter views, project, join ad → campaign, count per campaign per 10 s window. */
import { col, count, window } from '../../src/index.js';
import type { DataFrame } from '../../src/index.js';
import { CampaignRow, YSB_WATERMARK_MS, YSB_WINDOW_MS } from './events.js';

/** The weir query over the event stream and the static campaign table. */
export function ysbQuery(events: DataFrame, campaigns: DataFrame): DataFrame {
  return events.filter(col('event_type').equalTo('view'))
    // event_time is epoch milliseconds as text (YSB's format); a number cast to TIMESTAMP is seconds in Spark.
    .select(col('ad_id'), col('event_time').cast('long').divide(1000).cast('timestamp').as('event_time'))
    .join(campaigns, 'ad_id')
    .withWatermark('event_time', `${YSB_WATERMARK_MS / 1000} seconds`)
    .groupBy(window(col('event_time'), `${YSB_WINDOW_MS / 1000} seconds`), col('campaign_id'))
    .agg(count('*').as('count'));
}

/** One closed window of one campaign, in weir's output shape. */
export type CampaignCount = { window: { start: number; end: number }; campaign_id: string; count: number };

interface YsbEvent { ad_id: string; event_type: string; event_time: string }

/**
 * The same work as a hand-written loop without durability: JSON.parse, the filter, a Map lookup for
 * the join, and counts in a Map per window, a window emitted once the watermark passed it.
 */
export class HandYsb {
  private readonly campaignOf: Map<string, string>;
  private readonly windows = new Map<number, Map<string, number>>();
  private maxTime = -Infinity;
  private watermark = -Infinity;

  constructor(campaigns: readonly CampaignRow[]) {
    this.campaignOf = new Map(campaigns.map((r) => [r.ad_id, r.campaign_id]));
  }

  readonly take = (line: string): void => {
    const e = JSON.parse(line) as YsbEvent;
    if (e.event_type !== 'view') return;
    const campaign = this.campaignOf.get(e.ad_id);
    if (campaign === undefined) return;
    const time = Number(e.event_time);
    if (time > this.maxTime) this.maxTime = time;
    const start = time - (time % YSB_WINDOW_MS);
    if (start + YSB_WINDOW_MS <= this.watermark) return;
    let counts = this.windows.get(start);
    if (counts === undefined) this.windows.set(start, counts = new Map());
    counts.set(campaign, (counts.get(campaign) ?? 0) + 1);
  };

  /** Ends a batch: moves the watermark and emits (then forgets) every window it closed. */
  endBatch(emit: (row: CampaignCount) => void): void {
    this.watermark = Math.max(this.watermark, this.maxTime - YSB_WATERMARK_MS);
    for (const [start, counts] of this.windows) {
      if (start + YSB_WINDOW_MS > this.watermark) continue;
      const bounds = { start, end: start + YSB_WINDOW_MS };
      for (const [campaign_id, n] of counts) emit({ window: bounds, campaign_id, count: n });
      this.windows.delete(start);
    }
  }
}
