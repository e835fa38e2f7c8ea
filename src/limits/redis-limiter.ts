import type { Redis } from 'ioredis';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AcquireRequest, AcquireResult, Lease, LeaseKey, TenantLimiter } from '../core/ports.js';
import { ACQUIRE, COOL_DOWN, FORGET_WAITER, REFRESH, RELEASE, TRY_ACQUIRE_FREE, WOULD_GRANT } from './lease-scripts.js';

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
  /** Called when a held lease turns out to be lost (for metrics). */
  onLeaseLost?: (key: LeaseKey) => void;
}

/** What `exorun status` and the metrics show for one (tenant, service). */
export interface KeyState {
  key: LeaseKey;
  holders: { id: string; remainingMs: number }[];
  waiters: string[];
  coolingMs: number;
}

export interface RedisTenantLimiter extends TenantLimiter {
  /**
   * A further slot for a run that already holds one (forEach parallelism): granted only when it is
   * free for nobody else (no run waits for the key, no cool-down); never waits and never joins the
   * line. Undefined when not granted.
   */
  tryAcquireFree(key: LeaseKey, request: { holderId: string; limit: number }): Promise<Lease | undefined>;
  /** True when `waiterId` would be granted a slot right now (no slot is taken). */
  wouldGrant(key: LeaseKey, waiterId: string, limit: number): Promise<boolean>;
  /** The service asked this key to slow down: no slot is granted and no request starts for `ms`. */
  coolDown(key: LeaseKey, ms: number): Promise<void>;
  /** Holders, waiters and cool-down of a key. */
  inspect(key: LeaseKey): Promise<KeyState>;
  /** Every key that has had a lease or a waiter recently, for `exorun status` and metrics. */
  keys(): Promise<LeaseKey[]>;
}

type Keys = [holders: string, waiters: string, waiterExpiry: string, cooldown: string];

interface LeaseCommands {
  exorunAcquire(...args: [...Keys, ...(string | number)[]]): Promise<[number, number, number, number]>;
  exorunRefresh(...args: [...Keys, ...(string | number)[]]): Promise<[number, number]>;
  exorunRelease(...args: [...Keys, ...(string | number)[]]): Promise<[number, ...string[]]>;
  exorunWouldGrant(...args: [...Keys, ...(string | number)[]]): Promise<number>;
  exorunForgetWaiter(...args: [...Keys, ...(string | number)[]]): Promise<number>;
  exorunCoolDown(...args: [...Keys, ...(string | number)[]]): Promise<number>;
  exorunTryAcquireFree(...args: [...Keys, ...(string | number)[]]): Promise<number>;
}

/**
 * A counting semaphore per (tenant, service) in Redis: never more than `limit` leases at once across
 * every worker process, granted first come, first served. Holders keep their lease alive with a
 * heartbeat; a lease that cannot be refreshed is treated as lost and its run stops sending. When
 * the service throttles, the key cools down for every worker at once.
 */
