import { AppError } from '../core/index.js';

/** The interval a windowed run covers: [startMs, endMs), handed to cmdlets as StartDate/EndDate. */
export interface RunWindow {
  startMs: number;
  endMs: number;
}

/**
 * The window of a run: from the end of the last successful run of this job for this tenant (so
 * consecutive runs neither skip nor repeat records: cmdlets treat StartDate as inclusive and
 * EndDate as exclusive) to the run's reference time. The first run reaches back `initialWindowMs`.
 * A retry of the same run gets the same window, because the end is the run's own fire (or request)
 * time and the stored end moves only when a run succeeds.
 */
export function computeWindow(input: { lastEndMs: number | undefined; initialWindowMs: number; endMs: number }): RunWindow {
  const startMs = input.lastEndMs ?? input.endMs - input.initialWindowMs;
  if (startMs >= input.endMs) {
    throw new AppError(
      'RUN_WINDOW_EMPTY',
      `The last successful run already covered up to ${new Date(startMs).toISOString()}, which is not before this run's time ${new Date(input.endMs).toISOString()}; nothing new to read.`,
      { retryable: false },
    );
  }
  return { startMs, endMs: input.endMs };
}

/** Whether a forEach step with `failed` of `total` items failed has crossed the job's limit. */
export function itemFailuresExceeded(limit: { count: number } | { percent: number }, failed: number, total: number): boolean {
  if (failed === 0) return false;
  if ('count' in limit) return failed > limit.count;
  return total > 0 && (failed / total) * 100 > limit.percent;
}
