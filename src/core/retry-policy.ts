import { ERROR_CODES, type RetryClass } from './error-codes.js';
import type { AppError } from './errors.js';
import { withJitter } from './time.js';

/**
 * The one retry and wait policy of exorun. Every place that tries something again — a request in
 * the exchange client, a run in the queue, a forEach item, a webhook — asks here; none keeps its
 * own thresholds. The decisions are pure functions of the error (its code's `retry` class in the
 * error catalogue, `error-codes.ts`) and what has happened so far.
 */
export const RETRY_LIMITS = {
  /**
   * Tries of the same request after a transient failure (5xx, a body that is not JSON, network),
   * after the first. The module retries 5 times too.
   */
  requestRetries: 5,
  /** First pause before the same request is sent again; doubled each time, capped, with jitter. */
  requestBackoffBaseMs: 1_000,
  requestBackoffCapMs: 30_000,
  /**
   * A wait the service asks for (Retry-After) up to this long is served in place, keeping the
   * slot; a longer one sends the run back to the queue without spending an attempt.
   */
  maxInPlaceWaitMs: 30_000,
  /**
   * While a paging cursor is alive the run waits in place for much longer rather than start again
   * from the first page: cursors expire 30 minutes after they were issued, so waits are allowed
   * while the cursor is younger than this.
   */
  cursorWaitBudgetMs: 20 * 60_000,
  /** Throttled without a Retry-After (the plain-text concurrency refusal): first wait, doubled each time. */
  throttleBackoffBaseMs: 2_000,
  /**
   * Throttling answers in a row on a first page (nothing to lose by starting again) before the run
   * goes back to the queue instead of waiting in place again.
   */
  firstPageThrottleRetries: 10,
  /** Re-delays that spend no attempt, per run: a tenant that throttles forever still ends. */
  maxFreeDelays: 25,
  /** Pause before a run interrupted by a shutdown or a Redis outage is picked up again. */
  requeueDelayMs: 1_000,
  /**
   * After a cool-down, each waiting request adds a random spread of up to this share of the wait
   * (capped below), so that they do not all leave at the same instant.
   */
  resumeSpreadRatio: 0.25,
  resumeSpreadCapMs: 2_000,
  /** Deliveries (webhooks): tries in all, and the first pause, doubled each time. */
  deliveryAttempts: 4,
  deliveryBackoffBaseMs: 1_000,
} as const;

/** How trying again works for this error: its code's class, unless the raise site overrode `retryable`. */
export function retryClassOf(error: AppError): RetryClass {
  if (!error.retryable) return 'fail';
  const retry: RetryClass = ERROR_CODES[error.code].retry;
  // A raise site that knows better (a 404 right after a write) made a normally final error retryable.
  return retry === 'fail' ? 'transient' : retry;
}

/** True when a failed forEach item is only that item's failure; false when the step (and run) must stop. */
export function failsOnlyTheItem(error: AppError): boolean {
  return ERROR_CODES[error.code].scope === 'item';
}

/** Exponential backoff with jitter: `base * 2^tries`, capped. `tries` counts from 0. */
export function backoffDelayMs(tries: number, baseMs: number, capMs: number): number {
  return withJitter(Math.min(capMs, baseMs * 2 ** Math.max(0, tries)));
}

/** What the exchange client does after a request failed. */
export type RequestRetry =
  /** Send the same request again after `delayMs`; the paging cursor is kept. */
  | { retry: true; delayMs: number; reason: 'transient' }
  /**
   * The service asked to wait `delayMs`. The wait holds for the whole (tenant, service), in every
   * process; the request may be retried in place if the wait fits within `maxWaitMs`.
   */
  | { retry: true; delayMs: number; reason: 'throttled'; maxWaitMs: number }
  | { retry: false };

export interface RequestRetryState {
  /** Transient failures of this request so far (throttling answers are not counted here). */
  transientRetries: number;
  /** Throttling answers in a row for this request so far. */
  throttledInARow: number;
  /**
   * How long ago the service issued the cursor this request re-posts; undefined on a first page.
   * A live cursor is worth waiting for: losing it means serving every page again.
   */
  cursorAgeMs?: number;
  /** False for a cmdlet that may change data: a request that may have reached the service is not sent twice. */
  idempotent: boolean;
}

