import { hostname } from 'node:os';
import { Job, Worker } from 'bullmq';
import type { ExorunConfig } from '../config/index.js';
import { createLifecycle, withTimeout } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { OutputStore } from '../core/index.js';
import { createHttpTransport } from '../exchange/index.js';
import { createRedisTenantLimiter, type RedisTenantLimiter } from '../limits/index.js';
import type { ExorunMetrics } from '../core/index.js';
import { createRedisConnection, isRedisConnectionError } from '../queue/index.js';
import { createRunQueue, RUNS_QUEUE } from '../queue/index.js';
import { createRunWindowStore } from '../queue/index.js';
import { createFileOutputStore } from '../storage/index.js';
import { createSessionStore } from '../auth/index.js';
import { createRunProcessor } from './run-processor.js';
import { createRunHistory } from '../queue/index.js';
import type { Notifier } from '../notify/index.js';
import { attachRunEvents } from './run-events.js';
import { createSimulatedCloud } from './simulated-cloud.js';
import type { RunningSimulator } from './simulator-package.js';
import { createTenantSessions } from './tenant-sessions.js';

export interface WorkerServiceOptions {
  redisUrl: string;
  prefix: string;
  logger: Logger;
  /** The current configuration (read per run, so a reload applies to the next run). */
  config: () => ExorunConfig;
  /** Runs processed at once by this process. */
  concurrency: number;
  /** Slot lease lifetime; a killed worker's slot frees after this. */
  leaseTtlMs: number;
  /** BullMQ lock; a killed worker's run is picked up again within this plus the stalled-check interval. */
  lockDurationMs: number;
  /**
   * How often a run may be picked up again after its worker died (or stopped renewing its lock)
   * before it is failed as a poison run. Default 5: a run whose worker is killed twice still runs.
   */
  maxStalledCount?: number;
  /** State file of an external simulator (`exorun simulate`); otherwise one is started in-process. */
  simulatorStateFile?: string;
  /** Where an in-process simulator publishes its state for `exorun login` (e.g. .exorun/simulator.json). */
  publishSimulatorStateFile?: string;
  /** Key that decrypts delegated sessions (EXORUN_SECRET_KEY); needed only for delegated tenants. */
  secretKey?: Buffer;
  /** Prometheus metrics of this process (served by the HTTP endpoint when one is enabled). */
  metrics?: ExorunMetrics;
  /** Sends webhooks about failed runs and runs with warnings (jobs' `notify`). */
  notifier?: Notifier;
}

export interface WorkerService {
  /** The lease semaphore, for status and metrics. */
  readonly limiter: RedisTenantLimiter;
  /** True while the BullMQ worker takes runs (for readiness). */
  isRunning(): boolean;
  /** The in-process simulator, if simulated tenants made this worker start one. */
  simulator(): RunningSimulator | undefined;
  /**
   * Stops taking runs and waits for active ones; after `drainMs` aborts them (they return to the
   * queue without spending an attempt). Idempotent.
   */
  close(drainMs?: number): Promise<void>;
}

/** Default for WorkerServiceOptions.maxStalledCount. */
export const DEFAULT_MAX_STALLED_COUNT = 5;
/** After the drain deadline: how long aborted runs get to hand themselves back to the queue. */
const ABORT_GRACE_MS = 3_000;
/** Then: how long the last run-history writes get. */
const FLUSH_MS = 1_000;
/** Then: how long closing connections and the transport gets. */
const CLOSE_MS = 1_000;

/** Stalled-check period: a few seconds, never more than half the lock duration. */
export function stalledCheckIntervalMs(lockDurationMs: number): number {
  return Math.max(500, Math.min(5_000, Math.floor(lockDurationMs / 2)));
}

