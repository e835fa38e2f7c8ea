import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { RUNS_QUEUE } from './run-queue.js';

/** What a waiting `exorun run --wait` learns about its run, from BullMQ's event stream. */
export type RunProgressEvent =
  | { kind: 'started' }
  | { kind: 'waiting-for-slot'; position?: number }
  | { kind: 'running'; pages: number; objects: number }
  /** Re-delayed (no slot yet, throttled, or a retry's backoff) until `untilMs`. */
  | { kind: 'delayed'; untilMs: number }
  | { kind: 'retrying'; reason: string };

export interface RunProgressWatch {
  close(): Promise<void>;
}

/**
 * Follows one run's events (Redis streams via QueueEvents, so nothing is lost between events)
 * and reports them; the run's progress data is what the run processor publishes.
 */
export async function watchRunProgress(options: {
  connection: Redis;
  prefix: string;
  runId: string;
  onEvent: (event: RunProgressEvent) => void;
}): Promise<RunProgressWatch> {
  const connection = options.connection.duplicate();
  const events = new QueueEvents(RUNS_QUEUE, { connection, prefix: options.prefix });
  const mine = (jobId: string): boolean => jobId === options.runId;
  events.on('active', ({ jobId }) => {
    if (mine(jobId)) options.onEvent({ kind: 'started' });
  });
  events.on('progress', ({ jobId, data }) => {
    if (!mine(jobId) || typeof data !== 'object' || data === null) return;
    const progress = data as { state?: unknown; position?: unknown; pages?: unknown; objects?: unknown };
    if (progress.state === 'waiting-for-slot') {
      options.onEvent({ kind: 'waiting-for-slot', ...(typeof progress.position === 'number' ? { position: progress.position } : {}) });
    } else if (progress.state === 'running') {
      options.onEvent({ kind: 'running', pages: Number(progress.pages ?? 0), objects: Number(progress.objects ?? 0) });
    }
  });
  events.on('delayed', ({ jobId, delay }) => {
    if (mine(jobId)) options.onEvent({ kind: 'delayed', untilMs: Number(delay) });
  });
  events.on('failed', ({ jobId, failedReason }) => {
    // A failed event that is not final is followed by a retry; the final one ends waitForRun.
    if (mine(jobId)) options.onEvent({ kind: 'retrying', reason: failedReason });
  });
  events.on('error', () => undefined);
  await events.waitUntilReady();
  return {
    async close() {
      await events.close();
      connection.disconnect();
    },
  };
}
