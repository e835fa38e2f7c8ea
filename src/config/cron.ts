import { CronExpressionParser } from 'cron-parser';

/*
 * cron-parser is the parser BullMQ uses (same pinned version), so what `exorun next` prints is
 * what the job scheduler will do.
 */

/**
 * Returns why `expression` is not a schedule exorun accepts, or undefined when it is fine.
 * Stricter than cron-parser: 5 fields (minute precision) or 6 (leading seconds field) only, and no
 * `H` (random) values, which would differ between scheduler replicas.
 */
export function checkCronExpression(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (trimmed.startsWith('@')) {
    try {
      CronExpressionParser.parse(trimmed);
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
  try {
    CronExpressionParser.parse(trimmed, { tz: 'UTC' });
    return undefined;
  } catch (error) {
    return `is not a valid cron expression: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The next `count` fire times of a schedule after `fromMs`, in milliseconds. */
export function nextFireTimes(expression: string, timeZone: string, count: number, fromMs = Date.now()): number[] {
  const iterator = CronExpressionParser.parse(expression.trim(), { tz: timeZone, currentDate: new Date(fromMs) });
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) times.push(iterator.next().getTime());
  return times;
}
