import type { ExorunConfig } from '../config/model.js';
import { hashJob } from '../jobs/plan.js';

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
 * are the most-reported cause of BullMQ schedulers that stop firing (peers §0.3).
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
