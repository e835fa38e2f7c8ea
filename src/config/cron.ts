import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { clockGaps, wallClock } from '../core/index.js';

/*
 * cron-parser is the parser BullMQ uses (same pinned version), so what `exorun next` prints is
 * what the job scheduler will do.
 */

/**
 * A fixed date for parsing: without `currentDate` cron-parser asks luxon for the system zone's
 * name, which builds a new Intl.DateTimeFormat on every parse (half of the time of checking a
 * 10,000-job file). Checks below do not depend on the date.
 */
const PARSE_DATE = new Date(Date.UTC(2000, 0, 1));

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
/** Days a month can have (February: in leap years). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/*
 * Files repeat the same few schedules across thousands of jobs; a check is pure, so each distinct
 * expression is checked once per process. The bound keeps a generated file from growing it without
 * limit.
 */
const checkedExpressions = new Map<string, string | undefined>();
const MEMO_LIMIT = 50_000;

/**
 * Returns why `expression` is not a schedule exorun accepts, or undefined when it is fine.
 * Stricter than cron-parser: 5 fields (minute precision) or 6 (leading seconds field) only, no
 * `H` (random) values, which would differ between scheduler replicas, and no schedule that never
 * fires (a day that no month of the schedule has, such as 31 February).
 */
export function checkCronExpression(expression: string): string | undefined {
  if (checkedExpressions.has(expression)) return checkedExpressions.get(expression);
  const problem = uncachedCheck(expression.trim());
  if (checkedExpressions.size >= MEMO_LIMIT) checkedExpressions.clear();
  checkedExpressions.set(expression, problem);
  return problem;
}

function uncachedCheck(trimmed: string): string | undefined {
  if (trimmed.startsWith('@')) {
    try {
      CronExpressionParser.parse(trimmed, { currentDate: PARSE_DATE });
      return undefined;
    } catch {
      return `unknown shortcut '${trimmed}' (use @hourly, @daily, @weekly, @monthly, @yearly or a cron expression)`;
    }
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return `must have 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first); got ${fields.length}`;
  }
  // Day and month names (THU, MAR, …) may contain an H; only a bare H is the random marker.
  if (fields.some((field) => /H/i.test(field.replace(/[A-Z]{3}/gi, '')))) {
    return "'H' (random) values are not supported: every scheduler replica must compute the same fire times";
  }
  let parsed: CronExpression;
  try {
    parsed = CronExpressionParser.parse(trimmed, { tz: 'UTC', currentDate: PARSE_DATE });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // cron-parser refuses a single month with a day it lacks (30 2); say what that means.
    if (/day of month/i.test(message)) return neverFiresOnDays(fields) ?? `is not a valid cron expression: ${message}`;
    return `is not a valid cron expression: ${message}`;
  }
  return neverFires(parsed);
}

/**
 * A schedule restricted by day of month only (day of week `*`) fires only on days some month of
 * the schedule has. (With both restricted, cron fires when either matches, so it always fires; `L`
 * is the last day of any month.) cron-parser itself would search for such a fire time until its
 * loop limit and throw.
 */
function neverFires(parsed: CronExpression): string | undefined {
  const { dayOfMonth, dayOfWeek, month } = parsed.fields;
  if (dayOfMonth.isWildcard || !dayOfWeek.isWildcard || dayOfMonth.hasLastChar) return undefined;
  const days = numbersOf(dayOfMonth.values);
  const months = numbersOf(month.values);
  const fires = months.some((value) => days.some((day) => day <= (MONTH_DAYS[value - 1] ?? 31)));
  return fires ? undefined : describeMissingDays(days, months);
}

/** The message for a day cron-parser refused outright, read from the written fields. */
function neverFiresOnDays(fields: readonly string[]): string | undefined {
  const offset = fields.length === 6 ? 1 : 0;
  const valuesOf = (replaced: number): number[] | undefined => {
    const copy = [...fields];
    copy[replaced] = '*';
    try {
      const parsed = CronExpressionParser.parse(copy.join(' '), { tz: 'UTC', currentDate: PARSE_DATE });
      const field = replaced === offset + 2 ? parsed.fields.month : parsed.fields.dayOfMonth;
      return numbersOf(field.values);
    } catch {
      return undefined;
    }
  };
  const months = valuesOf(offset + 2);
  const days = valuesOf(offset + 3);
  return months && days ? describeMissingDays(days, months) : undefined;
}

/** A field's values without the letter markers (`L`). */
function numbersOf(values: readonly unknown[]): number[] {
  return values.filter((value): value is number => typeof value === 'number');
}

