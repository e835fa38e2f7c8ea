import { parseDurationMs } from '../core/index.js';
import type { JobInput, JobsFile } from './schema.js';

/*
 * The operator-facing settings of a job (issue #5): retention, notifications, missed-run grace and
 * catch-up. Kept apart from normalize.ts so the core job model stays small.
 */

export type NotificationEvent = 'failure' | 'warnings' | 'missed';
export const NOTIFICATION_EVENTS: readonly NotificationEvent[] = ['failure', 'warnings', 'missed'];

export interface WebhookConfig {
  /** A literal URL, or the name of the environment variable holding it. Never log either in full. */
  readonly url: { readonly literal: string } | { readonly env: string };
  readonly format: 'json' | 'teams' | 'slack';
  readonly on: readonly NotificationEvent[];
}

export interface RetentionConfig {
  readonly keepRuns?: number;
  readonly keepDays?: number;
}

/** What to do about fire times missed while no scheduler or worker ran. */
export type CatchUpPolicy = 'none' | 'once';

export interface OperatorJobSettings {
  /** Absent: `exorun prune` keeps every run of the job. */
  readonly retention?: RetentionConfig;
  /** The job's webhooks (its own list, or the defaults' when it has none). */
  readonly notify: readonly WebhookConfig[];
  readonly catchUp: CatchUpPolicy;
  readonly missedRunGraceMs: number;
}

export const DEFAULT_CATCH_UP: CatchUpPolicy = 'none';
export const DEFAULT_MISSED_RUN_GRACE_MS = 300_000;

type OperatorInput = Pick<JobInput, 'retention' | 'notify' | 'catchUp' | 'missedRunGrace'>;

/** A job's own setting wins over `defaults`; `notify: []` on a job turns the default webhooks off for it. */
export function normalizeOperatorSettings(job: OperatorInput, defaults: NonNullable<JobsFile['defaults']>): OperatorJobSettings {
  const retention = job.retention ?? defaults.retention;
  const grace = job.missedRunGrace ?? defaults.missedRunGrace;
  return {
    ...(retention === undefined
      ? {}
      : {
          retention: {
            ...(retention.keepRuns === undefined ? {} : { keepRuns: retention.keepRuns }),
            ...(retention.keepDays === undefined ? {} : { keepDays: retention.keepDays }),
          },
        }),
    notify: (job.notify ?? defaults.notify ?? []).map((hook) => ({
      url: typeof hook.url === 'string' ? { literal: hook.url } : { env: hook.url.env },
      format: hook.format ?? 'json',
      on: hook.on ?? NOTIFICATION_EVENTS,
    })),
    catchUp: job.catchUp ?? defaults.catchUp ?? DEFAULT_CATCH_UP,
    missedRunGraceMs: grace === undefined ? DEFAULT_MISSED_RUN_GRACE_MS : (parseDurationMs(grace) ?? DEFAULT_MISSED_RUN_GRACE_MS),
  };
}
