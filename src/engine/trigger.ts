import { Duration, parseDuration } from '../common/duration.js';
import { AnalysisError } from '../common/errors.js';

/** When batches run: on an interval (0: as fast as possible), once, or until what is available now is done. */
export type Trigger = { processingTime: Duration } | { once: true } | { availableNow: true };

export type ResolvedTrigger =
  | { readonly kind: 'processingTime'; readonly intervalMs: number }
  | { readonly kind: 'once' }
  | { readonly kind: 'availableNow' };

export function resolveTrigger(trigger: Trigger | undefined): ResolvedTrigger {
  if (trigger === undefined) return { kind: 'processingTime', intervalMs: 0 };
  if ('processingTime' in trigger) {
    return { kind: 'processingTime', intervalMs: parseDuration(trigger.processingTime, 'trigger processingTime') };
  }
  if ('once' in trigger && trigger.once === true) return { kind: 'once' };
  if ('availableNow' in trigger && trigger.availableNow === true) return { kind: 'availableNow' };
  throw new AnalysisError(`Unknown trigger ${JSON.stringify(trigger)}: use { processingTime: '5 seconds' }, ` +
    '{ once: true } or { availableNow: true }.', 'INVALID_TRIGGER');
}
