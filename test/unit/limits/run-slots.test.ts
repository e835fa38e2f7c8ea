import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../src/core/errors.js';
import type { AcquireRequest, AcquireResult, Lease, LeaseKey, RunSlots, TenantLimiter, WaitForSlotOptions } from '../../../src/core/ports.js';
import { createRunSlots } from '../../../src/limits/run-slots.js';

const tenant = 'contoso.onmicrosoft.com';

interface FakeLease extends Lease {
  released: boolean;
  /** What release() answers: still held, or lost meanwhile. */
  stillHeld: boolean;
  lose(): void;
}

function fakeLease(key: LeaseKey, holderId: string, events: string[]): FakeLease {
  const controller = new AbortController();
  const lease: FakeLease = {
    key,
    holderId,
    signal: controller.signal,
    released: false,
    stillHeld: true,
    admit: async () => undefined,
    throttled: () => undefined,
    async release() {
      events.push(`release ${holderId}`);
      lease.released = true;
      return lease.stillHeld && !controller.signal.aborted;
    },
    lose: () => controller.abort(new AppError('LIMIT_LEASE_LOST', `lost ${holderId}`)),
  };
  return lease;
}

/** A limiter whose answers each test scripts; it records what was asked, in order. */
class FakeLimiter implements TenantLimiter {
  events: string[] = [];
  requests: AcquireRequest[] = [];
  acquireAnswers: ('grant' | { retryAfterMs: number; position: number })[] = [];
  waitAnswers: ('grant' | 'timeout')[] = [];
  waitOptions: WaitForSlotOptions[] = [];
  freeAnswers: boolean[] = [];
  leases: FakeLease[] = [];

  async acquire(key: LeaseKey, request: AcquireRequest): Promise<AcquireResult> {
    this.events.push(`acquire ${key.service} ${request.holderId}`);
    this.requests.push(request);
    const answer = this.acquireAnswers.shift() ?? 'grant';
    if (answer === 'grant') return { granted: true, lease: this.lease(key, request.holderId) };
    return { granted: false, ...answer };
  }

  async waitForSlot(key: LeaseKey, request: AcquireRequest, options: WaitForSlotOptions): Promise<Lease | undefined> {
    this.events.push(`wait ${key.service} ${request.holderId}`);
    this.waitOptions.push(options);
    return (this.waitAnswers.shift() ?? 'grant') === 'grant' ? this.lease(key, request.holderId) : undefined;
  }

  async tryAcquireFree(key: LeaseKey, request: { holderId: string; limit: number }): Promise<Lease | undefined> {
    this.events.push(`extra ${key.service} ${request.holderId} limit=${request.limit}`);
    return (this.freeAnswers.shift() ?? true) ? this.lease(key, request.holderId) : undefined;
  }

  async forgetWaiter(): Promise<void> {}
  throttled(): void {}
  async close(): Promise<void> {}

  private lease(key: LeaseKey, holderId: string): FakeLease {
    const lease = fakeLease(key, holderId, this.events);
    this.leases.push(lease);
    return lease;
  }
}

let limiter: FakeLimiter;
let slots: RunSlots;

beforeEach(() => {
  vi.useFakeTimers({ now: 10_000 });
  limiter = new FakeLimiter();
  slots = createRunSlots({
    limiter,
    tenant,
    limits: { exo: 3, ipps: 2 },
    waiterId: 'run-7',
    holderBase: 'run-7:tok1',
    queuedAtMs: 1_234,
    generation: 4,
    extraAskIntervalMs: 250,
    clock: { now: () => Date.now() },
  });
});
afterEach(() => vi.useRealTimers());

