import { describe, expect, it } from 'vitest';
import type { LeaseKey } from '../../../src/core/ports.js';
import { sleep } from '../../../src/core/time.js';
import { eventually } from '../../support/processes.js';
import { uniquePrefix } from '../../support/redis.js';
import { useLimiters } from './limiters.js';

const limiters = useLimiters();
const key: LeaseKey = { tenant: 'contoso.onmicrosoft.com', service: 'exo' };

describe('Redis lease semaphore', () => {
  it('never grants more than the limit, even to many simultaneous callers', async () => {
    const limiter = limiters.create({ prefix: uniquePrefix('lease') });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) => limiter.acquire(key, { holderId: `h${index}`, waiterId: `w${index}`, limit: 3 })),
    );
    const granted = results.filter((result) => result.granted);
    expect(granted).toHaveLength(3);
    expect((await limiter.inspect(key)).holders).toHaveLength(3);
    for (const result of granted) if (result.granted) await result.lease.release();
  });

  it('hands a freed slot to the first waiter in line and wakes it and the next up', async () => {
    const woken: string[][] = [];
    const limiter = limiters.create({ prefix: uniquePrefix('lease'), wakeWaiters: async (_key, ids) => void woken.push(ids) });
    const first = await limiter.acquire(key, { holderId: 'a:1', waiterId: 'a', limit: 1 });
    expect(first.granted).toBe(true);
    for (const id of ['b', 'c', 'd']) {
      const denied = await limiter.acquire(key, { holderId: `${id}:1`, waiterId: id, limit: 1 });
      expect(denied).toMatchObject({ granted: false, position: ['b', 'c', 'd'].indexOf(id) });
    }
    expect(woken).toEqual([]);
    // The release hands the slot to b (its run waits in the queue) and tells c, now first in line.
    if (first.granted) expect(await first.lease.release()).toBe(true);
    expect(woken).toEqual([['b', 'c']]);
    expect((await limiter.inspect(key)).holders).toMatchObject([{ id: 'handoff|b', handedTo: 'b' }]);
    // A later asker does not overtake the line, even when it asks right after a release.
    expect((await limiter.acquire(key, { holderId: 'd:2', waiterId: 'd', limit: 1 })).granted).toBe(false);
    expect(await limiter.wouldGrant(key, 'b', 1)).toBe(true);
    expect(await limiter.wouldGrant(key, 'c', 1)).toBe(false);
    // b's next attempt adopts the slot under its own holder id.
    const second = await limiter.acquire(key, { holderId: 'b:2', waiterId: 'b', limit: 1 });
    expect(second.granted).toBe(true);
    expect((await limiter.inspect(key)).holders.map((holder) => holder.id)).toEqual(['b:2']);
    expect((await limiter.inspect(key)).waiters).toEqual(['c', 'd']);
    if (second.granted) await second.lease.release();
  });

  it('takes the slot from a holder whose lease expired in Redis, and that holder learns it lost it', async () => {
    const prefix = uniquePrefix('lease');
    const dead = limiters.create({ prefix, leaseTtlMs: 600 });
    const held = await dead.acquire(key, { holderId: 'dead:1', waiterId: 'dead', limit: 1 });
    expect(held.granted).toBe(true);
    const other = limiters.create({ prefix, leaseTtlMs: 600 });
    const denied = await other.acquire(key, { holderId: 'next:1', waiterId: 'next', limit: 1 });
    expect(denied.granted).toBe(false);
    expect(!denied.granted && denied.retryAfterMs).toBeLessThanOrEqual(600);
    // Expire it as a stalled process would (its heartbeat could not run in time).
    await limiters.redis().eval("redis.call('ZADD', KEYS[1], 0, ARGV[1]) return 1", 1, `${prefix}:lease:{${key.tenant}|${key.service}}:holders`, 'dead:1');
    expect((await other.acquire(key, { holderId: 'next:1', waiterId: 'next', limit: 1 })).granted).toBe(true);
    if (!held.granted) return;
    // Its next heartbeat finds out; from then on nothing is admitted on it.
    await eventually(async () => held.lease.signal.aborted || undefined, 5_000, 'the dead lease to learn it was lost');
    await expect(held.lease.admit({ maxWaitMs: 0 })).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST' });
    expect(await held.lease.release()).toBe(false);
  });

  it('forgets a waiter that stopped asking, so the line moves on', async () => {
    const limiter = limiters.create({ prefix: uniquePrefix('lease'), waiterTtlMs: 300 });
    const holder = await limiter.acquire(key, { holderId: 'h:1', waiterId: 'h', limit: 1 });
    await limiter.acquire(key, { holderId: 'ghost:1', waiterId: 'ghost', limit: 1 });
    await sleep(400);
    await limiter.acquire(key, { holderId: 'live:1', waiterId: 'live', limit: 1 });
    expect((await limiter.inspect(key)).waiters).toEqual(['live']);
    if (holder.granted) await holder.lease.release();
    await limiter.forgetWaiter(key, 'live');
    expect((await limiter.inspect(key)).waiters).toEqual([]);
    // The slot handed to 'live' before it gave up moved on: nobody holds it now.
    expect((await limiter.inspect(key)).holders).toEqual([]);
  });

  it('keeps a lease alive with its heartbeat beyond the TTL', async () => {
    const limiter = limiters.create({ prefix: uniquePrefix('lease'), leaseTtlMs: 1_500 });
    const held = await limiter.acquire(key, { holderId: 'long:1', waiterId: 'long', limit: 1 });
    expect(held.granted).toBe(true);
    if (!held.granted) return;
    await sleep(3_000);
    await expect(held.lease.admit({ maxWaitMs: 0 })).resolves.toBeUndefined();
    expect(held.lease.signal.aborted).toBe(false);
    expect(await held.lease.release()).toBe(true);
    // Given back: nothing more may be sent on it.
    await expect(held.lease.admit({ maxWaitMs: 0 })).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST' });
  });

  it('cools a throttled key down for everyone: no slot, line order kept, requests held back', async () => {
    const limiter = limiters.create({ prefix: uniquePrefix('lease') });
    const holder = await limiter.acquire(key, { holderId: 'a:1', waiterId: 'a', limit: 2 });
    expect(holder.granted).toBe(true);
    if (!holder.granted) return;
    holder.lease.throttled(600);
    // A shorter cool-down never shortens a longer one.
    limiter.throttled(key, 100);
    const refusal = await holder.lease.admit({ maxWaitMs: 0 }).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'EXO_THROTTLED' });
    expect((refusal as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(400);
    const first = await limiter.acquire(key, { holderId: 'b:1', waiterId: 'b', limit: 2 });
    const second = await limiter.acquire(key, { holderId: 'c:1', waiterId: 'c', limit: 2 });
    expect([first.granted, second.granted]).toEqual([false, false]);
    expect(!first.granted && first.retryAfterMs).toBeGreaterThan(300);
    expect((await limiter.inspect(key)).coolingMs).toBeGreaterThan(0);
    await sleep(650);
    // After the cool-down the line is served in order: b first.
    expect((await limiter.acquire(key, { holderId: 'c:2', waiterId: 'c', limit: 2 })).granted).toBe(false);
    expect((await limiter.acquire(key, { holderId: 'b:2', waiterId: 'b', limit: 2 })).granted).toBe(true);
    expect((await limiter.keys()).map((entry) => `${entry.tenant}|${entry.service}`)).toEqual(['contoso.onmicrosoft.com|exo']);
  });
});
