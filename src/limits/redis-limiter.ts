import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, isAppError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { AcquireRequest, AcquireResult, LeaseKey, TenantLimiter, WaitForSlotOptions } from '../core/index.js';
import { createRedisTimeMapping, monotonicClock, type MonotonicClock } from './clock.js';
import { createCoolDownBoard } from './cool-downs.js';
import { createLease, type ManagedLease } from './lease.js';
import { ACQUIRE, COOL_DOWN, FORGET_WAITER, REFRESH, RELEASE, STOP_WAITING, TRY_ACQUIRE_FREE, WOULD_GRANT } from './lease-scripts.js';

export interface RedisLimiterOptions {
  /**
   * A connection to the Redis the queues use. `inspect` and `keys` read through it; for everything
   * else the limiter opens two connections of its own from it on first use — one for commands,
   * which waits out a Redis restart instead of failing after a few retries, and one for the news
   * every process publishes (cool-downs, hand-offs) — and closes them in `close()`.
   */
  redis: Redis;
  /** Key prefix shared with the queues, e.g. `exorun`; also names the news channel. */
  prefix: string;
  /** Lease lifetime without a heartbeat; a killed holder frees its slot after this. Default 30 s. */
  leaseTtlMs?: number;
  /** A waiter that has not asked again for this long loses its place in line. Default 5 min. */
  waiterTtlMs?: number;
  /**
   * How long a limiter command waits for an unreachable Redis before it fails as
   * REDIS_UNAVAILABLE. Default: the lease TTL (a held lease is usable that long without Redis).
   */
  redisWaitMs?: number;
  logger?: Logger;
  /**
   * Called with waiters that wait in no process and should come now: a slot was handed to them, or
   * they just moved into the first `limit` places of the line (so they are waiting in process by
   * the time a slot frees). The worker promotes their delayed runs. Called by the one process whose
   * command caused it.
   */
  wakeWaiters?: (key: LeaseKey, waiterIds: string[]) => Promise<void>;
  /** Called when a held lease turns out to be lost (for metrics). */
  onLeaseLost?: (key: LeaseKey) => void;
  /** Names this limiter's two connections in CLIENT LIST (`<name>` and `<name>:news`). Default `exorun:limiter`. */
  connectionName?: string;
  /** Monotonic clock for lease validity and cool-downs (tests). */
  clock?: MonotonicClock;
}

/** What `exorun status` and the metrics show for one (tenant, service). */
export interface KeyState {
  key: LeaseKey;
  /** Leases held, and slots handed to a waiter whose run has not come for it yet (`handedTo`). */
  holders: { id: string; remainingMs: number; handedTo?: string }[];
  waiters: string[];
  coolingMs: number;
}

/** Counters of this limiter instance (benchmarks, tests). */
export interface LimiterStats {
  /** Scripts sent to Redis. */
  redisCalls: number;
  /** Leases that reached a waiter in this process with a hand-off notice, without a further call. */
  noticeGrants: number;
}

export interface RedisTenantLimiter extends TenantLimiter {
  /**
   * For a run that asked, was refused and has parked itself in the queue: true when a slot is
   * waiting for it now (handed to it meanwhile). Takes nothing for it.
   */
  wouldGrant(key: LeaseKey, waiterId: string, limit: number): Promise<boolean>;
  /** Holders, waiters and cool-down of a key. */
  inspect(key: LeaseKey): Promise<KeyState>;
  /** Every key that has had a lease or a waiter recently, for `exorun status` and metrics. */
  keys(): Promise<LeaseKey[]>;
  stats(): LimiterStats;
}

type ScriptName = keyof typeof SCRIPTS;

const SCRIPTS = {
  exorunLeaseAcquire: ACQUIRE,
  exorunLeaseStopWaiting: STOP_WAITING,
  exorunLeaseTryAcquireFree: TRY_ACQUIRE_FREE,
  exorunLeaseRefresh: REFRESH,
  exorunLeaseRelease: RELEASE,
  exorunLeaseCoolDown: COOL_DOWN,
  exorunLeaseForgetWaiter: FORGET_WAITER,
  exorunLeaseWouldGrant: WOULD_GRANT,
} as const;

