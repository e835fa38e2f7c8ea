import type { Redis } from 'ioredis';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AcquireRequest, AcquireResult, Lease, LeaseKey, TenantLimiter } from '../core/ports.js';
import { ACQUIRE, FORGET_WAITER, REFRESH, RELEASE, WOULD_GRANT } from './lease-scripts.js';

export interface RedisLimiterOptions {
  redis: Redis;
  /** Key prefix shared with the queues, e.g. `exorun`. */
  prefix: string;
  /** Lease lifetime without a heartbeat; a killed holder frees its slot after this. Default 30 s. */
  leaseTtlMs?: number;
  /** A waiter that has not asked again for this long loses its place in line. Default 5 min. */
  waiterTtlMs?: number;
  logger?: Logger;
  /**
   * Called with the waiters that may proceed after a release, so they can be woken at once (the
   * worker promotes their delayed runs) rather than at their next poll.
   */
  wakeWaiters?: (key: LeaseKey, waiterIds: string[]) => Promise<void>;
}

export interface RedisTenantLimiter extends TenantLimiter {
  /** True when `waiterId` would be granted a slot right now (no slot is taken). */
  wouldGrant(key: LeaseKey, waiterId: string, limit: number): Promise<boolean>;
  /** Holders (with remaining ms) and waiters of a key, for `exorun status`. */
  inspect(key: LeaseKey): Promise<{ holders: { id: string; remainingMs: number }[]; waiters: string[] }>;
}

interface LeaseCommands {
  exorunAcquire(holders: string, waiters: string, expiry: string, ...args: (string | number)[]): Promise<[number, number, number, number]>;
  exorunRefresh(holders: string, waiters: string, expiry: string, ...args: (string | number)[]): Promise<number>;
  exorunRelease(holders: string, waiters: string, expiry: string, ...args: (string | number)[]): Promise<string[]>;
  exorunWouldGrant(holders: string, waiters: string, expiry: string, ...args: (string | number)[]): Promise<number>;
  exorunForgetWaiter(holders: string, waiters: string, expiry: string, ...args: (string | number)[]): Promise<number>;
}

/**
 * A counting semaphore per (tenant, service) in Redis: never more than `limit` leases at once across
 * every worker process, granted first come, first served. Holders keep their lease alive with a
 * heartbeat; a lease that cannot be refreshed is treated as lost and its run stops sending.
 */
export function createRedisTenantLimiter(options: RedisLimiterOptions): RedisTenantLimiter {
  const leaseTtlMs = options.leaseTtlMs ?? 30_000;
  const waiterTtlMs = options.waiterTtlMs ?? 300_000;
  const redis = options.redis;
  defineCommands(redis);
  const commands = redis as unknown as LeaseCommands;

  const keysOf = (key: LeaseKey): [string, string, string] => {
    // The hash tag keeps the three keys of one semaphore in one Redis Cluster slot.
    const base = `${options.prefix}:lease:{${key.tenant.toLowerCase()}|${key.service}}`;
    return [`${base}:holders`, `${base}:waiters`, `${base}:waiter-expiry`];
  };

  function createLease(key: LeaseKey, request: AcquireRequest): Lease {
    const keys = keysOf(key);
    const controller = new AbortController();
    let released = false;
    // The last moment we can be sure we still hold the lease without asking Redis.
    let locallyValidUntil = Date.now() + leaseTtlMs;

    const lose = (reason: string): void => {
      if (controller.signal.aborted) return;
      options.logger?.warn({ tenant: key.tenant, service: key.service, holderId: request.holderId, reason }, 'lease lost');
      controller.abort(
        new AppError('LIMIT_LEASE_LOST', `Lost the ${key.service} slot for ${key.tenant} (${reason}); this run stopped sending and will be retried.`),
      );
    };

    const refresh = async (): Promise<boolean> => {
      const startedAt = Date.now();
      const kept = await commands.exorunRefresh(...keys, request.holderId, leaseTtlMs);
      if (kept === 1) {
        locallyValidUntil = startedAt + leaseTtlMs;
        return true;
      }
      lose('the lease expired in Redis');
      return false;
    };

    const heartbeat = setInterval(
      () => {
        refresh().catch((error: unknown) => {
          if (Date.now() > locallyValidUntil) lose(`heartbeat failed: ${(error as Error).message}`);
        });
      },
      Math.max(100, Math.floor(leaseTtlMs / 3)),
    );
    heartbeat.unref();

    return {
      key,
      holderId: request.holderId,
      signal: controller.signal,
      async assertHeld() {
        const reason: unknown = controller.signal.reason;
        if (controller.signal.aborted) throw reason instanceof Error ? reason : new AppError('LIMIT_LEASE_LOST', 'The lease was lost.');
        if (Date.now() > locallyValidUntil) lose('the heartbeat has not confirmed the lease in time');
        else await refresh();
        if (controller.signal.aborted) {
          const lost: unknown = controller.signal.reason;
          throw lost instanceof Error ? lost : new AppError('LIMIT_LEASE_LOST', 'The lease was lost.');
        }
      },
      async release() {
        if (released) return;
        released = true;
        clearInterval(heartbeat);
        const next = await commands.exorunRelease(...keys, request.holderId, request.limit);
        if (next.length > 0 && options.wakeWaiters) {
          await options.wakeWaiters(key, next).catch((error: unknown) => {
            options.logger?.warn({ err: error, tenant: key.tenant, service: key.service }, 'could not wake waiting runs');
          });
        }
      },
    };
  }

  return {
    async acquire(key, request): Promise<AcquireResult> {
      const [granted, retryAfterMs, position] = await commands.exorunAcquire(
        ...keysOf(key),
        request.holderId,
        request.waiterId,
        request.limit,
        leaseTtlMs,
        waiterTtlMs,
      );
      if (granted === 1) return { granted: true, lease: createLease(key, request) };
      return { granted: false, retryAfterMs, position };
    },
    async forgetWaiter(key, waiterId) {
      await commands.exorunForgetWaiter(...keysOf(key), waiterId);
    },
    async wouldGrant(key, waiterId, limit) {
      return (await commands.exorunWouldGrant(...keysOf(key), waiterId, limit)) === 1;
    },
    async inspect(key) {
      const [holdersKey, waitersKey] = keysOf(key);
      const [holders, waiters] = await Promise.all([redis.zrange(holdersKey, '0', '-1', 'WITHSCORES'), redis.zrange(waitersKey, '0', '-1')]);
      const time = await redis.time();
      const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      const list: { id: string; remainingMs: number }[] = [];
      for (let index = 0; index + 1 < holders.length; index += 2) {
        list.push({ id: holders[index] as string, remainingMs: Math.max(0, Number(holders[index + 1]) - now) });
      }
      return { holders: list, waiters };
    },
  };
}

function defineCommands(redis: Redis): void {
  if ((redis as unknown as Partial<LeaseCommands>).exorunAcquire) return;
  redis.defineCommand('exorunAcquire', { numberOfKeys: 3, lua: ACQUIRE });
  redis.defineCommand('exorunRefresh', { numberOfKeys: 3, lua: REFRESH });
  redis.defineCommand('exorunRelease', { numberOfKeys: 3, lua: RELEASE });
  redis.defineCommand('exorunWouldGrant', { numberOfKeys: 3, lua: WOULD_GRANT });
  redis.defineCommand('exorunForgetWaiter', { numberOfKeys: 3, lua: FORGET_WAITER });
}
