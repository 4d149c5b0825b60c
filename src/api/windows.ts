import { Duration, parseDuration } from '../common/duration.js';
import { AnalysisError } from '../common/errors.js';
import { Column, ColumnLike, columnExpr } from './column.js';

/**
 * Tumbling (no slide) or sliding event-time windows, aligned to the epoch plus `startTime`;
 * half-open `[start, end)`. The column is named `window` and holds `{ start, end }`.
 */
export function window(timeColumn: ColumnLike, windowDuration: Duration, slideDuration?: Duration,
  startTime?: Duration): Column {
  const sizeMs = parseDuration(windowDuration, 'the window duration');
  const slideMs = slideDuration === undefined ? sizeMs : parseDuration(slideDuration, 'the window slide');
  const startMs = startTime === undefined ? 0 : parseDuration(startTime, 'the window start time');
  if (sizeMs <= 0 || slideMs <= 0) {
    throw new AnalysisError(`Window duration and slide must be positive, got ${sizeMs} ms / ${slideMs} ms.`, 'INVALID_WINDOW');
  }
  if (slideMs > sizeMs) {
    throw new AnalysisError(`The window slide (${slideMs} ms) must not exceed the window duration (${sizeMs} ms).`,
      'INVALID_WINDOW');
  }
  if (startMs >= slideMs) {
    throw new AnalysisError(`The window start time (${startMs} ms) must be less than the slide (${slideMs} ms).`,
      'INVALID_WINDOW');
  }
  return new Column({ kind: 'window', time: columnExpr(timeColumn), sizeMs, slideMs, startMs });
}

/** A session window per key: `[t, t + gap)` per event; sessions that overlap or touch merge. */
export function sessionWindow(timeColumn: ColumnLike, gapDuration: Duration): Column {
  const gapMs = parseDuration(gapDuration, 'the session gap');
  if (gapMs <= 0) throw new AnalysisError(`The session gap must be positive, got ${gapMs} ms.`, 'INVALID_WINDOW');
  return new Column({ kind: 'sessionWindow', time: columnExpr(timeColumn), gapMs });
}
