import { CronExpressionParser } from 'cron-parser';
import type { Redis } from 'ioredis';
import type { ExorunConfig, JobConfig } from '../config/index.js';
import type { Logger } from '../core/index.js';
import { hashJob, planRuns } from '../jobs/index.js';
import type { Notifier } from '../notify/index.js';
import type { RunHistory } from '../queue/index.js';

/**
 * The missed-run watchdog. BullMQ job schedulers never report a fire time that produced no run
 * (scheduler down, Redis restored from an old snapshot) or a run that no worker started (workers
 * down or saturated). For every scheduled job this checks the fire times of the last day: a fire
 * time whose run had not started `missedRunGrace` after it is a missed run, logged and sent to the
 * job's webhooks once (a Redis marker dedupes across passes and scheduler replicas).
 *
 * Fire times are enumerated forwards with cron-parser's next(), the parser BullMQ uses, never
 * with prev(), which skips fire times around DST changes (cron-parser #378).
 */

export interface MissedRun {
  job: string;
  tenant: string;
  runId: string;
  scheduledFor: string;
  /** When the run started after all (late), if it did. */
  startedAt?: string;
}

export interface MissedRunWatchdogOptions {
  redis: Redis;
  prefix: string;
  logger: Logger;
  config: () => ExorunConfig;
  history: RunHistory;
  /** When a worker first took a run (BullMQ's processedOn), or undefined when none did (or it is gone). */
  runStartedAt: (runId: string) => Promise<number | undefined>;
  notifier?: Notifier;
  /** How far back fire times are checked. Default 24 h. */
  lookbackMs?: number;
  now?: () => number;
}

export interface MissedRunWatchdog {
  /** One pass: reports (once each) and returns the missed runs found now. */
  check(): Promise<MissedRun[]>;
}

/** At most this many fire times per job and pass (a per-second schedule has 86,400 a day). */
const MAX_FIRE_TIMES = 50;

export function createMissedRunWatchdog(options: MissedRunWatchdogOptions): MissedRunWatchdog {
  const { redis, prefix, logger } = options;
  const now = options.now ?? Date.now;
  const lookbackMs = options.lookbackMs ?? 86_400_000;

  /**
   * Fire times up to the watermark were checked by an earlier pass. It starts when the watchdog
   * first sees a job's current definition: a new or changed schedule is not "missing" the runs it
   * never had. Per definition hash, so an edit starts afresh.
   */
  const watermarkKey = (job: JobConfig): string => `${prefix}:watchdog:checked:${job.name}:${hashJob(job)}`;

  async function watermark(job: JobConfig, nowMs: number): Promise<number> {
    await redis.set(watermarkKey(job), String(nowMs), 'EX', 30 * 86_400, 'NX');
    const value = Number(await redis.get(watermarkKey(job)));
    return Number.isFinite(value) && value > 0 ? value : nowMs;
  }

  async function startedAtOf(runId: string): Promise<number | undefined> {
    const fromQueue = await options.runStartedAt(runId);
    if (fromQueue !== undefined) return fromQueue;
    const entry = await options.history.get(runId);
    const started = entry?.startedAt === undefined ? NaN : Date.parse(entry.startedAt);
    return Number.isFinite(started) ? started : undefined;
  }

  async function checkJob(config: ExorunConfig, job: JobConfig, nowMs: number): Promise<MissedRun[]> {
    if (!job.enabled || job.schedule === undefined) return [];
    const from = Math.max(await watermark(job, nowMs), nowMs - lookbackMs);
    const until = nowMs - job.missedRunGraceMs;
    if (until <= from) return [];
    const fireTimes = fireTimesBetween(job.schedule, job.timezone, from, until);
    const missed: MissedRun[] = [];
    for (const firedAtMs of fireTimes) {
      // One run per tenant of the job: each is checked (and reported) on its own.
      for (const plan of planRuns(config, job.name, { trigger: 'schedule', firedAtMs, nowMs })) {
        const runId = plan.runId;
        const startedAtMs = await startedAtOf(runId);
        if (startedAtMs !== undefined && startedAtMs <= firedAtMs + job.missedRunGraceMs) continue;
        // Reported once, by whichever pass or replica sees it first.
        const fresh = await redis.set(`${prefix}:watchdog:reported:${runId}`, String(nowMs), 'EX', 7 * 86_400, 'NX');
        if (fresh !== 'OK') continue;
        missed.push({
          job: job.name,
          tenant: plan.tenant,
          runId,
          scheduledFor: new Date(firedAtMs).toISOString(),
          ...(startedAtMs === undefined ? {} : { startedAt: new Date(startedAtMs).toISOString() }),
        });
      }
    }
    await redis.set(watermarkKey(job), String(until), 'EX', 30 * 86_400);
    return missed;
  }

  return {
    async check() {
      const config = options.config();
      const nowMs = now();
      const found: MissedRun[] = [];
      for (const job of Object.values(config.jobs)) {
        try {
          found.push(...(await checkJob(config, job, nowMs)));
        } catch (error) {
          logger.warn({ err: error, job: job.name }, 'missed-run check failed for a job; will try again');
        }
      }
      for (const missed of found) {
        const late = missed.startedAt === undefined ? 'no worker has started it' : `it started late, at ${missed.startedAt}`;
        const grace = Math.round((config.jobs[missed.job]?.missedRunGraceMs ?? 0) / 1000);
        const summary = `The run scheduled for ${missed.scheduledFor} did not start within ${grace} s: ${late}. Are the scheduler and workers running?`;
        logger.warn({ job: missed.job, tenant: missed.tenant, runId: missed.runId, scheduledFor: missed.scheduledFor }, `missed run: ${summary}`);
        const webhooks = config.jobs[missed.job]?.notify ?? [];
        if (options.notifier && webhooks.length > 0) {
          await options.notifier.notify(webhooks, {
            event: 'missed',
            job: missed.job,
            tenant: missed.tenant,
            runId: missed.runId,
            scheduledFor: missed.scheduledFor,
            summary,
          });
        }
      }
      return found;
    },
  };
}

/** Fire times in (fromMs, untilMs], oldest first, the newest {@link MAX_FIRE_TIMES} of them. */
export function fireTimesBetween(expression: string, timeZone: string, fromMs: number, untilMs: number): number[] {
  const iterator = CronExpressionParser.parse(expression.trim(), { tz: timeZone, currentDate: new Date(fromMs) });
  const times: number[] = [];
  for (;;) {
    const next = iterator.next().getTime();
    if (next > untilMs) break;
    times.push(next);
    if (times.length > MAX_FIRE_TIMES * 4) times.splice(0, times.length - MAX_FIRE_TIMES);
  }
  return times.slice(-MAX_FIRE_TIMES);
}
