import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import { AppError } from '../core/index.js';

export type { Redis } from 'ioredis';

export type ConnectionRole =
  /** BullMQ workers and QueueEvents: blocking commands, must retry forever (BullMQ requires it). */
  | 'worker'
  /** Producers and our own scripts: fail fast instead of queueing commands while Redis is down. */
  | 'client';

/**
 * What the connections of this process see of Redis being reachable. Every connection made by
 * {@link createRedisConnection} reports here instead of printing its own error per reconnect
 * attempt (ioredis prints a stack trace for an error nobody listens to), so a process can say
 * once that Redis is unreachable, rarely while it stays so, and once when it is back.
 */
export type RedisOutageEvent =
  /** The first failure after Redis was reachable (or at start-up). */
  | { kind: 'down'; reason: string }
  /** Another failure during the same outage: every reconnect attempt of every connection. */
  | { kind: 'still-down'; reason: string; downForMs: number }
  /** A connection is ready again after an outage. */
  | { kind: 'up'; downForMs: number };

const outageEvents = new EventEmitter();
let outageSinceMs: number | undefined;

/** Subscribes to the outage events of every Redis connection of this process; returns the unsubscribe. */
export function onRedisOutage(listener: (event: RedisOutageEvent) => void): () => void {
  outageEvents.on('event', listener);
  return () => outageEvents.off('event', listener);
}

/** Records a failed attempt to reach Redis (a connection error, or a probe that got no answer). */
export function reportRedisFailure(error: unknown): void {
  const reason = describeRedisError(error);
  if (outageSinceMs === undefined) {
    outageSinceMs = Date.now();
    outageEvents.emit('event', { kind: 'down', reason } satisfies RedisOutageEvent);
  } else {
    outageEvents.emit('event', { kind: 'still-down', reason, downForMs: Date.now() - outageSinceMs } satisfies RedisOutageEvent);
  }
}

function reportRedisReady(): void {
  if (outageSinceMs === undefined) return;
  const downForMs = Date.now() - outageSinceMs;
  outageSinceMs = undefined;
  outageEvents.emit('event', { kind: 'up', downForMs } satisfies RedisOutageEvent);
}

/** True while the last thing heard from Redis was a failure. */
export function redisSeemsDown(): boolean {
  return outageSinceMs !== undefined;
}

/** A one-line reason without a stack: `connect ECONNREFUSED 127.0.0.1:6390`. */
export function describeRedisError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeRedisError(error.errors[0]);
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}

const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** Whether an error only says that Redis cannot be reached right now (as opposed to a real fault). */
export function isRedisConnectionError(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isRedisConnectionError);
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && CONNECTION_ERROR_CODES.has(code)) return true;
  return /Connection is closed|connect ETIMEDOUT|Stream isn't writeable|Reached the max retries per request limit/i.test(error.message);
}

/**
 * Creates an ioredis connection for a role. BullMQ workers require `maxRetriesPerRequest: null`;
 * producers fail fast so a caller learns at once that Redis is unreachable (BullMQ's production
 * guide). Connection errors go to {@link onRedisOutage} listeners, never to the console; a
 * `probe` (asking whether an address answers) reports nothing.
 */
export function createRedisConnection(url: string, role: ConnectionRole, name = 'exorun', options: { probe?: boolean } = {}): Redis {
  let redisOptions: RedisOptions;
  try {
    new URL(url);
    redisOptions = {
      connectionName: `${name}:${role}`,
      maxRetriesPerRequest: role === 'worker' ? null : 3,
      enableOfflineQueue: true,
      lazyConnect: false,
    };
  } catch (error) {
    throw new AppError('CFG_ENV_INVALID', `REDIS_URL is not a URL: ${redactUrl(url)}`, { cause: error });
  }
  const connection = new Redis(url, redisOptions);
  if (options.probe) {
    // A probe's failure is its caller's answer (is this address alive?), not an outage.
    connection.on('error', () => undefined);
  } else {
    connection.on('error', reportRedisFailure);
    connection.on('ready', reportRedisReady);
  }
  return connection;
}

/** Waits until the connection answers PING, or fails with REDIS_UNAVAILABLE naming the URL. */
export async function checkRedis(redis: Redis, url: string, timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([redis.ping(), timeout]);
  } catch (error) {
    throw new AppError('REDIS_UNAVAILABLE', `Cannot reach Redis at ${redactUrl(url)}: ${describeRedisError(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until Redis at `url` answers, however long that takes (services start before Redis on a
 * machine that boots both); failures are reported to {@link onRedisOutage} listeners. Rejects
 * with the signal's reason when it is aborted (a shutdown during start-up).
 */
export async function waitForRedis(url: string, options: { signal?: AbortSignal; retryMs?: number } = {}): Promise<void> {
  const probe = createRedisConnection(url, 'client', 'exorun-wait');
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        await checkRedis(probe, url, 2_000);
        return;
      } catch (error) {
        // A probe that got no answer at all (no connection error) still counts as a failure.
        reportRedisFailure(error);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, options.retryMs ?? 1_000);
        options.signal?.addEventListener('abort', done, { once: true });
        function done(): void {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', done);
          resolve();
        }
      });
    }
  } finally {
    probe.disconnect();
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