/** The prefix of a holders-set member that is a slot handed to a waiter (see lease-scripts.ts). */
const HANDOFF_PREFIX = 'handoff|';

/** Redis answers that mean "not now" rather than "wrong": the server is starting, failing over, full. */
const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|OOM|NOREPLICAS|MISCONF)\b/;

/** An attempt waiting in this process for a slot. */
interface PendingWait {
  readonly holderId: string;
  /** Redis time until which the slot a grant notice brought is held; undefined until one came. */
  grantedUntilRedisMs: number | undefined;
  /** Wakes the waiting loop to look again (a grant notice, a reconnect). */
  poke(): void;
  /** Ends the wait with an error (the limiter is closing). */
  fail(error: Error): void;
  /** Resolves after `ms`, or at once when poked; rejects when aborted or failed. */
  next(ms: number, signal: AbortSignal | undefined): Promise<void>;
}

/**
 * A counting semaphore per (tenant, service) in Redis: never more than `limit` leases at once across
 * every worker process, granted first come, first served. A freed slot is handed to the next waiter
 * inside the script that frees it; a waiter waiting in some process learns it from a notice on the
 * news channel and holds the lease at once. Holders keep their lease alive with a heartbeat; each
 * lease is also the request gate of its key (see lease.ts). When the service throttles, the key
 * cools down in this process at once and in every other as soon as the news arrives.
 */
