import type { AppError } from '../core/errors.js';
import { withJitter } from '../core/time.js';

/**
 * What the queue should do with a run that ended in an error:
 * - `fail`: stop now; trying again cannot help (bad parameter, unknown cmdlet, access denied, …).
 * - `retry`: spend an attempt and let BullMQ back off exponentially.
 * - `delay`: come back after `delayMs` without spending an attempt (the service said when, or the
 *   run was interrupted by a shutdown and is not at fault).
 */
export type RunOutcome = { kind: 'fail' } | { kind: 'retry' } | { kind: 'delay'; delayMs: number };

/** Re-delays without spending an attempt are capped so a tenant that throttles forever still ends. */
export const MAX_FREE_DELAYS = 25;

/** Pause before a run interrupted by shutdown is picked up again, so another worker can take it. */
const SHUTDOWN_REQUEUE_MS = 1_000;

export function decideOutcome(error: AppError, context: { freeDelaysSoFar: number }): RunOutcome {
  if (!error.retryable) return { kind: 'fail' };
  if (error.code === 'RUN_ABORTED') return { kind: 'delay', delayMs: SHUTDOWN_REQUEUE_MS };
  if (error.retryAfterMs !== undefined && context.freeDelaysSoFar < MAX_FREE_DELAYS) {
    return { kind: 'delay', delayMs: withJitter(Math.max(error.retryAfterMs, 250), 0.1) };
  }
  return { kind: 'retry' };
}
