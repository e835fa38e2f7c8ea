import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/core/errors.js';
import { decideOutcome, MAX_FREE_DELAYS } from '../../../src/worker/outcome.js';

describe('decideOutcome', () => {
  it('fails at once when trying again cannot help', () => {
    for (const code of ['EXO_BAD_REQUEST', 'EXO_CMDLET_UNKNOWN', 'EXO_ACCESS_DENIED', 'AUTH_CLIENT_REJECTED', 'CFG_TENANT_UNKNOWN'] as const) {
      expect(decideOutcome(new AppError(code, 'x'), { freeDelaysSoFar: 0 })).toEqual({ kind: 'fail' });
    }
  });

  it('re-delays without spending an attempt when the service said when to come back', () => {
    const outcome = decideOutcome(new AppError('EXO_THROTTLED', 'slow down', { retryAfterMs: 60_000 }), { freeDelaysSoFar: 0 });
    expect(outcome.kind).toBe('delay');
    expect(outcome.kind === 'delay' && outcome.delayMs).toBeGreaterThanOrEqual(60_000);
    expect(outcome.kind === 'delay' && outcome.delayMs).toBeLessThanOrEqual(66_000);
  });

  it('stops re-delaying for free after the cap, so a tenant that throttles forever still ends', () => {
    expect(decideOutcome(new AppError('EXO_THROTTLED', 'x', { retryAfterMs: 1000 }), { freeDelaysSoFar: MAX_FREE_DELAYS })).toEqual({ kind: 'retry' });
  });

  it('retries with backoff when no delay was given, and requeues runs interrupted by shutdown', () => {
    expect(decideOutcome(new AppError('EXO_UNAVAILABLE', 'x'), { freeDelaysSoFar: 0 })).toEqual({ kind: 'retry' });
    expect(decideOutcome(new AppError('RUN_ABORTED', 'x'), { freeDelaysSoFar: 0 })).toEqual({ kind: 'delay', delayMs: 1000 });
  });
});
