import { nextFireTimes } from '../../config/index.js';
import { AppError } from '../../core/index.js';
import type { ConfigSource } from '../../config/index.js';
import { planRuns } from '../../jobs/index.js';
import { createRedisConnection, waitForRedis } from '../../queue/index.js';
import { createRunQueue } from '../../queue/index.js';
import { startSchedulerProcess } from '../../scheduler/index.js';
import { startWorkerProcess } from '../../worker/index.js';
import { createServiceShutdown, type ServiceShutdown } from '../signals.js';
import { createOpsEndpoint } from '../ops-endpoint.js';
import type { ExorunMetrics } from '../../core/index.js';
import { createRuntime, loadConfigSource, logRedisOutages, resolveRedis, type GlobalOptions, type ResolvedRedis, type Runtime } from '../runtime.js';

export interface UpOptions extends GlobalOptions {
  runNow?: boolean;
  watch?: boolean;
  concurrency?: string;
  drain: string;
}

/**
 * `exorun up`: scheduler and worker in one process, with a private Redis when REDIS_URL is unset.
 * The quick start's main job. On a signal the worker drains first, then the scheduler and the
 * endpoint close, and the private redis-server stops last, so that active runs can still record
 * their outcome.
 */
export async function upCommand(options: UpOptions): Promise<number> {
  const runtime = createRuntime(options, 'up');
  const shutdown = createServiceShutdown(runtime.logger, { drainMs: drainMs(options.drain) });
  return startService(shutdown, async () => {
    const { config, redis, ops } = await startServiceBase(runtime, shutdown, {
      watch: options.watch !== false,
      startRedisIfMissing: true,
      httpPort: UP_HTTP_PORT,
      // Registered before everything that needs Redis, so it closes after all of them.
      onRedis: ({ embedded }) => {
        if (!embedded) return;
        shutdown.add(
          'private redis-server',
          async () => {
            runtime.logger.info({ pid: embedded.pid }, 'stopping the private redis-server');
            await embedded.stop();
            runtime.logger.info({ pid: embedded.pid }, 'private redis-server stopped');
          },
          () => embedded.stopWithoutWaiting(),
        );
      },
    });
    const scheduler = await startSchedulerProcess({ config, env: runtime.env, logger: runtime.logger, redisUrl: redis.url });
    shutdown.add('scheduler', () => scheduler.close());
    const worker = await startWorker(runtime, config, redis.url, options.concurrency, ops.metrics);
    shutdown.add('worker', () => worker.close(drainMs(options.drain)));
    await ops.start({ worker, scheduler });
    describeSchedule(runtime, config);
    if (options.runNow) await runEveryJobNow(runtime, config, redis.url);
  });
}

/** `exorun worker`: runs from the queue until stopped. */
export async function workerCommand(options: GlobalOptions & { concurrency?: string; drain: string; watch?: boolean }): Promise<number> {
  const runtime = createRuntime(options, 'worker');
  const shutdown = createServiceShutdown(runtime.logger, { drainMs: drainMs(options.drain) });
  return startService(shutdown, async () => {
    const { config, redis, ops } = await startServiceBase(runtime, shutdown, {
      watch: options.watch !== false,
      startRedisIfMissing: false,
      httpPort: undefined,
    });
    const worker = await startWorker(runtime, config, redis.url, options.concurrency, ops.metrics);
    shutdown.add('worker', () => worker.close(drainMs(options.drain)));
    await ops.start({ worker });
  });
}

/** `exorun scheduler`: keeps job schedulers in line with jobs.yaml and turns ticks into runs. */
export async function schedulerCommand(options: GlobalOptions & { watch?: boolean }): Promise<number> {
  const runtime = createRuntime(options, 'scheduler');
  // No runs to drain: the deadline is the grace alone.
  const shutdown = createServiceShutdown(runtime.logger, { drainMs: 0 });
  return startService(shutdown, async () => {
    const { config, redis, ops } = await startServiceBase(runtime, shutdown, {
      watch: options.watch !== false,
      startRedisIfMissing: false,
      httpPort: undefined,
    });
    const scheduler = await startSchedulerProcess({ config, env: runtime.env, logger: runtime.logger, redisUrl: redis.url });
    shutdown.add('scheduler', () => scheduler.close());
    await ops.start({ scheduler });
    describeSchedule(runtime, config);
  });
}

