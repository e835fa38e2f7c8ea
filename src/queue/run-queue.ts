import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppError } from '../core/index.js';
import { reportRedisFailure } from './connection.js';
import type { RunPayload } from './payload.js';

/** Queue of runs (real work); its job ids are run ids. */
export const RUNS_QUEUE = 'runs';
/** Queue the job schedulers fire into; a tick becomes one run per tenant. */
export const TICKS_QUEUE = 'ticks';

/** Retries after retryable failures that did not say when to retry (throttling re-delays instead). */
export const DEFAULT_RUN_ATTEMPTS = 3;

export interface RunQueue {
  readonly queue: Queue;
  /**
   * Adds a run. The run id is the BullMQ job id, so planning the same scheduled run twice (two
   * scheduler replicas, a retried tick) adds it once; `created` says whether this call added it.
   */
  enqueue(payload: RunPayload, options?: { attempts?: number }): Promise<EnqueueResult>;
  close(): Promise<void>;
}

export interface EnqueueResult {
  runId: string;
  /** False when the run id was already queued, or when the overlap policy left the run out. */
  created: boolean;
  /** Set when the job's overlap policy (skip, queue-one) left the run out: what was in the way. */
  skipped?: { reason: 'overlap'; policy: 'skip' | 'queue-one'; running: number; waiting: number };
}

/** States in which a run is finished for good; anything else still counts for the overlap policy. */
const FINISHED_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'unknown']);

/**
 * BullMQ re-emits every connection error on each queue, and prints it with its stack when the
 * queue has no listener. The connection already reports it (see connection.ts) and a failed
 * command rejects its own promise, so by default a queue's errors need nothing more.
 */
const IGNORE_QUEUE_ERROR = (): void => undefined;

export function createRunQueue(options: { connection: Redis; prefix: string; onError?: (error: Error) => void }): RunQueue {
  const queue = new Queue(RUNS_QUEUE, { connection: options.connection, prefix: options.prefix });
  queue.on('error', options.onError ?? IGNORE_QUEUE_ERROR);
  const redis = options.connection;
  // The runs of a job for a tenant that may still be open. BullMQ is the truth about their state;
  // this set only says which ids to ask about, and finished ones are dropped whenever it is read.
  const openRunsKey = (payload: RunPayload): string => `${options.prefix}:open-runs:{${payload.job}|${payload.tenant}}`;

  async function openRuns(payload: RunPayload): Promise<{ running: number; waiting: number }> {
    const key = openRunsKey(payload);
    let running = 0;
    let waiting = 0;
    for (const id of await redis.smembers(key)) {
      const existing = await Job.fromId(queue, id);
      const state = existing ? await existing.getState() : 'unknown';
      if (FINISHED_STATES.has(state)) await redis.srem(key, id);
      else if (state === 'active') running += 1;
      else waiting += 1;
    }
    return { running, waiting };
  }

  return {
    queue,
    async enqueue(payload, enqueueOptions = {}) {
      const policy = payload.definition.overlap;
      // Not atomic with the add below: two planners racing for the same job and tenant at the same
      // moment may both queue. Scheduled runs of one fire time share a run id, so that race needs
      // two different fire times within milliseconds, which schedules of seconds or more never produce.
      if (policy !== 'allow') {
        const open = await openRuns(payload);
        if ((policy === 'skip' && open.running + open.waiting > 0) || (policy === 'queue-one' && open.waiting > 0)) {
          return { runId: payload.runId, created: false, skipped: { reason: 'overlap', policy, ...open } };
        }
      }
      const retry = payload.definition.retry;
      const job = await queue.add(payload.job, payload, {
        jobId: payload.runId,
        attempts: enqueueOptions.attempts ?? retry.attempts ?? DEFAULT_RUN_ATTEMPTS,
        backoff: { type: 'exponential', delay: retry.backoffMs, jitter: 0.3 },
        removeOnComplete: { age: 7 * 86_400, count: 10_000 },
        removeOnFail: { age: 30 * 86_400, count: 10_000 },
      });
      // BullMQ returns the existing job when the id is taken; its timestamp tells them apart.
      const created = (job.data as RunPayload).requestedAt === payload.requestedAt;
      if (created && policy !== 'allow') await redis.sadd(openRunsKey(payload), payload.runId);
      return { runId: job.id ?? payload.runId, created };
    },
    close: () => queue.close(),
  };
}

