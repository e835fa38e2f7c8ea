import path from 'node:path';
import { readSecretKey } from '../auth/index.js';
import type { ConfigSource } from '../config/index.js';
import type { ExorunEnv } from '../config/index.js';
import type { Logger } from '../core/index.js';
import type { ExorunMetrics } from '../core/index.js';
import { startWorkerService, type WorkerService } from './worker-service.js';
import { createNotifier } from '../notify/index.js';

export interface WorkerProcessSettings {
  config: ConfigSource;
  env: ExorunEnv;
  logger: Logger;
  redisUrl: string;
  /** Overrides EXORUN_WORKER_CONCURRENCY. */
  concurrency?: number;
  metrics?: ExorunMetrics;
}

/** Composition root of a worker process: environment settings → worker service. */
export async function startWorkerProcess(settings: WorkerProcessSettings): Promise<WorkerService> {
  const { env } = settings;
  const secretKey = await readSecretKey(env);
  return startWorkerService({
    redisUrl: settings.redisUrl,
    prefix: env.EXORUN_PREFIX,
    logger: settings.logger,
    config: () => settings.config.current(),
    concurrency: settings.concurrency ?? env.EXORUN_WORKER_CONCURRENCY,
    leaseTtlMs: env.EXORUN_LEASE_TTL_MS,
    lockDurationMs: env.EXORUN_LOCK_DURATION_MS,
    ...(env.EXORUN_SIMULATOR === undefined
      ? { publishSimulatorStateFile: path.join(env.EXORUN_STATE_DIR, 'embedded-simulator.json') }
      : { simulatorStateFile: env.EXORUN_SIMULATOR }),
    ...(secretKey === undefined ? {} : { secretKey }),
    ...(settings.metrics === undefined ? {} : { metrics: settings.metrics }),
    notifier: createNotifier({ logger: settings.logger, env: (name) => process.env[name] }),
  });
}
