import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../../src/core/error-codes.js';
import { AppError } from '../../../src/core/errors.js';
import {
  decideDeliveryRetry,
  decideRequestRetry,
  decideRunOutcome,
  failsOnlyTheItem,
  inPlaceWaitLimitMs,
  resumeAfterMs,
  RETRY_LIMITS,
  retryClassOf,
  type RequestRetryState,
} from '../../../src/core/retry-policy.js';

const fresh: RequestRetryState = { transientRetries: 0, throttledInARow: 0, idempotent: true };

describe('the error catalogue', () => {
  it('states retryable exactly when the retry class is not fail', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) expect(`${code}: ${entry.retryable}`).toBe(`${code}: ${entry.retry !== 'fail'}`);
  });

  it('lets a raise site override retryable: a final code made retryable is transient, a retryable one made final fails', () => {
    expect(retryClassOf(new AppError('EXO_NOT_FOUND', 'x'))).toBe('fail');
    expect(retryClassOf(new AppError('EXO_NOT_FOUND', 'x', { retryable: true }))).toBe('transient');
    expect(retryClassOf(new AppError('EXO_SERVER_ERROR', 'x', { retryable: false }))).toBe('fail');
    expect(retryClassOf(new AppError('EXO_THROTTLED', 'x'))).toBe('wait');
    expect(retryClassOf(new AppError('RUN_ABORTED', 'x'))).toBe('requeue');
    expect(retryClassOf(new AppError('LIMIT_LEASE_LOST', 'x'))).toBe('restart');
  });

  it('fails only the forEach item for per-object errors, the whole step for the rest', () => {
    const itemOnly: ErrorCode[] = ['EXO_NOT_FOUND', 'EXO_BAD_REQUEST', 'EXO_ACCESS_DENIED', 'EXO_SERVER_ERROR', 'RUN_TEMPLATE_FAILED'];
    const wholeRun: ErrorCode[] = [
      'EXO_THROTTLED',
      'LIMIT_LEASE_LOST',
      'RUN_ABORTED',
      'AUTH_CLIENT_REJECTED',
      'EXO_CMDLET_UNKNOWN',
      'REDIS_UNAVAILABLE',
      'INTERNAL',
    ];
    for (const code of itemOnly) expect(`${code}: ${failsOnlyTheItem(new AppError(code, 'x'))}`).toBe(`${code}: true`);
    for (const code of wholeRun) expect(`${code}: ${failsOnlyTheItem(new AppError(code, 'x'))}`).toBe(`${code}: false`);
  });
});

describe('decideRequestRetry', () => {
  it('sends a transient failure again with growing, jittered backoff, up to the limit', () => {
    const error = new AppError('EXO_SERVER_ERROR', 'HTML 500');
    const delays: number[] = [];
    for (let tries = 0; tries < RETRY_LIMITS.requestRetries; tries += 1) {
      const decision = decideRequestRetry(error, { ...fresh, transientRetries: tries });
      expect(decision).toMatchObject({ retry: true, reason: 'transient' });
      if (decision.retry) delays.push(decision.delayMs);
    }
    delays.forEach((delay, tries) => {
      const base = Math.min(RETRY_LIMITS.requestBackoffCapMs, RETRY_LIMITS.requestBackoffBaseMs * 2 ** tries);
      expect(delay).toBeGreaterThanOrEqual(base);
      expect(delay).toBeLessThanOrEqual(base * 1.2);
    });
    expect(decideRequestRetry(error, { ...fresh, transientRetries: RETRY_LIMITS.requestRetries })).toEqual({ retry: false });
  });

  it('never sends a request of a cmdlet that may change data twice after a transient failure', () => {
    expect(decideRequestRetry(new AppError('EXO_UNAVAILABLE', 'x'), { ...fresh, idempotent: false })).toEqual({ retry: false });
    // A throttling answer means the request was refused before it ran: waiting and sending again is safe.
    expect(decideRequestRetry(new AppError('EXO_THROTTLED', 'x', { retryAfterMs: 1_000 }), { ...fresh, idempotent: false })).toMatchObject({ retry: true });
  });

  it('waits as long as the service asked, and backs off from 2 s when it did not say', () => {
    expect(decideRequestRetry(new AppError('EXO_THROTTLED', 'x', { retryAfterMs: 7_000 }), fresh)).toEqual({
      retry: true,
      reason: 'throttled',
      delayMs: 7_000,
      maxWaitMs: RETRY_LIMITS.maxInPlaceWaitMs,
    });
    const unsaid = decideRequestRetry(new AppError('EXO_THROTTLED', 'refusal'), { ...fresh, throttledInARow: 2 });
    expect(unsaid.retry && unsaid.delayMs).toBeGreaterThanOrEqual(RETRY_LIMITS.throttleBackoffBaseMs * 4);
    // Retry-After: 0 (or a date already past) is no licence to hammer: it backs off the same way.
    const zero = decideRequestRetry(new AppError('EXO_THROTTLED', 'x', { retryAfterMs: 0 }), { ...fresh, throttledInARow: 3 });
    expect(zero.retry && zero.delayMs).toBeGreaterThanOrEqual(RETRY_LIMITS.throttleBackoffBaseMs * 8);
  });

  it('on a first page, gives the run back after many refusals in a row (nothing is lost by starting again)', () => {
    const error = new AppError('EXO_THROTTLED', 'x', { retryAfterMs: 1_000 });
    expect(decideRequestRetry(error, { ...fresh, throttledInARow: RETRY_LIMITS.firstPageThrottleRetries - 1 }).retry).toBe(true);
    expect(decideRequestRetry(error, { ...fresh, throttledInARow: RETRY_LIMITS.firstPageThrottleRetries })).toEqual({ retry: false });
  });

  it('with a live cursor, keeps waiting whatever the count, for as long as the cursor lasts', () => {
    const error = new AppError('EXO_THROTTLED', 'x', { retryAfterMs: 60_000 });
    const young = decideRequestRetry(error, { ...fresh, throttledInARow: 50, cursorAgeMs: 60_000 });
    expect(young).toMatchObject({ retry: true, reason: 'throttled', delayMs: 60_000 });
    expect(young.retry && young.reason === 'throttled' && young.maxWaitMs).toBe(RETRY_LIMITS.cursorWaitBudgetMs - 60_000);
    expect(decideRequestRetry(error, { ...fresh, cursorAgeMs: RETRY_LIMITS.cursorWaitBudgetMs })).toEqual({ retry: false });
  });

  it('never retries final errors, an expired cursor, a lost slot or a shutdown in place', () => {
    for (const code of ['EXO_NOT_FOUND', 'EXO_CURSOR_EXPIRED', 'LIMIT_LEASE_LOST', 'RUN_ABORTED', 'AUTH_CLIENT_REJECTED'] as const) {
      expect(decideRequestRetry(new AppError(code, 'x'), fresh)).toEqual({ retry: false });
    }
  });

  it('limits in-place waits to the usual threshold on a first page and to the cursor’s remaining life after', () => {
    expect(inPlaceWaitLimitMs(undefined)).toBe(RETRY_LIMITS.maxInPlaceWaitMs);
    expect(inPlaceWaitLimitMs(0)).toBe(RETRY_LIMITS.cursorWaitBudgetMs);
    expect(inPlaceWaitLimitMs(RETRY_LIMITS.cursorWaitBudgetMs)).toBe(RETRY_LIMITS.maxInPlaceWaitMs);
  });
});

