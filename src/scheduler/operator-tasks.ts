import type { ExorunConfig, JobConfig } from '../config/index.js';
import { pruneRuns, type PruneResult } from '../storage/index.js';
import { createMissedRunWatchdog, type MissedRunWatchdog, type MissedRunWatchdogOptions } from './missed-runs.js';

/**
 * The scheduler leader's housekeeping: the missed-run watchdog (every few seconds) and the daily
 * retention prune. Both run on the leader only; a Redis marker keeps the prune to once a day
 * across restarts and replicas.
 */
export interface OperatorTasksOptions extends Omit<MissedRunWatchdogOptions, 'lookbackMs' | 'now'> {
  isLeader: () => boolean;
  /** Between watchdog passes; default: a quarter of the smallest grace, between 1 s and 30 s. */
  watchdogIntervalMs?: number;
  /** Set false to leave pruning to `exorun prune` (cron, CI). Default true. */
  dailyPrune?: boolean;
}

export interface OperatorTasks {
  readonly watchdog: MissedRunWatchdog;
  close(): void;
}

export function startOperatorTasks(options: OperatorTasksOptions): OperatorTasks {
  const { logger } = options;
  const watchdog = createMissedRunWatchdog({
    redis: options.redis,
    prefix: options.prefix,
    logger,
    config: options.config,
    history: options.history,
    runStartedAt: options.runStartedAt,
    ...(options.notifier ? { notifier: options.notifier } : {}),
  });

  const graces = Object.values(options.config().jobs).map((job) => job.missedRunGraceMs);
  const intervalMs = options.watchdogIntervalMs ?? Math.min(30_000, Math.max(1_000, Math.floor(Math.min(...graces, 120_000) / 4)));
  let checking = false;
  const watchdogTimer = setInterval(() => {
    if (checking || !options.isLeader()) return;
    checking = true;
    watchdog
      .check()
      .catch((error: unknown) => logger.warn({ err: error }, 'missed-run watchdog pass failed'))
      .finally(() => {
        checking = false;
      });
  }, intervalMs);

  let pruneTimer: NodeJS.Timeout | undefined;
  if (options.dailyPrune !== false) {
    const pruneIfDue = async (): Promise<void> => {
      if (!options.isLeader()) return;
      const due = await options.redis.set(`${options.prefix}:prune:daily`, new Date().toISOString(), 'EX', 23 * 3_600, 'NX');
      if (due !== 'OK') return;
      const results = await pruneConfiguredJobs(options.config());
      for (const result of results) {
        if (!result.result) logger.warn({ job: result.job, err: result.error }, 'daily prune failed for a job');
        else if (result.result.removed.length > 0 || result.result.orphans.length > 0) {
          logger.info(
            { job: result.job, removed: result.result.removed.length, orphans: result.result.orphans.length, bytesFreed: result.result.bytesFreed },
            'daily prune',
          );
        }
      }
    };
    // First look a minute after start (leadership settles), then hourly; the marker makes it daily.
    const run = (): void => void pruneIfDue().catch((error: unknown) => logger.warn({ err: error }, 'daily prune failed'));
    const first = setTimeout(run, 60_000);
    first.unref();
    pruneTimer = setInterval(run, 3_600_000);
    pruneTimer.unref();
    const clearFirst = (): void => clearTimeout(first);
    return {
      watchdog,
      close() {
        clearInterval(watchdogTimer);
        clearInterval(pruneTimer);
        clearFirst();
      },
    };
  }
  return {
    watchdog,
    close() {
      clearInterval(watchdogTimer);
    },
  };
}

/** One job's prune: `result` when it ran, `error` when it could not. */
export interface JobPruneResult {
  job: string;
  result?: PruneResult;
  error?: unknown;
}

/** Applies every job's `retention` (jobs without one are left alone). Used by `exorun prune` too. */
export async function pruneConfiguredJobs(config: ExorunConfig, options: { job?: string; dryRun?: boolean; nowMs?: number } = {}): Promise<JobPruneResult[]> {
  const jobs: JobConfig[] = Object.values(config.jobs).filter((job) => job.retention !== undefined && (options.job === undefined || job.name === options.job));
  const results: JobPruneResult[] = [];
  for (const job of jobs) {
    try {
      const result = await pruneRuns({
        root: job.output.directory,
        job: job.name,
        ...(job.retention?.keepRuns === undefined ? {} : { keepRuns: job.retention.keepRuns }),
        ...(job.retention?.keepDays === undefined ? {} : { keepDays: job.retention.keepDays }),
        ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
        dryRun: options.dryRun === true,
      });
      results.push({ job: job.name, result });
    } catch (error) {
      results.push({ job: job.name, error });
    }
  }
  return results;
}
