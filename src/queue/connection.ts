import { Redis, type RedisOptions } from 'ioredis';
import { AppError } from '../core/errors.js';

export type { Redis } from 'ioredis';

export type ConnectionRole =
  /** BullMQ workers and QueueEvents: blocking commands, must retry forever (BullMQ requires it). */
  | 'worker'
  /** Producers and our own scripts: fail fast instead of queueing commands while Redis is down. */
  | 'client';

/**
 * Creates an ioredis connection for a role. BullMQ workers require `maxRetriesPerRequest: null`;
 * producers fail fast so a caller learns at once that Redis is unreachable (BullMQ's production
 * guide).
 */
export function createRedisConnection(url: string, role: ConnectionRole, name = 'exorun'): Redis {
  let options: RedisOptions;
  try {
    new URL(url);
    options = {
      connectionName: `${name}:${role}`,
      maxRetriesPerRequest: role === 'worker' ? null : 3,
      enableOfflineQueue: true,
      lazyConnect: false,
    };
  } catch (error) {
    throw new AppError('CFG_ENV_INVALID', `REDIS_URL is not a URL: ${url}`, { cause: error });
  }
  return new Redis(url, options);
}

/** Waits until the connection answers PING, or fails with REDIS_UNAVAILABLE naming the URL. */
export async function checkRedis(redis: Redis, url: string, timeoutMs = 5_000): Promise<void> {
  const timer = new Promise<never>((_, reject) => {
    setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref();
  });
  try {
    await Promise.race([redis.ping(), timer]);
  } catch (error) {
    throw new AppError('REDIS_UNAVAILABLE', `Cannot reach Redis at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
}

/** A Redis URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid url)';
  }
}
