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

/** `20261122T020000Z`: sortable and safe in file names and BullMQ job ids. */
export function compactUtc(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/*
 * Intl.DateTimeFormat construction costs tens of microseconds and allocates; a 10,000-job
 * jobs.yaml checks and formats the same few zones thousands of times. Formatters are immutable, so
 * one per zone is kept for the life of the process.
 */
const dateFormatters = new Map<string, Intl.DateTimeFormat>();
const wallClockFormatters = new Map<string, Intl.DateTimeFormat>();
const knownZones = new Map<string, boolean>();

/** The calendar date (YYYY-MM-DD) of an instant in an IANA time zone. */
export function localDate(ms: number, timeZone: string): string {
  let formatter = dateFormatters.get(timeZone);
  if (!formatter) {
    // en-CA formats as YYYY-MM-DD.
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormatters.set(timeZone, formatter);
  }
  return formatter.format(ms);
}

/** True when `timeZone` is an IANA zone name this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  let known = knownZones.get(timeZone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
      known = true;
    } catch {
      known = false;
    }
    // Only names are cached, and a file holds few distinct ones; a bound keeps odd input harmless.
    if (knownZones.size < 10_000) knownZones.set(timeZone, known);
  }
  return known;
}

/** The wall clock of an instant in a zone, to the second. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function wallClock(ms: number, timeZone: string): WallClock {
  let formatter = wallClockFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    wallClockFormatters.set(timeZone, formatter);
  }
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(ms)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return {
    year: parts['year'] ?? 0,
    month: parts['month'] ?? 0,
    day: parts['day'] ?? 0,
    hour: parts['hour'] ?? 0,
    minute: parts['minute'] ?? 0,
    second: parts['second'] ?? 0,
  };
}

/** Minutes a zone is ahead of UTC at an instant (Europe/Berlin in summer: 120). */
export function utcOffsetMinutes(ms: number, timeZone: string): number {
  const clock = wallClock(ms, timeZone);
  const asUtc = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute, clock.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

/** A stretch of wall-clock time a zone skips when its clocks go forward. */
export interface ClockGap {
  /** The instant the clocks jump. */
  atMs: number;
  /** The skipped wall-clock times: local date and minutes after local midnight, [start, end). */
  localDate: string;
  startMinute: number;
  endMinute: number;
}

const DAY_MS = 86_400_000;
const gapCache = new Map<string, ClockGap[]>();

/**
 * The clock-forward changes of `timeZone` from `fromMs` to `fromMs + spanMs` (daylight-saving
 * starts, and any other forward jump). Found by sampling the offset daily and bisecting to the
 * minute, so it relies only on Intl; cached per zone and day.
 */
export function clockGaps(timeZone: string, fromMs: number, spanMs = 366 * DAY_MS): ClockGap[] {
  const start = Math.floor(fromMs / DAY_MS) * DAY_MS;
  const key = `${timeZone}\u0000${start}\u0000${spanMs}`;
  const cached = gapCache.get(key);
  if (cached) return cached;
  const gaps: ClockGap[] = [];
  let previousMs = start;
  let previousOffset = utcOffsetMinutes(previousMs, timeZone);
  for (let ms = start + DAY_MS; ms <= start + spanMs; ms += DAY_MS) {
    const offset = utcOffsetMinutes(ms, timeZone);
    if (offset > previousOffset) {
      // Bisect to the first minute with the new offset.
      let low = previousMs;
      let high = ms;
      while (high - low > 60_000) {
        const middle = low + Math.floor((high - low) / 120_000) * 60_000;
        if (utcOffsetMinutes(middle, timeZone) > previousOffset) high = middle;
        else low = middle;
      }
      // Described from the first wall-clock time after the jump, so a gap at midnight keeps its day.
      const after = wallClock(high, timeZone);
      const endMinute = after.hour * 60 + after.minute;
      gaps.push({
        atMs: high,
        localDate: `${after.year}-${String(after.month).padStart(2, '0')}-${String(after.day).padStart(2, '0')}`,
        startMinute: Math.max(0, endMinute - (offset - previousOffset)),
        endMinute,
      });
    }
    previousMs = ms;
    previousOffset = offset;
  }
  if (gapCache.size > 1_000) gapCache.clear();
  gapCache.set(key, gaps);
  return gaps;
}
