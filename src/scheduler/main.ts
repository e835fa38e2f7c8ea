import type { ConfigSource } from '../config/index.js';
import type { ExorunEnv } from '../config/index.js';
import type { Logger } from '../core/index.js';
import { startSchedulerService, type SchedulerService } from './scheduler-service.js';
import { createNotifier } from '../notify/index.js';

export interface SchedulerProcessSettings {
  config: ConfigSource;
  env: ExorunEnv;
  logger: Logger;
  redisUrl: string;
}

/** Composition root of a scheduler process: environment settings → scheduler service. */
export function startSchedulerProcess(settings: SchedulerProcessSettings): Promise<SchedulerService> {
  return startSchedulerService({
    redisUrl: settings.redisUrl,
    prefix: settings.env.EXORUN_PREFIX,
    logger: settings.logger,
    config: settings.config,
    notifier: createNotifier({ logger: settings.logger, env: (name) => process.env[name] }),
  });
}
