import { describe, expect, it } from 'vitest';
import type { Lease, LeaseKey } from '../../../src/core/ports.js';
import type { ManagedLease } from '../../../src/limits/lease.js';
import { eventually } from '../../support/processes.js';
import { uniquePrefix } from '../../support/redis.js';
import { useLimiters } from './limiters.js';

const limiters = useLimiters();
const key: LeaseKey = { tenant: 'fabrikam.onmicrosoft.com', service: 'ipps' };

describe('hand-off: a freed slot goes to the next waiter in the step that frees it', () => {
  it('gives slots to waiters waiting in other processes in line order, the lease arriving with the notice alone', async () => {
    const prefix = uniquePrefix('handoff');
    const [holderProcess, first, second] = [limiters.create({ prefix }), limiters.create({ prefix }), limiters.create({ prefix })];
    const held = await holderProcess.acquire(key, { holderId: 'h:1', waiterId: 'h', limit: 1 });
    expect(held.granted).toBe(true);
    // Three runs wait in two processes, queued in the order w1, w2, w3 (asked in another order).
    const order: string[] = [];
    const waiting = new Map<string, Promise<Lease | undefined>>();
    for (const [process, waiterId, queuedAtMs] of [
      [second, 'w2', 2],
      [first, 'w3', 3],
      [first, 'w1', 1],
    ] as const) {
      const wait = process.waitForSlot(key, { holderId: `${waiterId}:1`, waiterId, limit: 1, queuedAtMs }, { timeoutMs: 60_000 });
      waiting.set(
        waiterId,
        wait.then((lease) => {
          order.push(waiterId);
          return lease;
        }),
      );
    }
    await eventually(async () => (await holderProcess.inspect(key)).waiters.length === 3, 10_000, 'three waiters in line');
    expect((await holderProcess.inspect(key)).waiters).toEqual(['w1', 'w2', 'w3']);

    let previous = held.granted ? held.lease : undefined;
    for (const waiterId of ['w1', 'w2', 'w3']) {
      const process = waiterId === 'w2' ? second : first;
      const callsBefore = process.stats().redisCalls;
      expect(await previous!.release()).toBe(true);
      const lease = await waiting.get(waiterId)!;
      expect(lease?.holderId).toBe(`${waiterId}:1`);
      // The waiter's process learnt of its lease from the notice: no call of its own in between.
      expect(process.stats().redisCalls).toBe(callsBefore);
      expect((await holderProcess.inspect(key)).holders.map((holder) => holder.id)).toEqual([`${waiterId}:1`]);
      await expect(lease!.admit({ maxWaitMs: 0 })).resolves.toBeUndefined();
      previous = lease;
    }
    expect(order).toEqual(['w1', 'w2', 'w3']);
    expect(first.stats().noticeGrants + second.stats().noticeGrants).toBe(3);
    expect(await previous!.release()).toBe(true);
  });

  it('keeps a slot for a run waiting in the queue until its next attempt adopts it under its own holder id', async () => {
    const woken: string[][] = [];
    const prefix = uniquePrefix('handoff');
    const limiter = limiters.create({ prefix, wakeWaiters: async (_key, ids) => void woken.push(ids) });
    const held = await limiter.acquire(key, { holderId: 'h:1', waiterId: 'h', limit: 1 });
    expect(await limiter.acquire(key, { holderId: 'run:pickup2', waiterId: 'run', limit: 1, generation: 2 })).toMatchObject({ granted: false, position: 0 });
    if (held.granted) await held.lease.release();
    expect(woken).toEqual([['run']]);
    expect((await limiter.inspect(key)).holders).toMatchObject([{ id: 'handoff|run', handedTo: 'run' }]);
    // Nobody else may take it meanwhile: not a newcomer, not an extra slot.
    expect((await limiter.acquire(key, { holderId: 'late:1', waiterId: 'late', limit: 1 })).granted).toBe(false);
    expect(await limiter.tryAcquireFree(key, { holderId: 'extra:1', limit: 1 })).toBeUndefined();
    // An older pickup of the run that wakes up late cannot take it.
    await expect(limiter.acquire(key, { holderId: 'run:pickup1', waiterId: 'run', limit: 1, generation: 1 })).rejects.toMatchObject({
      code: 'LIMIT_LEASE_LOST',
    });
    expect((await limiter.inspect(key)).holders.map((holder) => holder.id)).toEqual(['handoff|run']);
    const adopted = await limiter.acquire(key, { holderId: 'run:pickup3', waiterId: 'run', limit: 1, generation: 3 });
    expect(adopted.granted).toBe(true);
    expect((await limiter.inspect(key)).holders.map((holder) => holder.id)).toEqual(['run:pickup3']);
    if (adopted.granted) expect(await adopted.lease.release()).toBe(true);
  });

  it('never lets a stalled attempt refresh, use or release the slot of the attempt that replaced it', async () => {
    const prefix = uniquePrefix('zombie');
    const stalledProcess = limiters.create({ prefix, leaseTtlMs: 600 });
    const stalled = await stalledProcess.acquire(key, { holderId: 'run:attempt1', waiterId: 'run', limit: 1, generation: 1 });
    expect(stalled.granted).toBe(true);
    if (!stalled.granted) return;
    // The process stops: no heartbeat runs any more (as under SIGSTOP), and its lease expires in Redis.
    (stalled.lease as ManagedLease).stop();
    const otherProcess = limiters.create({ prefix, leaseTtlMs: 600 });
    const replacement = await eventually(
      async () => {
        const asked = await otherProcess.acquire(key, { holderId: 'run:attempt2', waiterId: 'run', limit: 1, generation: 2 });
        return asked.granted ? asked.lease : undefined;
      },
      10_000,
      'the replacing attempt to get the slot',
    );
    // The stalled attempt wakes up: nothing of it is admitted, released or taken over.
    await expect(stalled.lease.admit({ maxWaitMs: 0 })).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST' });
    expect(await stalled.lease.release()).toBe(false);
    await expect(stalledProcess.acquire(key, { holderId: 'run:attempt1', waiterId: 'run', limit: 1, generation: 1 })).rejects.toMatchObject({
      code: 'LIMIT_LEASE_LOST',
    });
    const state = await otherProcess.inspect(key);
    expect(state.holders.map((holder) => holder.id)).toEqual(['run:attempt2']);
    await expect(replacement.admit({ maxWaitMs: 0 })).resolves.toBeUndefined();
    expect(await replacement.release()).toBe(true);
  });

  it('moves a handed-off slot on after the lease TTL when its run never comes for it', async () => {
    const prefix = uniquePrefix('handoff');
    const ttl = 800;
    const limiter = limiters.create({ prefix, leaseTtlMs: ttl });
    const other = limiters.create({ prefix, leaseTtlMs: ttl });
    const held = await limiter.acquire(key, { holderId: 'h:1', waiterId: 'h', limit: 1 });
    // 'gone' waits in the queue (its run will be removed); 'next' waits in another process.
    await limiter.acquire(key, { holderId: 'gone:1', waiterId: 'gone', limit: 1 });
    const next = other.waitForSlot(key, { holderId: 'next:1', waiterId: 'next', limit: 1 }, { timeoutMs: 30_000 });
    await eventually(async () => (await limiter.inspect(key)).waiters.length === 2, 10_000, 'two waiters');
    if (held.granted) await held.lease.release();
    const handedAt = Date.now();
    expect((await limiter.inspect(key)).holders.map((holder) => holder.id)).toEqual(['handoff|gone']);
    const lease = await next;
    expect(lease?.holderId).toBe('next:1');
    // Not before the kept slot expired.
    expect(Date.now() - handedAt).toBeGreaterThanOrEqual(ttl - 50);
    expect((await limiter.inspect(key)).holders.map((holder) => holder.id)).toEqual(['next:1']);
    expect(await lease!.release()).toBe(true);
  });

  it('tells waiters that move into the first `limit` places of the line to come', async () => {
    const woken: string[][] = [];
    const prefix = uniquePrefix('handoff');
    const limiter = limiters.create({ prefix, wakeWaiters: async (_key, ids) => void woken.push(ids) });
    const a = await limiter.acquire(key, { holderId: 'a:1', waiterId: 'a', limit: 2 });
    const b = await limiter.acquire(key, { holderId: 'b:1', waiterId: 'b', limit: 2 });
    for (const id of ['w1', 'w2', 'w3', 'w4']) await limiter.acquire(key, { holderId: `${id}:1`, waiterId: id, limit: 2 });
    // w1 and w2 were told their place when they asked (they are near the front); nobody was woken.
    expect(woken).toEqual([]);
    if (a.granted) await a.lease.release();
    // w1 gets the slot kept for it; w3 moved up into the first two places.
    expect(woken).toEqual([['w1', 'w3']]);
    if (b.granted) await b.lease.release();
    expect(woken).toEqual([
      ['w1', 'w3'],
      ['w2', 'w4'],
    ]);
  });

  it('keeps a waiter’s place when its wait times out, and hands on a slot that reaches a waiter that gave up', async () => {
    const prefix = uniquePrefix('handoff');
    const limiter = limiters.create({ prefix });
    const other = limiters.create({ prefix });
    const held = await limiter.acquire(key, { holderId: 'h:1', waiterId: 'h', limit: 1 });
    expect(await other.waitForSlot(key, { holderId: 'slow:1', waiterId: 'slow', limit: 1 }, { timeoutMs: 300 })).toBeUndefined();
    expect((await limiter.inspect(key)).waiters).toEqual(['slow']);

    const controller = new AbortController();
    const aborted = other.waitForSlot(key, { holderId: 'slow:2', waiterId: 'slow', limit: 1 }, { timeoutMs: 30_000, signal: controller.signal });
    const behind = limiter.waitForSlot(key, { holderId: 'behind:1', waiterId: 'behind', limit: 1 }, { timeoutMs: 30_000 });
    await eventually(async () => (await limiter.inspect(key)).waiters.length === 2, 10_000, 'two waiters');
    controller.abort(new Error('run cancelled'));
    await expect(aborted).rejects.toThrow('run cancelled');
    await other.forgetWaiter(key, 'slow');
    if (held.granted) await held.lease.release();
    const lease = await behind;
    expect(lease?.holderId).toBe('behind:1');
    expect((await limiter.inspect(key)).holders.map((holder) => holder.id)).toEqual(['behind:1']);
  });

  it('grants an extra slot only when it is free for nobody else', async () => {
    const prefix = uniquePrefix('extra');
    const limiter = limiters.create({ prefix });
    const run = await limiter.acquire(key, { holderId: 'run:1', waiterId: 'run', limit: 3 });
    expect(run.granted).toBe(true);
    const extra = await limiter.tryAcquireFree(key, { holderId: 'run:x1', limit: 3 });
    expect(extra?.holderId).toBe('run:x1');
    await limiter.acquire(key, { holderId: 'other:1', waiterId: 'other', limit: 3 });
    // Three slots: two held, one taken by 'other' just now — none free for an extra.
    expect(await limiter.tryAcquireFree(key, { holderId: 'run:x2', limit: 3 })).toBeUndefined();
    expect(await extra!.release()).toBe(true);
    limiter.throttled(key, 5_000);
    expect(await limiter.tryAcquireFree(key, { holderId: 'run:x3', limit: 3 })).toBeUndefined();
  });
});
