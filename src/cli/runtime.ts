import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createConfigSource, type ConfigSource } from '../config/config-source.js';
import { readEnv, type ExorunEnv } from '../config/env.js';
import { loadConfigFile } from '../config/load.js';
import { AppError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { checkRedis, createRedisConnection, redactUrl } from '../queue/connection.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../queue/embedded-redis.js';

/** Options every command accepts. */
export interface GlobalOptions {
  config?: string;
  logLevel?: string;
}

export interface Runtime {
  env: ExorunEnv;
  logger: Logger;
  configFile: string;
}

export function createRuntime(options: GlobalOptions, component: string): Runtime {
  const env = readEnv();
  const logger = createLogger({ level: options.logLevel ?? env.LOG_LEVEL, base: { process: component } });
  return { env, logger, configFile: options.config ?? env.EXORUN_CONFIG };
}

export async function loadConfigSource(runtime: Runtime, watch = true): Promise<ConfigSource> {
  const config = await loadConfigFile(runtime.configFile);
  return createConfigSource(config, { logger: runtime.logger, watch });
}

interface RedisStateFile {
  url: string;
  pid: number;
}

export interface ResolvedRedis {
  url: string;
  /** Set when this process started the server (it stops it on exit). */
  embedded?: EmbeddedRedis;
}

/**
 * Where Redis is: REDIS_URL when set; otherwise the private redis-server an `exorun up` in this
 * folder started (its address is in .exorun/redis.json); otherwise, when allowed, start one now.
 */
export async function resolveRedis(runtime: Runtime, options: { startIfMissing: boolean }): Promise<ResolvedRedis> {
  if (runtime.env.REDIS_URL) return { url: runtime.env.REDIS_URL };
  const stateFile = path.join(runtime.env.EXORUN_STATE_DIR, 'redis.json');
  const existing = await readRedisState(stateFile);
  if (existing && (await isReachable(existing.url))) return { url: existing.url };
  if (!options.startIfMissing) {
    throw new AppError(
      'REDIS_UNAVAILABLE',
      'REDIS_URL is not set and no `exorun up` with a private Redis is running in this folder. Set REDIS_URL=redis://host:6379, or start `exorun up` first.',
    );
  }
  const embedded = await startEmbeddedRedis({ persistent: true, dir: path.resolve(runtime.env.EXORUN_STATE_DIR, 'redis') });
  await mkdir(runtime.env.EXORUN_STATE_DIR, { recursive: true });
  await writeFile(stateFile, `${JSON.stringify({ url: embedded.url, pid: embedded.pid } satisfies RedisStateFile)}\n`);
  runtime.logger.info({ redis: embedded.url, dir: path.join(runtime.env.EXORUN_STATE_DIR, 'redis') }, 'REDIS_URL is not set: started a private redis-server');
  return { url: embedded.url, embedded };
}

async function readRedisState(file: string): Promise<RedisStateFile | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as RedisStateFile;
  } catch {
    return undefined;
  }
}

async function isReachable(url: string): Promise<boolean> {
  const connection = createRedisConnection(url, 'client', 'exorun-probe');
  connection.on('error', () => undefined);
  try {
    await checkRedis(connection, url, 1_500);
    return true;
  } catch {
    return false;
  } finally {
    connection.disconnect();
  }
}

/** Fails early, with the URL, when Redis is not reachable. */
export async function assertRedisReachable(url: string): Promise<void> {
  if (!(await isReachable(url))) {
    throw new AppError('REDIS_UNAVAILABLE', `Cannot reach Redis at ${redactUrl(url)}. Is it running? (REDIS_URL=${redactUrl(url)})`);
  }
}