function describeMissingDays(days: readonly number[], months: readonly number[]): string {
  const monthList = months.map((value) => MONTH_NAMES[value - 1] ?? String(value));
  const joined = monthList.length === 1 ? monthList[0] : `${monthList.slice(0, -1).join(', ')} and ${monthList[monthList.length - 1]}`;
  return `never fires: ${joined} ${monthList.length === 1 ? 'has' : 'have'} no day ${days.join(', ')}`;
}

/** How far `nextFireTimes` looks ahead: far enough for schedules that fire once every 28 years (5th Monday of February). */
export const FIRE_TIME_HORIZON_MS = 50 * 366 * 86_400_000;

/**
 * The next `count` fire times of a schedule after `fromMs`, in milliseconds. Never throws: fewer
 * than `count` (possibly none) when the schedule has no more fire times within `horizonMs`, or is
 * not a valid expression at all — callers say so rather than fail.
 */
export function nextFireTimes(expression: string, timeZone: string, count: number, fromMs = Date.now(), horizonMs = FIRE_TIME_HORIZON_MS): number[] {
  const times: number[] = [];
  try {
    const iterator = CronExpressionParser.parse(expression.trim(), { tz: timeZone, currentDate: new Date(fromMs), endDate: new Date(fromMs + horizonMs) });
    while (times.length < count) times.push(iterator.next().getTime());
  } catch {
    // cron-parser throws when its search passes the end date or its loop limit: no more fire times.
  }
  return times;
}

/** A scheduled time the clocks skip, and when the job fires instead. */
export interface ShiftedFireTime {
  /** Local date of the clock change, YYYY-MM-DD. */
  localDate: string;
  /** The wall-clock time written in the schedule (HH:MM), which does not exist that day. */
  scheduled: string;
  /** The wall-clock time the job fires at instead (HH:MM). */
  firesAt: string;
  /** The skipped stretch, e.g. 02:00–03:00. */
  gap: string;
}

const shiftedFireTimes = new Map<string, ShiftedFireTime | undefined>();

/**
 * The first fire time within a year of `fromMs` that falls in a stretch of wall-clock time the
 * zone skips (daylight saving starts). cron-parser fires it at a shifted time (02:30 → 03:30 in
 * Europe/Berlin); people expect either 02:30 or nothing. Schedules that fire every hour are not
 * reported: they fire every real hour, which is what they mean.
 */
export function shiftedFireTime(expression: string, timeZone: string, fromMs: number): ShiftedFireTime | undefined {
  const key = `${timeZone}\u0000${Math.floor(fromMs / 86_400_000)}\u0000${expression}`;
  if (shiftedFireTimes.has(key)) return shiftedFireTimes.get(key);
  let result: ShiftedFireTime | undefined;
  try {
    result = findShiftedFireTime(expression.trim(), timeZone, fromMs);
  } catch {
    result = undefined;
  }
  if (shiftedFireTimes.size >= MEMO_LIMIT) shiftedFireTimes.clear();
  shiftedFireTimes.set(key, result);
  return result;
}

function findShiftedFireTime(expression: string, timeZone: string, fromMs: number): ShiftedFireTime | undefined {
  const gaps = clockGaps(timeZone, fromMs);
  if (gaps.length === 0) return undefined;
  const { hour, minute, second } = CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: PARSE_DATE }).fields;
  if (hour.isWildcard) return undefined;
  const hours = hour.values as readonly number[];
  const minutes = minute.values as readonly number[];
  for (const gap of gaps) {
    // Cheap test first: does any written hour:minute fall in the skipped stretch?
    const written = hours.flatMap((h) => minutes.map((m) => h * 60 + m)).find((at) => at >= gap.startMinute && at < gap.endMinute);
    if (written === undefined) continue;
    // Then ask cron-parser what it does that day (the day of month/week may not match).
    const iterator = CronExpressionParser.parse(expression, { tz: timeZone, currentDate: new Date(gap.atMs - 1) });
    const firesMs = iterator.next().getTime();
    const clock = wallClock(firesMs, timeZone);
    const matches =
      (hour.values as readonly number[]).includes(clock.hour) &&
      (minute.values as readonly number[]).includes(clock.minute) &&
      (second.values as readonly number[]).includes(clock.second);
    if (!matches && firesMs - gap.atMs < 86_400_000) {
      const hhmm = (minutes: number): string => `${String(Math.floor(minutes / 60) % 24).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
      return {
        localDate: gap.localDate,
        scheduled: hhmm(written),
        firesAt: hhmm(clock.hour * 60 + clock.minute),
        gap: `${hhmm(gap.startMinute)}–${hhmm(gap.endMinute)}`,
      };
    }
  }
  return undefined;
}
