/** Resolves after `ms`, or rejects with an AbortError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('The operation was aborted.');
  error.name = 'AbortError';
  return error;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses durations written for people: `250ms`, `30s`, `5m`, `2h`, `1d`, or a plain number of
 * milliseconds. Returns undefined for anything else so callers can report where the value came from.
 */
export function parseDurationMs(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? 'ms').toLowerCase();
  return Math.round(Number(match[1]) * (DURATION_UNITS_MS[unit] ?? 1));
}

/** Adds up to `ratio` of random spread so retries from many workers do not arrive together. */
export function withJitter(ms: number, ratio = 0.2): number {
  return Math.round(ms * (1 + Math.random() * ratio));
}

/** Exponential backoff: `baseMs * 2^attempt`, capped, with jitter. `attempt` counts from 0. */
export function backoffMs(attempt: number, baseMs = 2_000, capMs = 60_000): number {
  return withJitter(Math.min(capMs, baseMs * 2 ** Math.max(0, attempt)));
}

/** `20261122T020000Z`: sortable and safe in file names and BullMQ job ids. */
export function compactUtc(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** The calendar date (YYYY-MM-DD) of an instant in an IANA time zone. */
export function localDate(ms: number, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms);
}

/** True when `timeZone` is an IANA zone name this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
