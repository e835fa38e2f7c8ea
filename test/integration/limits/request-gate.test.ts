import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Lease, LeaseKey } from '../../../src/core/ports.js';
import { RETRY_LIMITS } from '../../../src/core/retry-policy.js';
import type { RedisTenantLimiter } from '../../../src/limits/redis-limiter.js';
import { eventually } from '../../support/processes.js';
import { uniquePrefix } from '../../support/redis.js';
import { useLimiters } from './limiters.js';

const limiters = useLimiters();
const key: LeaseKey = { tenant: 'northwind.onmicrosoft.com', service: 'exo' };

afterEach(() => vi.restoreAllMocks());

async function holding(limiter: RedisTenantLimiter, holderId: string, limit = 3): Promise<Lease> {
  const asked = await limiter.acquire(key, { holderId, waiterId: holderId, limit });
  if (!asked.granted) throw new Error(`${holderId} got no slot`);
  return asked.lease;
}

/** Admits on `lease` with no wait, as fast as the event loop allows, until the first refusal. */
function admitUntilRefused(lease: Lease): { admittedAt: number[]; refused: Promise<{ at: number; error: unknown }> } {
  const admittedAt: number[] = [];
  const refused = new Promise<{ at: number; error: unknown }>((resolve) => {
    const next = (): void => {
      lease.admit({ maxWaitMs: 0 }).then(
        () => {
          admittedAt.push(performance.now());
          setImmediate(next);
        },
        (error: unknown) => resolve({ at: performance.now(), error }),
      );
    };
    next();
  });
  return { admittedAt, refused };
}