/** Whether, and after how long, the exchange client sends a failed request again. */
export function decideRequestRetry(error: AppError, state: RequestRetryState): RequestRetry {
  const retry = retryClassOf(error);
  if (retry === 'transient') {
    if (!state.idempotent || state.transientRetries >= RETRY_LIMITS.requestRetries) return { retry: false };
    return {
      retry: true,
      reason: 'transient',
      delayMs: backoffDelayMs(state.transientRetries, RETRY_LIMITS.requestBackoffBaseMs, RETRY_LIMITS.requestBackoffCapMs),
    };
  }
  if (retry === 'wait') {
    // Without a usable wait (none given, or 0: the module backs off then too), back off from 2 s.
    const delayMs =
      error.retryAfterMs !== undefined && error.retryAfterMs > 0
        ? error.retryAfterMs
        : backoffDelayMs(state.throttledInARow, RETRY_LIMITS.throttleBackoffBaseMs, RETRY_LIMITS.maxInPlaceWaitMs);
    if (state.cursorAgeMs === undefined) {
      // Nothing is lost by starting again: after many refusals in a row, free the slot and the worker.
      if (state.throttledInARow >= RETRY_LIMITS.firstPageThrottleRetries) return { retry: false };
    } else if (state.cursorAgeMs >= RETRY_LIMITS.cursorWaitBudgetMs) {
      return { retry: false };
    }
    return { retry: true, reason: 'throttled', delayMs, maxWaitMs: inPlaceWaitLimitMs(state.cursorAgeMs) };
  }
  return { retry: false };
}

/**
 * The longest wait (a throttling cool-down) a request serves in place, keeping its slot: the usual
 * limit on a first page, where starting again later loses nothing; while a paging cursor is alive,
 * as long as the cursor will last, since losing it means serving every page again.
 */
export function inPlaceWaitLimitMs(cursorAgeMs: number | undefined): number {
  if (cursorAgeMs === undefined) return RETRY_LIMITS.maxInPlaceWaitMs;
  return Math.max(RETRY_LIMITS.maxInPlaceWaitMs, RETRY_LIMITS.cursorWaitBudgetMs - cursorAgeMs);
}

/** What the queue does with a run that ended in an error. */
export type RunOutcome =
  /** Trying again cannot help. */
  | { kind: 'fail' }
  /** Spend an attempt; the queue backs off exponentially (the job's `retry` settings). */
  | { kind: 'retry' }
  /** Come back after `delayMs` without spending an attempt. */
  | { kind: 'delay'; delayMs: number };

/** The run's outcome after an error, given how many free re-delays it has had. */
export function decideRunOutcome(error: AppError, context: { freeDelaysSoFar: number }): RunOutcome {
  const retry = retryClassOf(error);
  switch (retry) {
    case 'fail':
      return { kind: 'fail' };
    case 'requeue':
      return { kind: 'delay', delayMs: RETRY_LIMITS.requeueDelayMs };
    case 'wait':
      if (error.retryAfterMs !== undefined && context.freeDelaysSoFar < RETRY_LIMITS.maxFreeDelays) {
        return { kind: 'delay', delayMs: withJitter(Math.max(error.retryAfterMs, 250), 0.1) };
      }
      return { kind: 'retry' };
    case 'transient':
    case 'restart':
      return { kind: 'retry' };
  }
}

/**
 * After a cool-down of `waitMs`, how long a waiting request actually waits: never less than asked,
 * plus a random spread so the requests that waited resume one by one rather than all at once.
 */
export function resumeAfterMs(waitMs: number): number {
  const spread = Math.min(RETRY_LIMITS.resumeSpreadCapMs, waitMs * RETRY_LIMITS.resumeSpreadRatio);
  return waitMs + Math.random() * spread;
}

/** Whether a delivery (a webhook) is tried again after a failure, and after how long. */
export function decideDeliveryRetry(attemptsSoFar: number, failure: { status?: number }): { retry: true; delayMs: number } | { retry: false } {
  if (attemptsSoFar >= RETRY_LIMITS.deliveryAttempts) return { retry: false };
  // A 4xx other than 408/429 will not get better by trying again (bad URL, payload refused).
  const status = failure.status;
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return { retry: false };
  return {
    retry: true,
    delayMs: backoffDelayMs(attemptsSoFar - 1, RETRY_LIMITS.deliveryBackoffBaseMs, RETRY_LIMITS.deliveryBackoffBaseMs * 30),
  };
}