describe('decideRunOutcome', () => {
  const none = { freeDelaysSoFar: 0 };

  it('fails at once when trying again cannot help', () => {
    for (const code of ['EXO_BAD_REQUEST', 'EXO_CMDLET_UNKNOWN', 'EXO_ACCESS_DENIED', 'AUTH_CLIENT_REJECTED', 'CFG_TENANT_UNKNOWN', 'INTERNAL'] as const) {
      expect(decideRunOutcome(new AppError(code, 'x'), none)).toEqual({ kind: 'fail' });
    }
  });

  it('re-delays without spending an attempt when the service said when to come back, up to the cap', () => {
    const outcome = decideRunOutcome(new AppError('EXO_THROTTLED', 'slow down', { retryAfterMs: 60_000 }), none);
    expect(outcome.kind).toBe('delay');
    expect(outcome.kind === 'delay' && outcome.delayMs).toBeGreaterThanOrEqual(60_000);
    expect(outcome.kind === 'delay' && outcome.delayMs).toBeLessThanOrEqual(66_000);
    expect(decideRunOutcome(new AppError('EXO_THROTTLED', 'x', { retryAfterMs: 1_000 }), { freeDelaysSoFar: RETRY_LIMITS.maxFreeDelays })).toEqual({
      kind: 'retry',
    });
    expect(decideRunOutcome(new AppError('EXO_THROTTLED', 'no delay given'), none)).toEqual({ kind: 'retry' });
  });

  it('spends an attempt on transient failures and restarts, and requeues runs a shutdown or Redis outage interrupted', () => {
    expect(decideRunOutcome(new AppError('EXO_UNAVAILABLE', 'x'), none)).toEqual({ kind: 'retry' });
    expect(decideRunOutcome(new AppError('EXO_CURSOR_EXPIRED', 'x'), none)).toEqual({ kind: 'retry' });
    expect(decideRunOutcome(new AppError('LIMIT_LEASE_LOST', 'x'), none)).toEqual({ kind: 'retry' });
    expect(decideRunOutcome(new AppError('RUN_ABORTED', 'x'), none)).toEqual({ kind: 'delay', delayMs: RETRY_LIMITS.requeueDelayMs });
    expect(decideRunOutcome(new AppError('REDIS_UNAVAILABLE', 'x'), { freeDelaysSoFar: 1_000 })).toEqual({
      kind: 'delay',
      delayMs: RETRY_LIMITS.requeueDelayMs,
    });
  });
});

describe('resumeAfterMs', () => {
  it('never resumes before the wait is over, and spreads resumptions over a bounded window', () => {
    const samples = Array.from({ length: 500 }, () => resumeAfterMs(1_000));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...samples)).toBeLessThanOrEqual(1_000 + 1_000 * RETRY_LIMITS.resumeSpreadRatio);
    // Spread, not one instant: the samples cover most of the window.
    expect(Math.max(...samples) - Math.min(...samples)).toBeGreaterThan(150);
    expect(resumeAfterMs(600_000)).toBeLessThanOrEqual(600_000 + RETRY_LIMITS.resumeSpreadCapMs);
  });
});

describe('decideDeliveryRetry', () => {
  it('retries server errors and 408/429 with backoff, never other 4xx, and stops after the attempts', () => {
    expect(decideDeliveryRetry(1, { status: 500 })).toMatchObject({ retry: true });
    expect(decideDeliveryRetry(1, { status: 429 })).toMatchObject({ retry: true });
    expect(decideDeliveryRetry(1, {})).toMatchObject({ retry: true });
    expect(decideDeliveryRetry(1, { status: 404 })).toEqual({ retry: false });
    expect(decideDeliveryRetry(RETRY_LIMITS.deliveryAttempts, { status: 500 })).toEqual({ retry: false });
    const second = decideDeliveryRetry(2, { status: 503 });
    expect(second.retry && second.delayMs).toBeGreaterThanOrEqual(RETRY_LIMITS.deliveryBackoffBaseMs * 2);
  });
});
