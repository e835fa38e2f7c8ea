import { nextFireTimes } from '../../config/cron.js';
import { AppError } from '../../core/errors.js';
import type { ConfigSource } from '../../config/config-source.js';
import { planRuns } from '../../jobs/plan.js';
import { createRedisConnection } from '../../queue/connection.js';
import { createRunQueue } from '../../queue/run-queue.js';
import { startSchedulerProcess } from '../../scheduler/main.js';
import { startWorkerProcess } from '../../worker/main.js';
import { runUntilSignal } from '../signals.js';
import { createOpsEndpoint } from '../ops-endpoint.js';
import type { ExorunMetrics } from '../../core/metrics.js';
import { createRuntime, loadConfigSource, resolveRedis, type GlobalOptions, type Runtime } from '../runtime.js';

export interface UpOptions extends GlobalOptions {
  runNow?: boolean;
  watch?: boolean;
  concurrency?: string;
  drain: string;
}

/**
 * `exorun up`: scheduler and worker in one process, with a private Redis when REDIS_URL is unset.
 * The quick start's main job.
 */
export async function upCommand(options: UpOptions): Promise<number> {
  const runtime = createRuntime(options, 'up');
  const config = await loadConfigSource(runtime, options.watch !== false);
  const redis = await resolveRedis(runtime, { startIfMissing: true });
  const ops = createOpsEndpoint(runtime, redis.url, UP_HTTP_PORT);
  const scheduler = await startSchedulerProcess({ config, env: runtime.env, logger: runtime.logger, redisUrl: redis.url });
  const worker = await startWorker(runtime, config, redis.url, options.concurrency, ops.metrics);
  await ops.start({ worker, scheduler });
  describeSchedule(runtime, config);
  if (options.runNow) await runEveryJobNow(runtime, config, redis.url);
  return runUntilSignal(
    {
      async stop() {
        await worker.close(drainMs(options.drain));
        await scheduler.close();
        await ops.close();
        config.close();
        await redis.embedded?.stop();
      },
      reload: () => config.reload(),
    },
    runtime.logger,
  );
}

/** `exorun worker`: runs from the queue until stopped. */
export async function workerCommand(options: GlobalOptions & { concurrency?: string; drain: string; watch?: boolean }): Promise<number> {
  const runtime = createRuntime(options, 'worker');
  const config = await loadConfigSource(runtime, options.watch !== false);
  const redis = await resolveRedis(runtime, { startIfMissing: false });
  const ops = createOpsEndpoint(runtime, redis.url, undefined);
  const worker = await startWorker(runtime, config, redis.url, options.concurrency, ops.metrics);
  await ops.start({ worker });
  return runUntilSignal(
    {
      async stop() {
        await worker.close(drainMs(options.drain));
        await ops.close();
        config.close();
      },
      reload: () => config.reload(),
    },
    runtime.logger,
  );
}

/** `exorun scheduler`: keeps job schedulers in line with jobs.yaml and turns ticks into runs. */
export async function schedulerCommand(options: GlobalOptions & { watch?: boolean }): Promise<number> {
  const runtime = createRuntime(options, 'scheduler');
  const config = await loadConfigSource(runtime, options.watch !== false);
  const redis = await resolveRedis(runtime, { startIfMissing: false });
  const ops = createOpsEndpoint(runtime, redis.url, undefined);
  const scheduler = await startSchedulerProcess({ config, env: runtime.env, logger: runtime.logger, redisUrl: redis.url });
  await ops.start({ scheduler });
  describeSchedule(runtime, config);
  return runUntilSignal(
    {
      async stop() {
        await scheduler.close();
        await ops.close();
        config.close();
      },
      reload: () => config.reload(),
    },
    runtime.logger,
  );
}

/** The operator endpoint port of `exorun up` when EXORUN_HTTP_PORT is unset (Prometheus exporter range). */
const UP_HTTP_PORT = 9464;

function startWorker(
  runtime: Runtime,
  config: ConfigSource,
  redisUrl: string,
  concurrency: string | undefined,
  metrics: ExorunMetrics,
): ReturnType<typeof startWorkerProcess> {
  return startWorkerProcess({
    config,
    env: runtime.env,
    logger: runtime.logger,
    redisUrl,
    metrics,
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
