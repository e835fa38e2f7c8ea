import { AppError, isAppError } from '../core/errors.js';
import type { Lease, LeaseKey, ServiceName, TenantLimiter } from '../core/ports.js';
import { monotonicClock, type MonotonicClock } from './clock.js';

export interface RunSlotsOptions {
  limiter: TenantLimiter;
  /** The tenant's organization: the tenant part of every key. */
  tenant: string;
  /** The tenant's slots per service. */
  limits: Readonly<Record<ServiceName, number>>;
  /** Stable for the run (its queue job id): its place in every line. */
  waiterId: string;
  /** Unique per attempt; every slot's holder id starts with it, so no two attempts share one. */
  holderBase: string;
  /** When the run was queued (ms): its place in line. */
  queuedAtMs?: number;
  /** The attempt's pickup number (see AcquireRequest.generation). */
  generation?: number;
  /** A forEach step asks for one more slot at most this often. Default 250 ms. */
  extraAskIntervalMs?: number;
  clock?: MonotonicClock;
}

export interface HoldOptions {
  signal?: AbortSignal;
  /**
   * Longest wait in this process for a slot of the service (0: ask once). The run holds no slot
   * while it waits. `Infinity` waits until the signal aborts.
   */
  maxWaitMs: number;
  /**
   * When the run is further back in line than the key's limit — its slot is not due within one
   * slot hold — return at once instead of waiting in process, so the run can wait in the queue and
   * free its worker. A run near the front waits in process and gets the slot the moment it frees.
   */
  queueIfBehind?: boolean;
}

export type SlotHold =
  | { held: true; lease: Lease }
  | {
      held: false;
      /** When it is worth asking again, in ms from now. */
      retryAfterMs: number;
      /** 0-based place in line. */
      position: number;
    };

/**
 * The slots one attempt of a run holds: its current slot, which serves its sequential requests and
 * is the request gate the exchange client asks, plus short-lived extra slots of the same key for
 * forEach lanes. The run logic sees only this.
 */
export interface RunSlots {
  /** The current slot; undefined before the first `holdFor` and after it was given back. */
  readonly current: Lease | undefined;
  /**
   * Makes the current slot one of `service`: kept when it already is; otherwise every slot held is
   * given back first (a run never waits while holding a slot), then one of `service` is asked for
   * and, as the options allow, waited for. Rejects with LIMIT_LEASE_LOST when a slot given back
   * turns out to have been lost (what was sent on it is not trusted), or when the current one is
   * lost; REDIS_UNAVAILABLE; the signal's reason.
   */
  holdFor(service: ServiceName, options: HoldOptions): Promise<SlotHold>;
  /**
   * One more slot of the current key for a forEach lane, only when free for nobody else; asked at
   * most every `extraAskIntervalMs` and never beyond the key's limit. Undefined when not granted.
   */
  tryExtra(): Promise<Lease | undefined>;
  /** Gives one slot back; true when it was still held (the fencing check before a commit). */
  release(lease: Lease): Promise<boolean>;
  /** Gives every slot back; true when all were still held. */
  releaseAll(): Promise<boolean>;
}

const DEFAULT_EXTRA_ASK_INTERVAL_MS = 250;

export function createRunSlots(options: RunSlotsOptions): RunSlots {
  const { limiter, tenant, limits, waiterId, holderBase } = options;
  const clock = options.clock ?? monotonicClock;
  const extraAskIntervalMs = options.extraAskIntervalMs ?? DEFAULT_EXTRA_ASK_INTERVAL_MS;
  const held = new Set<Lease>();
  let current: Lease | undefined;
  let slotCount = 0;
  let extrasAsking = 0;
  let lastExtraAskMs = Number.NEGATIVE_INFINITY;

  const requestFor = (service: ServiceName, holderId: string) => ({
    holderId,
    waiterId,
    limit: limits[service],
    ...(options.queuedAtMs === undefined ? {} : { queuedAtMs: options.queuedAtMs }),
    ...(options.generation === undefined ? {} : { generation: options.generation }),
  });

  const take = (lease: Lease): SlotHold => {
    held.add(lease);
    current = lease;
    return { held: true, lease };
  };

  const release = async (lease: Lease): Promise<boolean> => {
    held.delete(lease);
    if (current === lease) current = undefined;
    return lease.release();
  };

  const releaseAll = async (): Promise<boolean> => {
    const results = await Promise.all([...held].map((lease) => release(lease)));
    return results.every(Boolean);
  };

  return {
    get current() {
      return current;
    },

    async holdFor(service, hold) {
      if (current && current.key.service === service) {
        if (current.signal.aborted) throw lostError(current);
        return { held: true, lease: current };
      }
      const previous = current;
      if (!(await releaseAll()) && previous) throw lostError(previous, 'before it was given back');
      const key: LeaseKey = { tenant, service };
      slotCount += 1;
      const request = requestFor(service, `${holderBase}:${service}:${slotCount}`);
      const asked = await limiter.acquire(key, request);
      if (asked.granted) return take(asked.lease);
      const behind = asked.position >= request.limit;
      if (!(hold.maxWaitMs > 0) || (hold.queueIfBehind === true && behind)) {
        return { held: false, retryAfterMs: asked.retryAfterMs, position: asked.position };
      }
      const lease = await limiter.waitForSlot(key, request, { timeoutMs: hold.maxWaitMs, ...(hold.signal ? { signal: hold.signal } : {}) });
      if (lease) return take(lease);
      return { held: false, retryAfterMs: asked.retryAfterMs, position: asked.position };
    },

    async tryExtra() {
      if (!current || current.signal.aborted) return undefined;
      const key = current.key;
      const limit = limits[key.service];
      const now = clock.now();
      if (held.size + extrasAsking >= limit || now - lastExtraAskMs < extraAskIntervalMs) return undefined;
      lastExtraAskMs = now;
      slotCount += 1;
      extrasAsking += 1;
      try {
        const lease = await limiter.tryAcquireFree(key, { holderId: `${holderBase}:${key.service}:x${slotCount}`, limit });
        if (lease) held.add(lease);
        return lease;
      } finally {
        extrasAsking -= 1;
      }
    },

    release,
    releaseAll,
  };
}

function lostError(lease: Lease, when = ''): AppError {
  const reason: unknown = lease.signal.reason;
  if (isAppError(reason) && reason.code === 'LIMIT_LEASE_LOST') return reason;
  return new AppError('LIMIT_LEASE_LOST', `Lost the ${lease.key.service} slot for ${lease.key.tenant}${when ? ` ${when}` : ''}; the run will be retried.`, {
    details: { tenant: lease.key.tenant, service: lease.key.service, holderId: lease.holderId },
  });
}