describe('run slots: holding a slot for a service', () => {
  it('asks for a slot of the service with the run’s place in line and an attempt-unique holder id', async () => {
    const hold = await slots.holdFor('exo', { maxWaitMs: 0 });
    expect(hold.held).toBe(true);
    expect(slots.current?.key).toEqual({ tenant, service: 'exo' });
    expect(limiter.requests).toEqual([{ holderId: 'run-7:tok1:exo:1', waiterId: 'run-7', limit: 3, queuedAtMs: 1_234, generation: 4 }]);
  });

  it('keeps the current slot when it already is of that service', async () => {
    await slots.holdFor('exo', { maxWaitMs: 0 });
    const first = slots.current;
    const again = await slots.holdFor('exo', { maxWaitMs: 0 });
    expect(again).toEqual({ held: true, lease: first });
    expect(limiter.events).toEqual(['acquire exo run-7:tok1:exo:1']);
  });

  it('refuses to go on with a current slot that was lost', async () => {
    await slots.holdFor('exo', { maxWaitMs: 0 });
    limiter.leases[0]!.lose();
    await expect(slots.holdFor('exo', { maxWaitMs: 0 })).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST', message: 'lost run-7:tok1:exo:1' });
  });

  it('swaps service: gives every slot back first, then asks for one of the other service', async () => {
    await slots.holdFor('exo', { maxWaitMs: 0 });
    await slots.tryExtra();
    await slots.holdFor('ipps', { maxWaitMs: 0 });
    expect(limiter.events).toEqual([
      'acquire exo run-7:tok1:exo:1',
      'extra exo run-7:tok1:exo:x2 limit=3',
      'release run-7:tok1:exo:1',
      'release run-7:tok1:exo:x2',
      'acquire ipps run-7:tok1:ipps:3',
    ]);
    expect(slots.current?.key.service).toBe('ipps');
    expect(limiter.requests.at(-1)?.limit).toBe(2);
  });

  it('never waits while holding a slot: the old one is given back before waiting for the new one', async () => {
    await slots.holdFor('exo', { maxWaitMs: 0 });
    limiter.acquireAnswers.push({ retryAfterMs: 900, position: 0 });
    const hold = await slots.holdFor('ipps', { maxWaitMs: 5_000 });
    expect(hold.held).toBe(true);
    expect(limiter.events).toEqual([
      'acquire exo run-7:tok1:exo:1',
      'release run-7:tok1:exo:1',
      'acquire ipps run-7:tok1:ipps:2',
      'wait ipps run-7:tok1:ipps:2',
    ]);
    expect(limiter.leases[0]!.released).toBe(true);
    expect(limiter.waitOptions).toEqual([{ timeoutMs: 5_000 }]);
  });

  it('fails the swap when the slot given back had been lost, and asks for nothing', async () => {
    await slots.holdFor('exo', { maxWaitMs: 0 });
    limiter.leases[0]!.stillHeld = false;
    await expect(slots.holdFor('ipps', { maxWaitMs: 0 })).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST' });
    expect(limiter.events.filter((event) => event.startsWith('acquire'))).toHaveLength(1);
    expect(slots.current).toBeUndefined();
  });

  it('does not wait when told not to: reports when to ask again and the place in line', async () => {
    limiter.acquireAnswers.push({ retryAfterMs: 700, position: 1 });
    expect(await slots.holdFor('exo', { maxWaitMs: 0 })).toEqual({ held: false, retryAfterMs: 700, position: 1 });
    expect(limiter.events).toEqual(['acquire exo run-7:tok1:exo:1']);
    expect(slots.current).toBeUndefined();
  });

  it('leaves a run far back in line to the queue, and waits in process for one near the front', async () => {
    limiter.acquireAnswers.push({ retryAfterMs: 700, position: 3 });
    expect(await slots.holdFor('exo', { maxWaitMs: 30_000, queueIfBehind: true })).toEqual({ held: false, retryAfterMs: 700, position: 3 });
    limiter.acquireAnswers.push({ retryAfterMs: 700, position: 2 });
    const signal = new AbortController().signal;
    const hold = await slots.holdFor('exo', { maxWaitMs: 30_000, queueIfBehind: true, signal });
    expect(hold.held).toBe(true);
    expect(limiter.waitOptions).toEqual([{ timeoutMs: 30_000, signal }]);
  });

  it('reports not held when the wait in process timed out', async () => {
    limiter.acquireAnswers.push({ retryAfterMs: 400, position: 0 });
    limiter.waitAnswers.push('timeout');
    expect(await slots.holdFor('exo', { maxWaitMs: 2_000 })).toEqual({ held: false, retryAfterMs: 400, position: 0 });
    expect(slots.current).toBeUndefined();
  });

  it('passes a failed wait (aborted, Redis away) on to the run', async () => {
    limiter.acquireAnswers.push({ retryAfterMs: 400, position: 0 });
    limiter.waitForSlot = async () => {
      throw new AppError('REDIS_UNAVAILABLE', 'away');
    };
    await expect(slots.holdFor('exo', { maxWaitMs: 2_000 })).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE' });
  });
});