export function createRedisTenantLimiter(options: RedisLimiterOptions): RedisTenantLimiter {
  const leaseTtlMs = options.leaseTtlMs ?? 30_000;
  const waiterTtlMs = options.waiterTtlMs ?? 300_000;
  const redisWaitMs = options.redisWaitMs ?? leaseTtlMs;
  const keepMs = 2 * Math.max(leaseTtlMs, waiterTtlMs);
  const clock = options.clock ?? monotonicClock;
  const logger = options.logger;
  const board = createCoolDownBoard(clock);
  const redisTime = createRedisTimeMapping();
  const instanceId = randomUUID();
  const connectionName = options.connectionName ?? 'exorun:limiter';
  const newsChannel = `${options.prefix}:lease:news`;
  const indexKey = `${options.prefix}:lease:keys`;
  const indexed = new Set<string>();
  const leases = new Set<ManagedLease>();
  const pending = new Map<string, Map<string, PendingWait>>();
  /** Keys this process holds leases of or waits for, with how many: their cool-downs are read back on reconnect. */
  const interest = new Map<string, { key: LeaseKey; count: number }>();
  const stats: LimiterStats = { redisCalls: 0, noticeGrants: 0 };
  let commandConnection: Redis | undefined;
  let subscriber: Redis | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;

  const memberOf = (key: LeaseKey): string => `${key.tenant.toLowerCase()}|${key.service}`;

  const keysOf = (key: LeaseKey): string[] => {
    // The hash tag keeps the keys of one semaphore in one Redis Cluster slot.
    const base = `${options.prefix}:lease:{${memberOf(key)}}`;
    return [`${base}:holders`, `${base}:waiters`, `${base}:waiter-expiry`, `${base}:cooldown`, `${base}:line`, `${base}:released`, `${base}:generations`];
  };

  function commands(): Redis {
    if (!commandConnection) {
      commandConnection = options.redis.duplicate({
        connectionName,
        // Commands wait in the offline queue while Redis is away (a restart); `call` bounds the wait.
        maxRetriesPerRequest: null,
        enableOfflineQueue: true,
      });
      commandConnection.on('error', (error: Error) => logger?.debug({ err: error }, 'limiter connection error'));
      for (const [name, lua] of Object.entries(SCRIPTS)) commandConnection.defineCommand(name, { numberOfKeys: 7, lua });
    }
    return commandConnection;
  }

  function assertOpen(): void {
    if (closed) throw new AppError('RUN_ABORTED', 'The slot limiter is closing; the run will be picked up again.');
  }

  /** A holder id must never read as a slot handed to a waiter (the scripts tell them apart by prefix). */
  function assertHolderId(holderId: string): void {
    if (holderId.startsWith(HANDOFF_PREFIX)) throw new AppError('INTERNAL', `A holder id may not start with '${HANDOFF_PREFIX}': ${holderId}`);
  }

  /** Runs a script, waiting at most `waitMs` for Redis; every failure becomes an AppError. */
  async function call(script: ScriptName, key: LeaseKey, limit: number | undefined, extra: (string | number)[], waitMs = redisWaitMs): Promise<unknown[]> {
    const connection = commands();
    const invoke = (connection as unknown as Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>)[script];
    stats.redisCalls += 1;
    const answer = invoke.call(connection, ...keysOf(key), newsChannel, memberOf(key), limit ?? '', leaseTtlMs, keepMs, instanceId, ...extra);
    const reply = await bounded(answer, waitMs, `${script} for ${memberOf(key)}`);
    return Array.isArray(reply) ? (reply as unknown[]) : [reply];
  }

  function wake(key: LeaseKey, ids: unknown[]): void {
    const waiterIds = ids.filter((id): id is string => typeof id === 'string');
    if (waiterIds.length === 0 || !options.wakeWaiters) return;
    // Not awaited: whoever's command freed the slot must not wait for the promotion of other runs.
    options.wakeWaiters(key, waiterIds).catch((error: unknown) => {
      logger?.warn({ err: error, tenant: key.tenant, service: key.service }, 'could not wake waiting runs');
    });
  }

  function addInterest(key: LeaseKey): void {
    const member = memberOf(key);
    const entry = interest.get(member);
    if (entry) entry.count += 1;
    else interest.set(member, { key, count: 1 });
  }

  function dropInterest(key: LeaseKey): void {
    const member = memberOf(key);
    const entry = interest.get(member);
    if (entry && --entry.count <= 0) interest.delete(member);
  }

  function index(key: LeaseKey): void {
    const member = memberOf(key);
    // The index of keys (for `exorun status`) is written once per key and process, not per ask.
    if (indexed.has(member)) return;
    indexed.add(member);
    commands()
      .sadd(indexKey, member)
      .catch(() => indexed.delete(member));
  }

  function ensureSubscribed(): void {
    if (subscriber || closed) return;
    const connection = options.redis.duplicate({ connectionName: `${connectionName}:news`, maxRetriesPerRequest: null, enableOfflineQueue: true });
    subscriber = connection;
    connection.on('error', (error: Error) => logger?.debug({ err: error }, 'limiter news connection error'));
    connection.on('message', (channel: string, message: string) => {
      if (channel === newsChannel) onNews(message);
    });
    // Every (re)connect: make sure the subscription stands, then read back what may have been
    // announced while it did not.
    connection.on('ready', () => void catchUp(connection));
  }

  async function catchUp(connection: Redis): Promise<void> {
    try {
      await connection.subscribe(newsChannel);
      const watched = [...interest.values()];
      const remaining = await Promise.all(watched.map((entry) => bounded(commands().pttl(keysOf(entry.key)[3] as string), redisWaitMs, 'reading cool-downs')));
      watched.forEach((entry, at) => board.extend(memberOf(entry.key), remaining[at] ?? 0));
      // A hand-off notice may have been missed: every waiter asks again (a slot already handed to
      // it is found held).
      for (const waits of pending.values()) for (const wait of waits.values()) wait.poke();
    } catch (error) {
      logger?.debug({ err: error }, 'could not catch up after the news connection came back');
    }
  }

  function onNews(message: string): void {
    let news: unknown;
    try {
      news = JSON.parse(message);
    } catch {
      return;
    }
    if (typeof news !== 'object' || news === null) return;
    const { t: type, k: member, ms, o: origin, e: expiry, g: grants } = news as Record<string, unknown>;
    if (typeof member !== 'string') return;
    if (type === 'cool' && typeof ms === 'number') {
      // The remaining wait, not a wall-clock deadline: machines' clocks do not matter, and the
      // deadline here ends the transit time later than the sender's, never earlier.
      if (origin !== instanceId) {
        board.extend(member, ms);
        logger?.debug({ key: member, waitMs: ms }, 'cool-down news');
      }
      return;
    }
    if (type === 'grant' && typeof expiry === 'number' && Array.isArray(grants)) {
      const waits = pending.get(member);
      if (!waits) return;
      for (const grant of grants) {
        if (!Array.isArray(grant) || typeof grant[1] !== 'string') continue;
        const wait = waits.get(grant[1]);
        if (!wait) continue;
        wait.grantedUntilRedisMs = expiry;
        wait.poke();
      }
    }
  }

  /** `waiterId`: the run's, so the heartbeat keeps its generation fence; undefined for an extra slot. */
  function manage(key: LeaseKey, holderId: string, waiterId: string | undefined, limit: number, validUntilMs: number): ManagedLease {
    const member = memberOf(key);
    const lease = createLease({
      key,
      member,
      holderId,
      leaseTtlMs,
      validUntilMs,
      redisWaitMs,
      clock,
      board,
      logger,
      backend: {
        async refresh(id, waitMs) {
          const sentAtMs = clock.now();
          const [kept, coolingMs, redisNowMs, ...waiters] = await call('exorunLeaseRefresh', key, limit, [id, waiterId ?? ''], waitMs);
          redisTime.observe(sentAtMs, Number(redisNowMs));
          wake(key, waiters);
          return { kept: kept === 1, coolingMs: Number(coolingMs) };
        },
        async release(id, waitMs) {
          const sentAtMs = clock.now();
          const [held, redisNowMs, ...waiters] = await call('exorunLeaseRelease', key, limit, [id], waitMs);
          redisTime.observe(sentAtMs, Number(redisNowMs));
          wake(key, waiters);
          return held === 1;
        },
        throttled: (waitMs) => limiter.throttled(key, waitMs),
      },
      onLost: () => options.onLeaseLost?.(key),
      onEnd: () => {
        leases.delete(lease);
        dropInterest(key);
      },
    });
    leases.add(lease);
    addInterest(key);
    ensureSubscribed();
    return lease;
  }

  /** One ask: ACQUIRE, for `acquire` (`inProcess` false) or for each round of `waitForSlot`. */
  async function ask(key: LeaseKey, request: AcquireRequest, inProcess: boolean): Promise<AcquireResult> {
    assertOpen();
    assertHolderId(request.holderId);
    index(key);
    const sentAtMs = clock.now();
    const [status, retryAfterMs, position, coolingMs, redisNowMs, ...waiters] = await call('exorunLeaseAcquire', key, request.limit, [
      request.holderId,
      request.waiterId,
      waiterTtlMs,
      request.queuedAtMs ?? '',
      request.generation ?? '',
      inProcess ? 1 : 0,
    ]);
    redisTime.observe(sentAtMs, Number(redisNowMs));
    board.extend(memberOf(key), Number(coolingMs));
    wake(key, waiters);
    if (status === -1) {
      throw new AppError(
        'LIMIT_LEASE_LOST',
        `A later attempt of run ${request.waiterId} has asked for the ${key.service} slot of ${key.tenant}; this attempt stops.`,
        { details: { tenant: key.tenant, service: key.service, holderId: request.holderId } },
      );
    }
    if (status === 1) return { granted: true, lease: manage(key, request.holderId, request.waiterId, request.limit, sentAtMs + leaseTtlMs) };
    return { granted: false, retryAfterMs: Number(retryAfterMs), position: Number(position) };
  }

  /** The lease a grant notice brought, unless it is already too old to trust (then undefined: ask again). */
  function leaseFromNotice(key: LeaseKey, request: AcquireRequest, wait: PendingWait): ManagedLease | undefined {
    if (wait.grantedUntilRedisMs === undefined) return undefined;
    const validUntilMs = redisTime.toLocal(wait.grantedUntilRedisMs);
    wait.grantedUntilRedisMs = undefined;
    if (validUntilMs === undefined || validUntilMs <= clock.now()) return undefined;
    stats.noticeGrants += 1;
    return manage(key, request.holderId, request.waiterId, request.limit, validUntilMs);
  }

  /** The attempt stops waiting in process; a slot that reached it meanwhile is kept, or handed on (`giveBack`). */
  async function stopWaiting(key: LeaseKey, request: AcquireRequest, giveBack: boolean): Promise<ManagedLease | undefined> {
    const sentAtMs = clock.now();
    const [held, redisNowMs, ...waiters] = await call('exorunLeaseStopWaiting', key, request.limit, [request.waiterId, request.holderId, giveBack ? 1 : 0]);
    redisTime.observe(sentAtMs, Number(redisNowMs));
    wake(key, waiters);
    return held === 1 ? manage(key, request.holderId, request.waiterId, request.limit, sentAtMs + leaseTtlMs) : undefined;
  }

  const limiter: RedisTenantLimiter = {
    acquire(key, request) {
      return ask(key, request, false);
    },

    async waitForSlot(key, request, waitOptions: WaitForSlotOptions) {
      assertOpen();
      const member = memberOf(key);
      const deadlineMs = clock.now() + waitOptions.timeoutMs;
      const signal = waitOptions.signal;
      const wait = createPendingWait(request.holderId);
      let waits = pending.get(member);
      if (!waits) {
        waits = new Map();
        pending.set(member, waits);
      }
      waits.set(request.holderId, wait);
      addInterest(key);
      ensureSubscribed();
      try {
        for (;;) {
          throwIfAborted(signal);
          const fromNotice = leaseFromNotice(key, request, wait);
          if (fromNotice) return fromNotice;
          const asked = await ask(key, request, true);
          if (asked.granted) return asked.lease;
          const leftMs = deadlineMs - clock.now();
          if (leftMs <= 0) break;
          // Asks again when a slot may have freed without a notice (a holder's expiry, the end of
          // a cool-down) or a notice may have been missed; a notice or a reconnect wakes it sooner.
          await wait.next(Math.min(asked.retryAfterMs, leftMs), signal);
          if (clock.now() >= deadlineMs && wait.grantedUntilRedisMs === undefined) break;
        }
        return await stopWaiting(key, request, false);
      } catch (error) {
        // Slots stop going to this attempt; one that reached it meanwhile moves on to the next.
        if (!closed) {
          stopWaiting(key, request, true).catch((stopError: unknown) => logger?.debug({ err: stopError }, 'could not withdraw a waiter'));
        }
        throw error;
      } finally {
        if (waits.get(request.holderId) === wait) waits.delete(request.holderId);
        if (waits.size === 0 && pending.get(member) === waits) pending.delete(member);
        dropInterest(key);
      }
    },

    async tryAcquireFree(key, request) {
      assertOpen();
      assertHolderId(request.holderId);
      index(key);
      const sentAtMs = clock.now();
      const [granted, redisNowMs, ...waiters] = await call('exorunLeaseTryAcquireFree', key, request.limit, [request.holderId]);
      redisTime.observe(sentAtMs, Number(redisNowMs));
      wake(key, waiters);
      return granted === 1 ? manage(key, request.holderId, undefined, request.limit, sentAtMs + leaseTtlMs) : undefined;
    },

    async forgetWaiter(key, waiterId) {
      assertOpen();
      const [, ...waiters] = await call('exorunLeaseForgetWaiter', key, undefined, [waiterId]);
      wake(key, waiters);
    },

    throttled(key, waitMs) {
      const member = memberOf(key);
      // This process first, synchronously: no request of ours leaves after this returns.
      board.extend(member, waitMs);
      if (closed) return;
      ensureSubscribed();
      call('exorunLeaseCoolDown', key, undefined, [Math.max(1, Math.ceil(waitMs))]).catch((error: unknown) => {
        logger?.warn({ err: error, tenant: key.tenant, service: key.service }, 'could not record the cool-down in Redis');
      });
    },

    async wouldGrant(key, waiterId, limit) {
      assertOpen();
      const [ready, , ...waiters] = await call('exorunLeaseWouldGrant', key, limit, [waiterId]);
      wake(key, waiters);
      return ready === 1;
    },

    async inspect(key) {
      const [holdersKey, waitersKey, , cooldownKey] = keysOf(key) as [string, string, string, string];
      const [holders, waiters, cooling, time] = await Promise.all([
        options.redis.zrange(holdersKey, '0', '-1', 'WITHSCORES'),
        options.redis.zrange(waitersKey, '0', '-1'),
        options.redis.pttl(cooldownKey),
        options.redis.time(),
      ]);
      const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      const list: KeyState['holders'] = [];
      for (let at = 0; at + 1 < holders.length; at += 2) {
        const id = holders[at] as string;
        const remainingMs = Number(holders[at + 1]) - now;
        if (remainingMs <= 0) continue;
        list.push(id.startsWith(HANDOFF_PREFIX) ? { id, remainingMs, handedTo: id.slice(HANDOFF_PREFIX.length) } : { id, remainingMs });
      }
      return { key, holders: list, waiters, coolingMs: Math.max(0, cooling) };
    },

    async keys() {
      const members = await options.redis.smembers(indexKey);
      return members
        .map((member) => {
          const at = member.lastIndexOf('|');
          return { tenant: member.slice(0, at), service: member.slice(at + 1) === 'ipps' ? ('ipps' as const) : ('exo' as const) };
        })
        .sort((a, b) => a.tenant.localeCompare(b.tenant) || a.service.localeCompare(b.service));
    },

    stats() {
      return { ...stats };
    },

    close() {
      closing ??= (async () => {
        closed = true;
        const stopped = new AppError('RUN_ABORTED', 'The slot limiter is closing; the run will be picked up again.');
        for (const waits of pending.values()) for (const wait of waits.values()) wait.fail(stopped);
        // Leases still held end with their TTL; runs give theirs back before the worker closes this.
        for (const lease of [...leases]) lease.stop();
        await Promise.all([subscriber, commandConnection].map((connection) => (connection ? quit(connection, redisWaitMs) : Promise.resolve())));
      })();
      return closing;
    },
  };
  return limiter;
}

