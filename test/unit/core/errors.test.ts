import { describe, expect, it } from 'vitest';
import { AppError, appErrorFromJSON, isAppError, toAppError } from '../../../src/core/errors.js';

describe('AppError', () => {
  it('takes retryable from the catalogue unless the raise site overrides it', () => {
    expect(new AppError('EXO_THROTTLED', 'slow down').retryable).toBe(true);
    expect(new AppError('EXO_NOT_FOUND', 'gone').retryable).toBe(false);
    expect(new AppError('EXO_NOT_FOUND', 'not yet replicated', { retryable: true }).retryable).toBe(true);
  });

  it('round-trips through JSON with code, delay and details', () => {
    const error = new AppError('EXO_THROTTLED', 'slow down', { retryAfterMs: 1500, details: { status: 429 } });
    const copy = appErrorFromJSON(JSON.parse(JSON.stringify(error)));
    expect(copy?.code).toBe('EXO_THROTTLED');
    expect(copy?.retryAfterMs).toBe(1500);
    expect(copy?.details).toEqual({ status: 429 });
    expect(appErrorFromJSON({ code: 'NOPE', message: 'x' })).toBeUndefined();
  });

  it('normalises foreign errors and aborts', () => {
    const abort = new Error('stop');
    abort.name = 'AbortError';
    expect(toAppError(abort).code).toBe('RUN_ABORTED');
    const wrapped = toAppError(new TypeError('boom'), 'EXO_BAD_RESPONSE');
    expect(wrapped.code).toBe('EXO_BAD_RESPONSE');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
    expect(isAppError(wrapped)).toBe(true);
    expect(isAppError(new Error('plain'))).toBe(false);
  });
});