export interface RunResult {
  state: 'completed' | 'failed';
  returnValue?: unknown;
  failedReason?: string;
}

/**
 * Waits until a run completes or fails for good (not while it is re-delayed or retried).
 * Uses QueueEvents (Redis streams), so events are not missed while waiting. Rejects with
 * RUN_WAIT_TIMEOUT when the run has not finished within `timeoutMs` (the run goes on).
 */
export async function waitForRun(options: { connection: Redis; prefix: string; runId: string; timeoutMs: number }): Promise<RunResult> {
  // BullMQ never closes a connection it was given, so this one is closed below.
  const eventsConnection = options.connection.duplicate();
  eventsConnection.on('error', reportRedisFailure);
  const events = new QueueEvents(RUNS_QUEUE, { connection: eventsConnection, prefix: options.prefix });
  events.on('error', IGNORE_QUEUE_ERROR);
  const queue = new Queue(RUNS_QUEUE, { connection: options.connection, prefix: options.prefix });
  queue.on('error', IGNORE_QUEUE_ERROR);
  const startedMs = Date.now();
  try {
    await events.waitUntilReady();
    const job = await Job.fromId(queue, options.runId);
    if (!job) throw new AppError('RUN_NOT_FOUND', `No run ${options.runId} in the queue (it may have been removed).`);
    try {
      const returnValue: unknown = await job.waitUntilFinished(events, options.timeoutMs);
      return { state: 'completed', returnValue };
    } catch (error) {
      const refreshed = await Job.fromId(queue, options.runId);
      const state = refreshed ? await refreshed.getState() : 'unknown';
      if (refreshed && state === 'failed') return { state: 'failed', failedReason: refreshed.failedReason };
      // BullMQ's own timeout error is a stack trace to an operator; say what happened instead.
      if (Date.now() - startedMs >= options.timeoutMs) {
        throw new AppError(
          'RUN_WAIT_TIMEOUT',
          `Run ${options.runId} has not finished after ${formatWait(options.timeoutMs)} (it is ${describeState(state)}); it goes on in the queue. \`exorun show ${options.runId}\` shows it later.`,
          { cause: error, details: { runId: options.runId, state } },
        );
      }
      throw error;
    }
  } finally {
    await events.close();
    eventsConnection.disconnect();
    await queue.close();
  }
}

function formatWait(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 100) / 10} s`;
}

function describeState(state: string): string {
  if (state === 'waiting' || state === 'prioritized') return 'still queued: is a worker running?';
  if (state === 'delayed') return 'delayed: waiting for a slot, a retry or a throttling cool-down';
  if (state === 'active') return 'running';
  return state;
}

/** Job counts of the runs and ticks queues, for `exorun status` and readiness. */
export async function queueCounts(options: { connection: Redis; prefix: string }): Promise<Record<string, Record<string, number>>> {
  const counts: Record<string, Record<string, number>> = {};
  for (const name of [RUNS_QUEUE, TICKS_QUEUE]) {
    const queue = new Queue(name, { connection: options.connection, prefix: options.prefix });
    queue.on('error', IGNORE_QUEUE_ERROR);
    try {
      counts[name] = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
    } finally {
      await queue.close();
    }
  }
  return counts;
}

/** BullMQ's own Prometheus text for the runs and ticks queues (bullmq_job_count{queue,state}). */
export async function queuePrometheusText(options: { connection: Redis; prefix: string }): Promise<string> {
  const parts: string[] = [];
  for (const name of [RUNS_QUEUE, TICKS_QUEUE]) {
    const queue = new Queue(name, { connection: options.connection, prefix: options.prefix });
    queue.on('error', IGNORE_QUEUE_ERROR);
    try {
      parts.push(await queue.exportPrometheusMetrics({ prefix: options.prefix }));
    } finally {
      await queue.close();
    }
  }
  // Each export repeats the HELP/TYPE header; keep the first of each.
  const seen = new Set<string>();
  return parts
    .join('\n')
    .split('\n')
    .filter((line) => {
      if (!line.startsWith('#')) return line.trim() !== '';
      if (seen.has(line)) return false;
      seen.add(line);
      return true;
    })
    .join('\n');
}