describe('request gate across processes', () => {
  it('holds back the sender at once and every other process as soon as the news arrives, until the deadline', async () => {
    const prefix = uniquePrefix('gate');
    const [sender, receiver] = [limiters.create({ prefix }), limiters.create({ prefix })];
    const [senderLease, receiverLease] = [await holding(sender, 'sender:1'), await holding(receiver, 'receiver:1')];
    const probe = admitUntilRefused(receiverLease);
    await eventually(async () => probe.admittedAt.length > 10, 10_000, 'the receiver to admit requests');

    const waitMs = 1_500;
    const throttledAt = performance.now();
    senderLease.throttled(waitMs);
    const returnedAt = performance.now();
    // The sender's own gate applied it before throttled() returned.
    await expect(senderLease.admit({ maxWaitMs: 0 })).rejects.toMatchObject({ code: 'EXO_THROTTLED' });

    const { at: refusedAt, error } = await probe.refused;
    expect(error).toMatchObject({ code: 'EXO_THROTTLED' });
    expect(probe.admittedAt.filter((at) => at > refusedAt)).toEqual([]);
    console.info(`cool-down reached the other process ${(refusedAt - returnedAt).toFixed(2)} ms after throttled() returned`);

    // From the news on, nothing leaves the receiver before the deadline: a request that waits
    // for it leaves after it, never before.
    await expect(receiverLease.admit({ maxWaitMs: 0 })).rejects.toMatchObject({ code: 'EXO_THROTTLED' });
    await receiverLease.admit({ maxWaitMs: waitMs });
    expect(performance.now()).toBeGreaterThanOrEqual(throttledAt + waitMs);
    // The stored cool-down stops the line as well: no slot is granted while it runs.
    expect((await receiver.inspect(key)).coolingMs).toBeGreaterThanOrEqual(0);
  });

  it('lets requests that waited out a cool-down leave one by one over the resume spread, none before the deadline', async () => {
    const prefix = uniquePrefix('gate');
    const [sender, receiver] = [limiters.create({ prefix }), limiters.create({ prefix })];
    const [senderLease, receiverLease] = [await holding(sender, 'sender:1'), await holding(receiver, 'receiver:1')];
    const waiting = 20;
    const draws = Array.from({ length: waiting }, (_, index) => index / waiting);
    const planned: number[] = [];
    const waitMs = 2_000;

    const throttledAt = performance.now();
    senderLease.throttled(waitMs);
    await eventually(
      async () =>
        receiverLease.admit({ maxWaitMs: 0 }).then(
          () => false,
          () => true,
        ),
      10_000,
      'the receiver to hear of the cool-down',
      5,
    );
    // Each waiting request draws its spread when it starts waiting: make the draws known.
    const random = vi.spyOn(Math, 'random').mockImplementation(() => {
      const draw = draws.shift() ?? 0;
      planned.push(draw);
      return draw;
    });
    const requests = Array.from({ length: waiting }, () => receiverLease.admit({ maxWaitMs: waitMs }).then(() => performance.now()));
    // Every request has drawn its spread by now (when it started to wait).
    const allWaitingAt = performance.now();
    const leftAt = await Promise.all(requests);
    random.mockRestore();

    // The receiver's deadline is no earlier than the sender's; the spread is a share of the wait
    // left when a request started waiting, which was at least what is left at allWaitingAt.
    const leftMs = throttledAt + waitMs - allWaitingAt;
    const spreadMs = Math.min(RETRY_LIMITS.resumeSpreadCapMs, leftMs * RETRY_LIMITS.resumeSpreadRatio);
    expect(planned).toHaveLength(waiting);
    for (const [index, at] of leftAt.entries()) {
      // Never before the sender's deadline, and never before its own share of the spread after it.
      expect(at).toBeGreaterThanOrEqual(throttledAt + waitMs);
      expect(at).toBeGreaterThanOrEqual(throttledAt + waitMs + (planned[index] ?? 0) * spreadMs);
    }
    const sorted = [...leftAt].sort((a, b) => a - b);
    expect(sorted.at(-1)! - sorted[0]!).toBeGreaterThan(0);
  });

  it('catches up on a cool-down announced while its news connection was down', async () => {
    const prefix = uniquePrefix('gate');
    const sender = limiters.create({ prefix });
    const receiver = limiters.create({ prefix, connectionName: `${prefix}-receiver` });
    const [senderLease, receiverLease] = [await holding(sender, 'sender:1'), await holding(receiver, 'receiver:1')];
    await receiverLease.admit({ maxWaitMs: 0 });
    // Drop the receiver's news connection; it reconnects by itself a moment later.
    const admin = limiters.redis();
    const id = await eventually(
      async () => {
        const clients = ((await admin.client('LIST')) as string).split('\n');
        const news = clients.find((line) => line.includes(`name=${prefix}-receiver:news `) && / sub=1 /.test(line));
        return /\bid=(\d+)/.exec(news ?? '')?.[1];
      },
      10_000,
      'the receiver to subscribe to the news',
      20,
    );
    expect(await admin.client('KILL', 'ID', id)).toBe(1);
    senderLease.throttled(20_000);
    // The announcement went out while nothing of the receiver listened: it reads it back.
    await eventually(
      async () =>
        receiverLease.admit({ maxWaitMs: 0 }).then(
          () => false,
          (error: unknown) => error,
        ),
      10_000,
      'the receiver to learn of the cool-down',
      20,
    ).then((error) => expect(error).toMatchObject({ code: 'EXO_THROTTLED' }));
    const refusal = await receiverLease.admit({ maxWaitMs: 0 }).catch((error: unknown) => error);
    expect((refusal as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(15_000);
  });

  it('a process that takes a slot while a key cools down learns of the cool-down with the slot', async () => {
    const prefix = uniquePrefix('gate');
    const sender = limiters.create({ prefix });
    const senderLease = await holding(sender, 'sender:1', 1);
    senderLease.throttled(300);
    expect(await senderLease.release()).toBe(true);
    // A newcomer gets no slot while it cools down, then gets one with the rest of the cool-down.
    const late = limiters.create({ prefix });
    const asked = await late.acquire(key, { holderId: 'late:1', waiterId: 'late', limit: 1 });
    expect(asked.granted).toBe(false);
    const lease = await late.waitForSlot(key, { holderId: 'late:1', waiterId: 'late', limit: 1 }, { timeoutMs: 10_000 });
    expect(lease).toBeDefined();
    await expect(lease!.admit({ maxWaitMs: 1_000 })).resolves.toBeUndefined();
  });
});
