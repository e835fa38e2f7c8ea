import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { ConfigSource } from '../config/index.js';
import { createLifecycle, withTimeout } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { planRuns } from '../jobs/index.js';
import { createRedisConnection, describeRedisError, isRedisConnectionError, redisSeemsDown } from '../queue/index.js';
import { tickPayloadSchema } from '../queue/index.js';
import { createRunQueue, TICKS_QUEUE } from '../queue/index.js';
import { createLeaderLock } from './leader-lock.js';
import type { Notifier } from '../notify/index.js';
import { createRunHistory } from '../queue/index.js';
import { startOperatorTasks } from './operator-tasks.js';
import {
  createSharedRepeatStrategy,
  desiredSchedules,
  forEachConcurrently,
  planReconcile,
  RECONCILE_CONCURRENCY,
  type ExistingSchedule,
  type ReconcilePlan,
} from './reconcile.js';

export interface SchedulerServiceOptions {
  redisUrl: string;
  /** Redis key prefix shared by every exorun process of one deployment. */
  prefix: string;
  logger: Logger;
  /** The live configuration; every successful reload is reconciled. */
  config: ConfigSource;
  /** Leader lock lifetime; a dead leader is replaced after this. Default 15 s. */
  leaderTtlMs?: number;
  /** A schedule whose next fire time is this far in the past is reported as overdue. Default 2 min. */
  overdueGraceMs?: number;
  /** Sends missed-run webhooks (jobs' `notify`). */
  notifier?: Notifier;
  /** Missed-run watchdog period (tests); see operator-tasks.ts for the default. */
  watchdogIntervalMs?: number;
}

/** Ticks take milliseconds; one that cannot finish (Redis gone) must not hold up a shutdown. */
const TICK_DRAIN_MS = 2_000;
/** Everything the scheduler opened is closed within this, whether Redis answers or not. */
const CLOSE_DEADLINE_MS = 4_000;

export interface SchedulerService {
  isLeader(): boolean;
  /** Reconciles job schedulers now if this instance leads; returns what changed. */
  reconcile(): Promise<ReconcilePlan | undefined>;
  /** Schedulers whose next fire time passed more than the grace ago (no tick produced). */
  overdueSchedules(): Promise<{ id: string; nextMs: number }[]>;
  close(): Promise<void>;
}

/**
 * The scheduler: turns jobs.yaml into BullMQ job schedulers on the ticks queue (leader only) and
 * turns every tick into a run on the runs queue (every replica; run ids make that idempotent).
 */
