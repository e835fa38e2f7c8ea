import path from 'node:path';
import type { Job, Worker } from 'bullmq';
import type { ExorunConfig } from '../config/index.js';
import type { Logger } from '../core/index.js';
import type { Notifier } from '../notify/index.js';
import type { RunHistory, RunHistoryEntry } from '../queue/index.js';
import { readManifest } from '../storage/index.js';
import type { RunSummary } from './run/index.js';

/**
 * Turns the BullMQ worker's events into run history and notifications, so the run processor
 * itself needs no knowledge of either. Everything here is best effort: a Redis hiccup or a
 * failing webhook is logged and never changes a run's outcome.
 */
export interface RunEventsOptions {
  worker: Worker;
  history: RunHistory;
  notifier?: Notifier;
  config: () => ExorunConfig;
  logger: Logger;
}

/** How many warnings a notification quotes; the manifest has them all. */
const QUOTED_WARNINGS = 5;

export interface RunEvents {
  /**
   * Resolves when every history write and notification started so far has ended (or after
   * `timeoutMs`): a drain must not close the Redis connection under a run's final status.
   */
  flush(timeoutMs: number): Promise<void>;
}

export function attachRunEvents(options: RunEventsOptions): RunEvents {
  const { worker, history, logger } = options;
  const pending = new Set<Promise<unknown>>();
  /** Runs `work` in the background and remembers it until it ends, for `flush`. */
  const track = (work: Promise<unknown>): void => {
    const tracked = work.catch(() => undefined).finally(() => pending.delete(tracked));
    pending.add(tracked);
  };

  const identity = (job: Job): (Pick<RunHistoryEntry, 'runId' | 'job' | 'tenant'> & Partial<RunHistoryEntry>) | undefined => {
    const data = job.data as { runId?: unknown; job?: unknown; tenant?: unknown; trigger?: unknown; scheduledFor?: unknown };
    if (typeof data.runId !== 'string' || typeof data.job !== 'string' || typeof data.tenant !== 'string') return undefined;
    return {
      runId: data.runId,
      job: data.job,
      tenant: data.tenant,
      ...(data.trigger === 'schedule' || data.trigger === 'manual' ? { trigger: data.trigger } : {}),
      ...(typeof data.scheduledFor === 'string' ? { scheduledFor: data.scheduledFor } : {}),
    };
  };

  const record = (job: Job, update: Partial<RunHistoryEntry>): void => {
    const id = identity(job);
    if (!id) return;
    track(history.record({ ...id, ...update }).catch((error: unknown) => logger.warn({ err: error, runId: id.runId }, 'could not record run history')));
  };

  worker.on('active', (job) => {
    record(job, {
      status: 'running',
      attempt: job.attemptsMade + 1,
      ...(job.processedOn ? { startedAt: new Date(job.processedOn).toISOString() } : {}),
    });
  });

  worker.on('progress', (job, progress) => {
    const state = (progress as { state?: unknown } | null)?.state;
    const counts = progress as { pages?: unknown; objects?: unknown };
    if (state === 'waiting-for-slot') record(job, { status: 'waiting' });
    else if (state === 'running') {
      record(job, {
        status: 'running',
        ...(typeof counts.pages === 'number' ? { pages: counts.pages } : {}),
        ...(typeof counts.objects === 'number' ? { objects: counts.objects } : {}),
      });
    }
  });

  worker.on('completed', (job, result: RunSummary) => {
    const id = identity(job);
    if (!id) return;
    track(
      (async () => {
        const entry = await history
          .record({
            ...id,
            status: result.status,
            endedAt: new Date(job.finishedOn ?? Date.now()).toISOString(),
            durationMs: result.durationMs,
            pages: result.pageCount,
            objects: result.objectCount,
            ...(result.steps.length > 1 ? { steps: result.steps } : {}),
            warnings: result.warnings,
            outputRoot: result.outputRoot,
            files: result.files,
          })
          .catch((error: unknown) => {
            logger.warn({ err: error, runId: id.runId }, 'could not record run history');
            return undefined;
          });
        if (result.warnings > 0) {
          const manifestFile = result.files.find((file) => file.endsWith('.manifest.json'));
          const manifestAbsolute = manifestFile === undefined ? undefined : path.join(result.outputRoot, manifestFile);
          const manifest = manifestAbsolute === undefined ? undefined : await readManifest(manifestAbsolute).catch(() => undefined);
          await notify(id.job, {
            event: 'warnings',
            job: id.job,
            tenant: id.tenant,
            runId: id.runId,
            ...(id.scheduledFor === undefined ? {} : { scheduledFor: id.scheduledFor }),
            summary: `${result.objectCount} object(s) stored, with ${result.warnings} warning(s) from the service.`,
            warnings: (manifest?.warnings ?? []).slice(0, QUOTED_WARNINGS),
            objects: result.objectCount,
            durationMs: entry?.durationMs ?? result.durationMs,
            ...(manifestAbsolute === undefined ? {} : { manifest: manifestAbsolute }),
          });
        }
      })(),
    );
  });

  worker.on('failed', (job, error) => {
    if (!job) return;
    const id = identity(job);
    if (!id) return;
    // BullMQ sets finishedOn only when the run failed for good (no retry left, or unrecoverable).
    const final = job.finishedOn !== undefined && job.finishedOn !== null;
    const { code, message } = splitReason(error.message);
    track(
      (async () => {
        const startedMs = job.processedOn ?? undefined;
        await history
          .record({
            ...id,
            status: final ? 'failed' : 'retrying',
            ...(code === undefined ? {} : { errorCode: code }),
            error: message,
            ...(final ? { endedAt: new Date(job.finishedOn ?? Date.now()).toISOString() } : {}),
            ...(final && startedMs !== undefined ? { durationMs: Math.max(0, (job.finishedOn ?? Date.now()) - startedMs) } : {}),
          })
          .catch((recordError: unknown) => logger.warn({ err: recordError, runId: id.runId }, 'could not record run history'));
        if (!final) return;
        await notify(id.job, {
          event: 'failure',
          job: id.job,
          tenant: id.tenant,
          runId: id.runId,
          ...(id.scheduledFor === undefined ? {} : { scheduledFor: id.scheduledFor }),
          summary: message,
          ...(code === undefined ? {} : { code }),
        });
      })(),
    );
  });

  return {
    async flush(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      // Writes started while waiting (a last 'completed' event) are waited for too.
      while (pending.size > 0 && Date.now() < deadline) {
        await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
      }
    },
  };

  async function notify(jobName: string, notification: Parameters<Notifier['notify']>[1]): Promise<void> {
    const webhooks = options.config().jobs[jobName]?.notify ?? [];
    if (!options.notifier || webhooks.length === 0) return;
    await options.notifier.notify(webhooks, notification);
  }
}

/** BullMQ keeps `CODE: message` (see run-processor's describe()); split it back. */
function splitReason(reason: string): { code?: string; message: string } {
  const match = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/.exec(reason);
  return match ? { code: match[1], message: match[2] as string } : { message: reason };
}
