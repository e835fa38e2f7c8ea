import { AppError, isAppError } from '../core/index.js';
import type { Lease, LeaseKey, RunSlots, ServiceName, SlotHold, TenantLimiter } from '../core/index.js';
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