export async function startSchedulerService(options: SchedulerServiceOptions): Promise<SchedulerService> {
  const logger = options.logger.child({ component: 'scheduler' });
  // One line per resource: a close that timed out because Redis is gone needs no stack trace.
  const lifecycle = createLifecycle({ onError: (name, error) => logger.warn({ resource: name, reason: describeRedisError(error) }, `${name} did not close`) });
  const instanceId = randomUUID();
  const leaderTtlMs = options.leaderTtlMs ?? 15_000;
  const overdueGraceMs = options.overdueGraceMs ?? 120_000;
  const source = options.config;
  let leading = false;
  let reconcileWanted = true;

  const client = createRedisConnection(options.redisUrl, 'client', 'exorun-scheduler');
  lifecycle.add('redis client', () => void client.disconnect());
  const workerConnection = createRedisConnection(options.redisUrl, 'worker', 'exorun-scheduler');
  lifecycle.add('redis worker connection', () => void workerConnection.disconnect());

  const ticks = new Queue(TICKS_QUEUE, { connection: client, prefix: options.prefix, settings: { repeatStrategy: createSharedRepeatStrategy() } });
  // Connection errors are reported once per outage by the connection (see connection.ts); BullMQ
  // would print each one with its stack to the console when the queue has no listener.
  ticks.on('error', () => undefined);
  lifecycle.add('ticks queue', () => ticks.close());
  const runs = createRunQueue({ connection: client, prefix: options.prefix });
  lifecycle.add('runs queue', () => runs.close());
  const lock = createLeaderLock({ redis: client, key: `${options.prefix}:scheduler:leader`, ownerId: instanceId, ttlMs: leaderTtlMs });

  async function handleTick(job: Job): Promise<unknown> {
    const parsed = tickPayloadSchema.safeParse(job.data);
    if (!parsed.success) {
      logger.warn({ tickId: job.id }, 'ignoring a tick with unreadable data');
      return { skipped: 'unreadable tick' };
    }
    const firedAtMs = (job.opts as { prevMillis?: number }).prevMillis ?? job.timestamp + (job.opts.delay ?? 0);
    const config = source.current();
    const definition = config.jobs[parsed.data.job];
    if (!definition?.enabled) {
      logger.info({ job: parsed.data.job }, 'tick for a job that is no longer scheduled; skipped');
      return { skipped: 'job removed or disabled' };
    }
    // A tick that fires long after its time comes from a schedule missed while nothing ran
    // (BullMQ keeps one pending tick per schedule); catchUp decides whether it still runs.
    if (Date.now() - firedAtMs > definition.missedRunGraceMs && definition.catchUp === 'none') {
      logger.warn({ job: definition.name, scheduledFor: new Date(firedAtMs).toISOString() }, 'tick for a missed fire time skipped (catchUp: none)');
      return { skipped: 'missed fire time, catchUp none' };
    }
    // One job scheduler per job, and each tick fans out into one run per tenant: reconcile stays one
    // entry per job, and each run id carries its tenant and the fire time, so a repeated tick still
    // queues each tenant's run once. Each run then waits for its own tenant's slot.
    const queued: { runId: string; created: boolean }[] = [];
    for (const plan of planRuns(config, parsed.data.job, { trigger: 'schedule', firedAtMs, nowMs: Date.now() })) {
      const { created, skipped } = await runs.enqueue(plan);
      const message = created ? 'run queued' : skipped ? `run skipped: overlap ${skipped.policy}` : 'run already queued';
      logger.info({ job: plan.job, tenant: plan.tenant, runId: plan.runId, created, ...(skipped ? { skipped } : {}) }, message);
      queued.push({ runId: plan.runId, created });
    }
    return { runs: queued };
  }

  const tickWorker = new Worker(TICKS_QUEUE, handleTick, { connection: workerConnection, prefix: options.prefix, concurrency: 4 });
  tickWorker.on('error', (error) => {
    if (!isRedisConnectionError(error)) logger.error({ err: error }, 'tick worker error');
  });
  lifecycle.add('tick worker', () =>
    redisSeemsDown() ? tickWorker.close(true) : withTimeout(tickWorker.close(), TICK_DRAIN_MS, 'finishing ticks').catch(() => tickWorker.close(true)),
  );

  async function existingSchedules(): Promise<ExistingSchedule[]> {
    const schedulers = await ticks.getJobSchedulers(0, -1, true);
    return schedulers.map((scheduler) => ({
      id: scheduler.key,
      pattern: scheduler.pattern,
      tz: scheduler.tz,
      hash: (scheduler.template?.data as { definitionHash?: string } | undefined)?.definitionHash,
    }));
  }

  async function reconcile(): Promise<ReconcilePlan | undefined> {
    if (!leading) return undefined;
    const plan = planReconcile(desiredSchedules(source.current()), await existingSchedules());
    await forEachConcurrently(plan.upsert, RECONCILE_CONCURRENCY, (schedule) =>
      ticks.upsertJobScheduler(
        schedule.id,
        { pattern: schedule.pattern, tz: schedule.tz },
        {
          name: 'tick',
          data: { v: 1, job: schedule.id, definitionHash: schedule.hash },
          opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
        },
      ),
    );
    await forEachConcurrently(plan.remove, RECONCILE_CONCURRENCY, (id) => ticks.removeJobScheduler(id));
    reconcileWanted = false;
    if (plan.upsert.length > 0 || plan.remove.length > 0) {
      logger.info({ upserted: plan.upsert.map((s) => s.id), removed: plan.remove, unchanged: plan.unchanged.length }, 'job schedulers reconciled');
    }
    return plan;
  }

  async function leaderTick(): Promise<void> {
    try {
      const wasLeading = leading;
      leading = await lock.tryAcquire();
      if (leading && !wasLeading) {
        logger.info({ instanceId }, 'this scheduler now leads reconciliation');
        reconcileWanted = true;
      }
      if (!leading && wasLeading) logger.warn({ instanceId }, 'lost scheduler leadership');
      if (leading && reconcileWanted) await reconcile();
      if (leading) await reportOverdue();
    } catch (error) {
      // While Redis is unreachable every loop fails the same way; the outage is logged once elsewhere.
      if (isRedisConnectionError(error)) logger.debug({ err: error }, 'scheduler leader loop: Redis unreachable; will retry');
      else logger.error({ err: error }, 'scheduler leader loop failed; will retry');
    }
  }

  let lastOverdueReport = 0;
  async function reportOverdue(): Promise<void> {
    if (Date.now() - lastOverdueReport < 60_000) return;
    lastOverdueReport = Date.now();
    for (const overdue of await overdueSchedules()) {
      logger.warn(
        { job: overdue.id, next: new Date(overdue.nextMs).toISOString() },
        'schedule overdue: its fire time passed and no run started; are workers/schedulers running?',
      );
    }
  }

  async function overdueSchedules(): Promise<{ id: string; nextMs: number }[]> {
    const schedulers = await ticks.getJobSchedulers(0, -1, true);
    const limit = Date.now() - overdueGraceMs;
    return schedulers.filter((s) => s.next !== undefined && s.next < limit).map((s) => ({ id: s.key, nextMs: s.next as number }));
  }

  await leaderTick();
  const loop = setInterval(() => void leaderTick(), Math.max(500, Math.floor(leaderTtlMs / 3)));
  lifecycle.add('leader loop', async () => {
    clearInterval(loop);
    // Without Redis the release cannot be sent; the lock expires after its TTL instead.
    if (leading && !redisSeemsDown()) await lock.release();
    leading = false;
  });

  const operatorTasks = startOperatorTasks({
    redis: client,
    prefix: options.prefix,
    logger,
    config: () => source.current(),
    history: createRunHistory({ redis: client, prefix: options.prefix }),
    runStartedAt: async (runId) => (await runs.queue.getJob(runId))?.processedOn ?? undefined,
    isLeader: () => leading,
    ...(options.notifier ? { notifier: options.notifier } : {}),
    ...(options.watchdogIntervalMs === undefined ? {} : { watchdogIntervalMs: options.watchdogIntervalMs }),
  });
  lifecycle.add('operator tasks', () => operatorTasks.close());

  const unsubscribe = source.onChange(() => {
    reconcileWanted = true;
    void leaderTick();
  });
  lifecycle.add('config subscription', unsubscribe);

  return {
    isLeader: () => leading,
    reconcile: async () => {
      reconcileWanted = true;
      await leaderTick();
      return reconcile();
    },
    overdueSchedules,
    close: () => lifecycle.close(CLOSE_DEADLINE_MS),
  };
}
