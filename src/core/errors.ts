import { ERROR_CODES, isErrorCode, type ErrorCode } from './error-codes.js';

export { ERROR_CODES, type ErrorCode } from './error-codes.js';

/** Options accepted by {@link AppError}. */
export interface AppErrorOptions {
  /** The underlying error, kept for logs; never shown as the message. */
  cause?: unknown;
  /** Overrides the catalogue default for this code. */
  retryable?: boolean;
  /** The service told us when to try again (Retry-After), in milliseconds from now. */
  retryAfterMs?: number;
  /** Facts for logs and manifests (status, requestId, cmdlet, …). Never put secrets here. */
  details?: Record<string, unknown>;
}

// Branding by a registered symbol keeps `isAppError` true across duplicated module copies
// (tsx in tests vs compiled dist), where `instanceof` would fail.
const APP_ERROR_BRAND = Symbol.for('exorun.AppError');

/**
 * Every failure exorun reports is an AppError: a stable `code`, whether trying again can help,
 * an optional server-given delay, and a sentence a person can act on.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.details = Object.freeze({ ...options.details });
    Object.defineProperty(this, APP_ERROR_BRAND, { value: true });
  }

  /** A plain object for logs, manifests and BullMQ failure reasons. */
  toJSON(): { code: ErrorCode; message: string; retryable: boolean; retryAfterMs?: number; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(Object.keys(this.details).length === 0 ? {} : { details: { ...this.details } }),
    };
  }
}

export function isAppError(value: unknown): value is AppError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[APP_ERROR_BRAND] === true;
}

/**
 * Normalises anything thrown into an AppError. Errors that are already AppErrors pass through;
 * aborts become RUN_ABORTED; everything else is wrapped with `fallback` and keeps its cause.
 */
export function toAppError(value: unknown, fallback: ErrorCode = 'INTERNAL'): AppError {
  if (isAppError(value)) return value;
  if (value instanceof Error && value.name === 'AbortError') {
    return new AppError('RUN_ABORTED', 'The operation was aborted.', { cause: value });
  }
  const message = value instanceof Error ? value.message : String(value);
  return new AppError(fallback, message, { cause: value });
}

/** Rebuilds an AppError from its JSON form (e.g. read back from Redis). */
export function appErrorFromJSON(json: unknown): AppError | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const record = json as Record<string, unknown>;
  if (!isErrorCode(record['code']) || typeof record['message'] !== 'string') return undefined;
  const options: AppErrorOptions = { retryable: record['retryable'] === true };
  if (typeof record['retryAfterMs'] === 'number') options.retryAfterMs = record['retryAfterMs'];
  if (typeof record['details'] === 'object' && record['details'] !== null) {
    options.details = record['details'] as Record<string, unknown>;
  }
  return new AppError(record['code'], record['message'], options);
}