/**
 * Runs a service's start-up, then waits for the signal that stops it. A signal during start-up
 * stops it as well (the shutdown closes what was started so far); a start-up that fails closes
 * what it had started (the private redis-server among it) before the error is reported.
 */
async function startService(shutdown: ServiceShutdown, start: () => Promise<void>): Promise<number> {
  const started = start().then(
    () => undefined,
    async (error: unknown) => {
      if (shutdown.signal.aborted) return;
      await shutdown.closeAfterFailedStart();
      throw error;
    },
  );
  await Promise.race([started, shutdown.stopped]);
  return shutdown.stopped;
}

/** Start-up waits for Redis (services may start before it), saying so once, not per attempt. */
async function waitForRedisLogged(runtime: Runtime, shutdown: ServiceShutdown, url: string): Promise<void> {
  // Kept for the life of the process: outages after start-up are reported the same way.
  logRedisOutages(runtime.logger, url);
  await waitForRedis(url, { signal: shutdown.signal });
}

/**
 * What every service starts with, each part closed by the shutdown: the jobs file (watched, and
 * reloaded on SIGHUP), Redis (waited for, one line per outage) and the operator endpoint.
 */
async function startServiceBase(
  runtime: Runtime,
  shutdown: ServiceShutdown,
  options: { watch: boolean; startRedisIfMissing: boolean; httpPort: number | undefined; onRedis?: (redis: ResolvedRedis) => void },
): Promise<{ config: ConfigSource; redis: ResolvedRedis; ops: Awaited<ReturnType<typeof createOpsEndpoint>> }> {
  const config = await loadConfigSource(runtime, options.watch);
  shutdown.add('configuration watch', () => config.close());
  shutdown.onReload(() => config.reload());
  const redis = await resolveRedis(runtime, { startIfMissing: options.startRedisIfMissing });
  options.onRedis?.(redis);
  await waitForRedisLogged(runtime, shutdown, redis.url);
  const ops = await createOpsEndpoint(runtime, redis.url, options.httpPort);
  shutdown.add('operator endpoint', () => ops.close());
  return { config, redis, ops };
}

/** The operator endpoint port of `exorun up` when EXORUN_HTTP_PORT is unset (Prometheus exporter range). */
const UP_HTTP_PORT = 9464;

function startWorker(
  runtime: Runtime,
  config: ConfigSource,
  redisUrl: string,
  concurrency: string | undefined,
  metrics: ExorunMetrics | undefined,
): ReturnType<typeof startWorkerProcess> {
  return startWorkerProcess({
    config,
    env: runtime.env,
    logger: runtime.logger,
    redisUrl,
    ...(metrics === undefined ? {} : { metrics }),
    ...(concurrency === undefined ? {} : { concurrency: positiveInteger(concurrency, '--concurrency') }),
  });
}

function drainMs(seconds: string): number {
  return positiveInteger(seconds, '--drain') * 1000;
}

function positiveInteger(value: string, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new AppError('CFG_ENV_INVALID', `${flag} must be a whole number of at least 1, got '${value}'.`);
  return parsed;
}

function describeSchedule(runtime: Runtime, source: ConfigSource): void {
  const config = source.current();
  for (const job of Object.values(config.jobs)) {
    const next = job.enabled && job.schedule ? new Date(nextFireTimes(job.schedule, job.timezone, 1)[0] ?? 0).toISOString() : undefined;
    runtime.logger.info(
      {
        job: job.name,
        tenant: job.tenants.join(','),
        cmdlet: job.steps.map((step) => step.cmdlet).join(' → '),
        next: next ?? (job.enabled ? 'manual only' : 'disabled'),
        output: job.output.directory,
      },
      'job',
    );
  }
}

async function runEveryJobNow(runtime: Runtime, source: ConfigSource, redisUrl: string): Promise<void> {
  const config = source.current();
  const connection = createRedisConnection(redisUrl, 'client', 'exorun-up');
  const runs = createRunQueue({ connection, prefix: runtime.env.EXORUN_PREFIX });
  try {
    for (const job of Object.values(config.jobs).filter((candidate) => candidate.enabled)) {
      for (const plan of planRuns(config, job.name, { trigger: 'manual', nowMs: Date.now() })) {
        await runs.enqueue(plan);
        runtime.logger.info({ job: job.name, tenant: plan.tenant, runId: plan.runId }, '--run-now: run queued');
      }
    }
  } finally {
    await runs.close();
    connection.disconnect();
  }
}