describe('run slots: forEach extras', () => {
  it('asks for nothing before the run holds a slot, or when its slot is lost', async () => {
    expect(await slots.tryExtra()).toBeUndefined();
    await slots.holdFor('exo', { maxWaitMs: 0 });
    limiter.leases[0]!.lose();
    expect(await slots.tryExtra()).toBeUndefined();
    expect(limiter.events.filter((event) => event.startsWith('extra'))).toEqual([]);
  });

  it('asks at most every interval, never beyond the limit, and counts refusals as asks', async () => {
    await slots.holdFor('exo', { maxWaitMs: 0 });
    limiter.freeAnswers.push(false, true, true);
    expect(await slots.tryExtra()).toBeUndefined();
    // Within the interval: not even asked.
    expect(await slots.tryExtra()).toBeUndefined();
    vi.advanceTimersByTime(250);
    expect(await slots.tryExtra()).toBeDefined();
    vi.advanceTimersByTime(250);
    expect(await slots.tryExtra()).toBeDefined();
    vi.advanceTimersByTime(250);
    // Three held of three: no more asks.
    expect(await slots.tryExtra()).toBeUndefined();
    expect(limiter.events.filter((event) => event.startsWith('extra'))).toEqual([
      'extra exo run-7:tok1:exo:x2 limit=3',
      'extra exo run-7:tok1:exo:x3 limit=3',
      'extra exo run-7:tok1:exo:x4 limit=3',
    ]);
  });

  it('counts an extra being asked for against the limit', async () => {
    await slots.holdFor('ipps', { maxWaitMs: 0 });
    let grant: (lease: Lease | undefined) => void = () => undefined;
    limiter.tryAcquireFree = (key, request) => {
      limiter.events.push(`extra ${request.holderId}`);
      return new Promise((resolve) => (grant = () => resolve(fakeLease(key, request.holderId, limiter.events))));
    };
    const asking = slots.tryExtra();
    vi.advanceTimersByTime(1_000);
    // ipps allows two: one held plus one being asked for.
    expect(await slots.tryExtra()).toBeUndefined();
    grant(undefined);
    expect(await asking).toBeDefined();
    expect(limiter.events.filter((event) => event.startsWith('extra'))).toHaveLength(1);
  });
});

describe('run slots: giving back', () => {
  it('release is the fencing check: true while held, false once lost', async () => {
    await slots.holdFor('exo', { maxWaitMs: 0 });
    const extra = (await slots.tryExtra())!;
    limiter.leases[1]!.lose();
    expect(await slots.release(extra)).toBe(false);
    expect(await slots.release(slots.current!)).toBe(true);
    expect(slots.current).toBeUndefined();
  });

  it('releaseAll gives every slot back and is true only when all were still held', async () => {
    await slots.holdFor('exo', { maxWaitMs: 0 });
    await slots.tryExtra();
    expect(await slots.releaseAll()).toBe(true);
    expect(limiter.leases.every((lease) => lease.released)).toBe(true);
    expect(slots.current).toBeUndefined();
    // Nothing left: nothing to give back, nothing lost.
    expect(await slots.releaseAll()).toBe(true);

    await slots.holdFor('ipps', { maxWaitMs: 0 });
    limiter.leases.at(-1)!.stillHeld = false;
    expect(await slots.releaseAll()).toBe(false);
  });
});