function createPendingWait(holderId: string): PendingWait {
  let poked = false;
  let failure: Error | undefined;
  let wakeUp: (() => void) | undefined;
  let failNow: ((error: Error) => void) | undefined;
  return {
    holderId,
    grantedUntilRedisMs: undefined,
    poke() {
      poked = true;
      wakeUp?.();
    },
    fail(error) {
      failure = error;
      failNow?.(error);
    },
    next(ms, signal) {
      return new Promise((resolve, reject) => {
        if (failure) {
          reject(failure);
          return;
        }
        if (signal?.aborted) {
          reject(abortReason(signal));
          return;
        }
        if (poked) {
          poked = false;
          resolve();
          return;
        }
        const finish = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          wakeUp = undefined;
          failNow = undefined;
        };
        const timer = setTimeout(() => {
          finish();
          resolve();
        }, ms);
        const onAbort = (): void => {
          finish();
          reject(abortReason(signal));
        };
        wakeUp = () => {
          poked = false;
          finish();
          resolve();
        };
        failNow = (error) => {
          finish();
          reject(error);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}

/** Waits for `promise` at most `waitMs`; any failure becomes an AppError naming what was asked. */
function bounded<T>(promise: Promise<T>, waitMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new AppError('REDIS_UNAVAILABLE', `Redis did not answer within ${Math.ceil(waitMs / 1000)} s (${what}); the run will be picked up again.`)),
      Math.max(1, waitMs),
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(toLimiterError(error, what));
      },
    );
  });
}

function toLimiterError(error: unknown, what: string): AppError {
  if (isAppError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  // A script that Redis rejected for what it says (not for being unavailable) is a bug of ours.
  if (error instanceof Error && error.name === 'ReplyError' && !UNAVAILABLE_REPLIES.test(message)) {
    return new AppError('INTERNAL', `Redis rejected the slot limiter's ${what}: ${message}`, { cause: error });
  }
  return new AppError('REDIS_UNAVAILABLE', `Redis could not serve the slot limiter (${what}): ${message}`, { cause: error });
}

/** A connection that is up says goodbye after what it has queued; one that is away is dropped at once. */
async function quit(connection: Redis, waitMs: number): Promise<void> {
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  try {
    await bounded(connection.quit(), waitMs, 'closing');
  } catch {
    connection.disconnect();
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new AppError('RUN_ABORTED', 'Waiting for a slot was aborted.');
}
