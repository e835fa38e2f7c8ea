import { defaultRepeatStrategy, type RepeatStrategy } from 'bullmq';
import type { ExorunConfig } from '../config/index.js';
import { hashJob } from '../jobs/index.js';

/** A job scheduler as jobs.yaml wants it. The id is the job name. */
export interface DesiredSchedule {
  id: string;
  pattern: string;
  tz: string;
  /** Hash of the job definition; stored in the scheduler's template so changes are detected. */
  hash: string;
}

/** A job scheduler as it exists in Redis. */
export interface ExistingSchedule {
  id: string;
  pattern?: string | undefined;
  tz?: string | undefined;
  hash?: string | undefined;
}

export interface ReconcilePlan {
  upsert: DesiredSchedule[];
  remove: string[];
  unchanged: string[];
}

/** Every enabled job with a schedule becomes one job scheduler. */
export function desiredSchedules(config: ExorunConfig): DesiredSchedule[] {
  return Object.values(config.jobs)
    .filter((job) => job.enabled && job.schedule !== undefined)
    .map((job) => ({ id: job.name, pattern: job.schedule as string, tz: job.timezone, hash: hashJob(job) }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * What to change so Redis matches jobs.yaml: upsert only schedulers that are new or differ, remove
 * those no longer wanted. Re-upserting an unchanged scheduler is avoided on purpose: repeated upserts
 * are the most-reported cause of BullMQ schedulers that stop firing (BullMQ issue reports).
 */
export function planReconcile(desired: readonly DesiredSchedule[], existing: readonly ExistingSchedule[]): ReconcilePlan {
  const existingById = new Map(existing.map((schedule) => [schedule.id, schedule]));
  const wanted = new Set(desired.map((schedule) => schedule.id));
  const plan: ReconcilePlan = { upsert: [], remove: [], unchanged: [] };
  for (const schedule of desired) {
    const current = existingById.get(schedule.id);
    if (current && current.pattern === schedule.pattern && current.tz === schedule.tz && current.hash === schedule.hash) plan.unchanged.push(schedule.id);
    else plan.upsert.push(schedule);
  }
  for (const schedule of existing) if (!wanted.has(schedule.id)) plan.remove.push(schedule.id);
  return plan;
}

/**
 * How many job-scheduler writes are in flight at once. Each upsert is one Lua script call; sent
 * one by one, a cold start with 10,000 jobs waits for 10,000 round trips. With several in flight
 * ioredis pipelines them on the one connection, while the bound keeps the command queue (and
 * Redis's script time slices) small enough that ticks and the leader lock are not held up.
 */
export const RECONCILE_CONCURRENCY = 64;

/** Runs `action` for every item with at most `concurrency` running; rejects with the first error once those running have settled. */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, action: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const item = items[next] as T;
      next += 1;
      try {
        await action(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  if (failure) throw failure.error;
}

/**
 * BullMQ's repeat strategy (it computes each job scheduler's first fire time on upsert), with the
 * answer shared between schedulers of the same pattern and zone. A cold reconcile of 10,000 jobs
 * spent most of its time in cron-parser stepping day by day through luxon — for a file that
 * repeats a few dozen schedules. Sharing is exact: if the first fire time after `from` is `next`,
 * it is also the first after any later instant before `next`. Anything but a plain pattern and
 * zone (start or end dates, `every`, `immediately`) goes to BullMQ's strategy as is.
 */
export function createSharedRepeatStrategy(): RepeatStrategy {
  const known = new Map<string, { fromMs: number; nextMs: number }>();
  return (millis, options) => {
    // Only what reconcile sets: any other option could change the answer.
    const plain = options.pattern !== undefined && Object.keys(options).every((key) => key === 'pattern' || key === 'tz');
    if (!plain) return defaultRepeatStrategy(millis, options);
    const key = `${options.tz ?? ''}\u0000${options.pattern}`;
    const hit = known.get(key);
    if (hit && millis >= hit.fromMs && millis < hit.nextMs) return hit.nextMs;
    const nextMs = defaultRepeatStrategy(millis, options);
    if (nextMs !== undefined) {
      if (known.size >= 10_000) known.clear();
      known.set(key, { fromMs: millis, nextMs });
    }
    return nextMs;
  };
}
