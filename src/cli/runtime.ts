import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createConfigSource, type ConfigSource } from '../config/index.js';
import { readEnv, type ExorunEnv } from '../config/index.js';
import { loadConfigFile } from '../config/index.js';
import { AppError } from '../core/index.js';
import { createLogger, type Logger } from '../core/index.js';
import { checkRedis, createRedisConnection, onRedisOutage, redactUrl, type Redis } from '../queue/index.js';
import { adoptEmbeddedRedis, isProcessAlive, startEmbeddedRedis, type EmbeddedRedis } from '../queue/index.js';

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
  const logger = createLogger({ level: options.logLevel ?? env.LOG_LEVEL, base: { process: component, pid: process.pid } });
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
  /** Set when this process owns the server (started or adopted it) and stops it on exit. */
  embedded?: EmbeddedRedis;
}

/**
 * Where Redis is: REDIS_URL when set; otherwise the private redis-server an `exorun up` in this
 * folder started (its address is in .exorun/redis.json); otherwise, when allowed, start one now.
 *
 * With `startIfMissing` (that is, `exorun up`) a private server left running by an earlier `up`
 * whose process ended without stopping it (a closed terminal, kill -9) is adopted: this process
 * says so and stops it at exit. One still owned by a running `up` is shared, never adopted.
 */
export async function resolveRedis(runtime: Runtime, options: { startIfMissing: boolean }): Promise<ResolvedRedis> {
  if (runtime.env.REDIS_URL) return { url: runtime.env.REDIS_URL };
  const stateFile = path.join(runtime.env.EXORUN_STATE_DIR, 'redis.json');
  const existing = await readRedisState(stateFile);
  if (existing && (await isReachable(existing.url))) {
    if (!options.startIfMissing) return { url: existing.url };
    const owner = existing.ownerPid;
    if (owner !== undefined && owner !== process.pid && isProcessAlive(owner)) {
      runtime.logger.info({ redis: redactUrl(existing.url), owner }, 'using the private redis-server of the `exorun up` already running here');
      return { url: existing.url };
    }
    if ((await serverProcessId(existing.url)) === existing.pid) {
      await writeRedisState(runtime, { url: existing.url, pid: existing.pid });
      runtime.logger.info(
        { redis: redactUrl(existing.url), pid: existing.pid },
        'reusing the private redis-server an earlier `exorun up` left running; it is stopped when this process stops',
      );
      return { url: existing.url, embedded: withStateFileRemoval(adoptEmbeddedRedis(existing), stateFile) };
    }
  }
  if (!options.startIfMissing) {
    throw new AppError(
      'REDIS_UNAVAILABLE',
      'REDIS_URL is not set and no `exorun up` with a private Redis is running in this folder. Set REDIS_URL=redis://host:6379, or start `exorun up` first.',
    );
  }
  const dir = path.join(runtime.env.EXORUN_STATE_DIR, 'redis');
  const embedded = await startEmbeddedRedis({ persistent: true, dir: path.resolve(dir), detached: true });
  await writeRedisState(runtime, { url: embedded.url, pid: embedded.pid });
  runtime.logger.info(
    { redis: embedded.url, pid: embedded.pid, dir },
    'REDIS_URL is not set: started a private redis-server (stopped last when this process stops)',
  );
  return { url: embedded.url, embedded: withStateFileRemoval(embedded, stateFile) };
}

/** The state file also names the `up` process that owns the server, so a second `up` does not adopt it. */
async function writeRedisState(runtime: Runtime, server: RedisStateFile): Promise<void> {
  await mkdir(runtime.env.EXORUN_STATE_DIR, { recursive: true });
  const state = { ...server, ownerPid: process.pid };
  await writeFile(path.join(runtime.env.EXORUN_STATE_DIR, 'redis.json'), `${JSON.stringify(state)}\n`);
}

/** A stopped server's state file would only send the next command to a dead address. */
function withStateFileRemoval(server: EmbeddedRedis, stateFile: string): EmbeddedRedis {
  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    port: server.port,
    pid: server.pid,
    stop() {
      stopping ??= server.stop().then(() => rm(stateFile, { force: true }));
      return stopping;
    },
    stopWithoutWaiting: () => server.stopWithoutWaiting(),
  };
}

async function readRedisState(file: string): Promise<(RedisStateFile & { ownerPid?: number }) | undefined> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as Partial<RedisStateFile & { ownerPid: number }>;
    if (typeof state.url !== 'string' || typeof state.pid !== 'number') return undefined;
    return { url: state.url, pid: state.pid, ...(typeof state.ownerPid === 'number' ? { ownerPid: state.ownerPid } : {}) };
  } catch {
    return undefined;
  }
}

async function isReachable(url: string): Promise<boolean> {
  const connection = createRedisConnection(url, 'client', 'exorun-probe', { probe: true });
  try {
    await checkRedis(connection, url, 1_500);
    return true;
  } catch {
    return false;
  } finally {
    connection.disconnect();
  }
}

/** The process id the server at `url` reports: tells our own server from another on a reused port. */
async function serverProcessId(url: string): Promise<number | undefined> {
  const connection = createRedisConnection(url, 'client', 'exorun-probe', { probe: true });
  try {
    const match = /^process_id:(\d+)/m.exec(await connection.info('server'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
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

/**
 * For one-shot commands: Redis (REDIS_URL or the private server of `exorun up`), checked to answer,
 * and a connection to it. Fails at once with REDIS_UNAVAILABLE instead of retrying quietly.
 */
export async function connectRedis(runtime: Runtime, role: 'client' | 'worker', name: string): Promise<{ url: string; connection: Redis }> {
  const { url } = await resolveRedis(runtime, { startIfMissing: false });
  await assertRedisReachable(url);
  return { url, connection: createRedisConnection(url, role, name) };
}

/** How often a service repeats that Redis is still unreachable. */
export const REDIS_OUTAGE_LOG_INTERVAL_MS = 30_000;

/**
 * Logs Redis outages the way an operator wants to read them: one line when Redis cannot be
 * reached ("waiting for Redis at …", URL redacted, no stack), at most one line per interval while
 * it stays unreachable, and one when it is back. Returns the unsubscribe.
 */
export function logRedisOutages(logger: Logger, url: string, intervalMs = REDIS_OUTAGE_LOG_INTERVAL_MS): () => void {
  const redis = redactUrl(url);
  let lastLineMs = 0;
  return onRedisOutage((event) => {
    const now = Date.now();
    if (event.kind === 'up') {
      logger.info({ redis, downForMs: event.downForMs }, `Redis at ${redis} is reachable (after ${Math.round(event.downForMs / 1000)} s)`);
      lastLineMs = 0;
      return;
    }
    if (event.kind === 'down' || now - lastLineMs >= intervalMs) {
      lastLineMs = now;
      const downFor = event.kind === 'still-down' ? ` (unreachable for ${Math.round(event.downForMs / 1000)} s)` : '';
      logger.warn({ redis, reason: event.reason }, `waiting for Redis at ${redis}${downFor}`);
    }
  });
}