export function createRedisTenantLimiter(options: RedisLimiterOptions): RedisTenantLimiter {
  const leaseTtlMs = options.leaseTtlMs ?? 30_000;
  const waiterTtlMs = options.waiterTtlMs ?? 300_000;
  const redis = options.redis;
  defineCommands(redis);
  const commands = redis as unknown as LeaseCommands;
  const indexKey = `${options.prefix}:lease:keys`;
  const indexed = new Set<string>();

  const keysOf = (key: LeaseKey): Keys => {
    // The hash tag keeps the keys of one semaphore in one Redis Cluster slot.
    const base = `${options.prefix}:lease:{${key.tenant.toLowerCase()}|${key.service}}`;
    return [`${base}:holders`, `${base}:waiters`, `${base}:waiter-expiry`, `${base}:cooldown`];
  };

  function createLease(key: LeaseKey, request: AcquireRequest): Lease {
    const keys = keysOf(key);
    const controller = new AbortController();
    let released = false;
    let releasedWhileHeld = false;
    // The last moment we can be sure we still hold the lease without asking Redis.
    let locallyValidUntil = Date.now() + leaseTtlMs;

    const lose = (reason: string): void => {
      if (controller.signal.aborted) return;
      options.logger?.warn({ tenant: key.tenant, service: key.service, holderId: request.holderId, reason }, 'lease lost');
      options.onLeaseLost?.(key);
      controller.abort(
        new AppError('LIMIT_LEASE_LOST', `Lost the ${key.service} slot for ${key.tenant} (${reason}); this run stopped sending and will be retried.`),
      );
    };

    const refresh = async (): Promise<number> => {
      const startedAt = Date.now();
      const [kept, coolingMs] = await commands.exorunRefresh(...keys, request.holderId, leaseTtlMs);
      if (kept === 1) locallyValidUntil = startedAt + leaseTtlMs;
      else lose('the lease expired in Redis');
      return coolingMs;
    };

    const throwIfLost = (): void => {
      if (!controller.signal.aborted) return;
      const reason: unknown = controller.signal.reason;
      throw reason instanceof Error ? reason : new AppError('LIMIT_LEASE_LOST', 'The lease was lost.');
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
        throwIfLost();
        // After a pause longer than the TTL (a stopped process), nothing is sent before Redis says so.
        if (Date.now() > locallyValidUntil) lose('the heartbeat has not confirmed the lease in time');
        const coolingMs = controller.signal.aborted ? 0 : await refresh();
        throwIfLost();
        return { coolingMs };
      },
      async release() {
        if (released) return releasedWhileHeld;
        released = true;
        clearInterval(heartbeat);
        const [held, ...next] = await commands.exorunRelease(...keys, request.holderId, request.limit);
        releasedWhileHeld = held === 1 && !controller.signal.aborted;
        if (next.length > 0 && options.wakeWaiters) {
          // Not awaited: the next run in line should start as soon as possible, and this run's own
          // work (the commit) does not depend on it.
          options.wakeWaiters(key, next).catch((error: unknown) => {
            options.logger?.warn({ err: error, tenant: key.tenant, service: key.service }, 'could not wake waiting runs');
          });
        }
        return releasedWhileHeld;
      },
    };
  }

  return {
    async acquire(key, request): Promise<AcquireResult> {
      const member = `${key.tenant.toLowerCase()}|${key.service}`;
      // The index of keys (for `exorun status`) is written once per key and process, not per ask.
      if (!indexed.has(member)) {
        indexed.add(member);
        redis.sadd(indexKey, member).catch(() => indexed.delete(member));
      }
      const [granted, retryAfterMs, position] = await commands.exorunAcquire(
        ...keysOf(key),
        request.holderId,
        request.waiterId,
        request.limit,
        leaseTtlMs,
        waiterTtlMs,
        request.queuedAtMs ?? '',
      );
      if (granted === 1) return { granted: true, lease: createLease(key, request) };
      return { granted: false, retryAfterMs, position };
    },
    async tryAcquireFree(key, request) {
      const [granted] = await Promise.all([
        commands.exorunTryAcquireFree(...keysOf(key), request.holderId, request.limit, leaseTtlMs, waiterTtlMs),
        redis.sadd(indexKey, `${key.tenant.toLowerCase()}|${key.service}`),
      ]);
      return granted === 1 ? createLease(key, { holderId: request.holderId, waiterId: request.holderId, limit: request.limit }) : undefined;
    },
    async forgetWaiter(key, waiterId) {
      await commands.exorunForgetWaiter(...keysOf(key), waiterId);
    },
    async wouldGrant(key, waiterId, limit) {
      return (await commands.exorunWouldGrant(...keysOf(key), waiterId, limit)) === 1;
    },
    async coolDown(key, ms) {
      await commands.exorunCoolDown(...keysOf(key), Math.max(1, Math.ceil(ms)));
    },
    async inspect(key) {
      const [holdersKey, waitersKey, , cooldownKey] = keysOf(key);
      const [holders, waiters, cooling, time] = await Promise.all([
        redis.zrange(holdersKey, '0', '-1', 'WITHSCORES'),
        redis.zrange(waitersKey, '0', '-1'),
        redis.pttl(cooldownKey),
        redis.time(),
      ]);
      const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      const list: { id: string; remainingMs: number }[] = [];
      for (let index = 0; index + 1 < holders.length; index += 2) {
        const remainingMs = Number(holders[index + 1]) - now;
        if (remainingMs > 0) list.push({ id: holders[index] as string, remainingMs });
      }
      return { key, holders: list, waiters, coolingMs: Math.max(0, cooling) };
    },
    async keys() {
      const members = await redis.smembers(indexKey);
      return members
        .map((member) => {
          const at = member.lastIndexOf('|');
          return { tenant: member.slice(0, at), service: member.slice(at + 1) === 'ipps' ? ('ipps' as const) : ('exo' as const) };
        })
        .sort((a, b) => a.tenant.localeCompare(b.tenant) || a.service.localeCompare(b.service));
    },
  };
}

function defineCommands(redis: Redis): void {
  const scripts: Record<string, string> = {
    exorunAcquire: ACQUIRE,
    exorunRefresh: REFRESH,
    exorunRelease: RELEASE,
    exorunWouldGrant: WOULD_GRANT,
    exorunForgetWaiter: FORGET_WAITER,
    exorunCoolDown: COOL_DOWN,
    exorunTryAcquireFree: TRY_ACQUIRE_FREE,
  };
  // One connection may serve several limiters: define each command once.
  for (const [name, lua] of Object.entries(scripts)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 4, lua });
  }
}