export async function startWorkerService(options: WorkerServiceOptions): Promise<WorkerService> {
  const logger = options.logger.child({ component: 'worker' });
  const lifecycle = createLifecycle({ onError: (name, error) => logger.error({ err: error, resource: name }, 'close failed') });

  const client = createRedisConnection(options.redisUrl, 'client', 'exorun-worker');
  lifecycle.add('redis client', () => void client.disconnect());
  const workerConnection = createRedisConnection(options.redisUrl, 'worker', 'exorun-worker');
  lifecycle.add('redis worker connection', () => void workerConnection.disconnect());

  const transport = createHttpTransport();
  lifecycle.add('http transport', () => transport.close());
  const simulated = createSimulatedCloud({
    ...(options.simulatorStateFile ? { stateFile: options.simulatorStateFile } : {}),
    ...(options.publishSimulatorStateFile ? { publishStateFile: options.publishSimulatorStateFile } : {}),
    logger,
  });
  lifecycle.add('simulated cloud', () => simulated.close());

  const runs = createRunQueue({ connection: client, prefix: options.prefix });
  lifecycle.add('runs queue', () => runs.close());

  const limiter = createRedisTenantLimiter({
    redis: client,
    prefix: options.prefix,
    leaseTtlMs: options.leaseTtlMs,
    waiterTtlMs: options.leaseTtlMs * 3,
    logger,
    onLeaseLost: (key) => options.metrics?.leaseLosses.inc({ tenant: key.tenant, service: key.service }),
    // A freed slot wakes the runs first in line at once instead of at their next poll.
    wakeWaiters: async (_key, waiterIds) => {
      // Promoting needs only the id: skip loading the job (one round trip less per slot turnover).
      // A run that is no longer delayed (already picked up, or gone) makes promote fail: ignored.
      // Promotion appends the run to the waiting list, behind every run nobody has taken yet; its
      // slot is due now (or is already kept for it), so it goes to the front.
      await Promise.all(
        waiterIds.map(async (id) => {
          const job = new Job(runs.queue, 'wake', {}, {}, id);
          const promoted = await job.promote().then(
            () => true,
            () => false,
          );
          if (promoted) await job.changePriority({ priority: 0, lifo: true }).catch(() => undefined);
        }),
      );
    },
  });
  lifecycle.add('slot limiter', () => limiter.close());

  const stores = new Map<string, OutputStore>();
  const processor = createRunProcessor({
    config: options.config,
    sessions: createTenantSessions({
      transport,
      clouds: { simulated: (tenant, certificate) => simulated.reach(tenant, certificate) },
      sessions: createSessionStore({ redis: client, prefix: options.prefix, secretKey: options.secretKey }),
      logger,
      // Throttling is counted here; the run's request gate holds the tenant back in every worker.
      onThrottle: (tenant, event) => {
        options.metrics?.throttles.inc({ tenant: tenant.organization, service: event.service, status: String(event.status) });
      },
    }),
    limiter,
    windows: createRunWindowStore({ redis: client, prefix: options.prefix }),
    storeFor: (directory) => {
      let store = stores.get(directory);
      if (!store) {
        store = createFileOutputStore({ root: directory });
        stores.set(directory, store);
      }
      return store;
    },
    logger,
    maxSlotWaitMs: options.leaseTtlMs,
    // A quarter of the worker's slots at most wait for a tenant's slot; the rest take other runs.
    maxInProcessSlotWaits: Math.max(1, Math.floor(options.concurrency / 4)),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });

  const worker = new Worker(RUNS_QUEUE, processor, {
    // Recorded on each job as processedBy: tells operators (and tests) which process ran a run.
    name: `${hostname()}:${process.pid}`,
    connection: workerConnection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    // A dead worker's run is found by the first stalled check after its lock expired: checking
    // every few seconds keeps recovery close to the lock duration (docs/operations.md).
    stalledInterval: stalledCheckIntervalMs(options.lockDurationMs),
    maxStalledCount: options.maxStalledCount ?? DEFAULT_MAX_STALLED_COUNT,
  });
  // A connection error repeats on every reconnect attempt; the process logs the outage once (connection.ts).
  worker.on('error', (error) => {
    if (!isRedisConnectionError(error)) logger.error({ err: error }, 'worker error');
  });
  worker.on('failed', (job, error) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) logger.error({ runId: job.id, reason: error.message }, 'run failed');
  });
  // Run history and notifications follow the worker's events (see run-events.ts).
  const history = createRunHistory({ redis: client, prefix: options.prefix });
  const runEvents = attachRunEvents({
    worker,
    history,
    config: options.config,
    logger,
    ...(options.notifier ? { notifier: options.notifier } : {}),
  });
  await worker.waitUntilReady();
  logger.info({ concurrency: options.concurrency }, 'worker ready');

  let closing: Promise<void> | undefined;
  /**
   * Stops taking runs and lets active ones finish for `drainMs`; then aborts them (they go back to
   * the queue without spending an attempt) and gives them a short grace. Then waits for their run
   * history to be written, and closes connections. Bounded in every step, also with Redis gone:
   * the process exits at drainMs + ABORT_GRACE_MS + FLUSH_MS + CLOSE_MS at the latest.
   */
  async function close(drainMs = 30_000): Promise<void> {
    // BullMQ's close() is memoized: calling it again (even with force) returns this same promise.
    const draining = worker.close();
    draining.catch((error: unknown) => logger.warn({ err: error }, 'the BullMQ worker did not close cleanly'));
    try {
      await withTimeout(draining, drainMs, 'draining active runs');
    } catch {
      logger.warn({ drainMs }, 'runs still active after the drain deadline; aborting them (they will be picked up again)');
      worker.cancelAllJobs('shutdown');
      await withTimeout(draining, ABORT_GRACE_MS, 'aborting active runs').catch(() =>
        logger.warn('active runs did not end after the abort; their locks expire and another worker takes them'),
      );
    }
    await runEvents.flush(FLUSH_MS);
    await lifecycle.close(CLOSE_MS).catch(() => undefined);
  }

  return {
    limiter,
    isRunning: () => worker.isRunning() && !closing,
    simulator: () => simulated.local,
    close(drainMs) {
      closing ??= close(drainMs);
      return closing;
    },
  };
}
