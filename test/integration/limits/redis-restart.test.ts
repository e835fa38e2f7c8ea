import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../../src/core/errors.js';
import type { Lease, LeaseKey } from '../../../src/core/ports.js';
import { sleep } from '../../../src/core/time.js';
import { createRedisTenantLimiter, type RedisLimiterOptions, type RedisTenantLimiter } from '../../../src/limits/redis-limiter.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/queue/embedded-redis.js';
import { eventually } from '../../support/processes.js';

const key: LeaseKey = { tenant: 'blip.onmicrosoft.com', service: 'exo' };
const cooledKey: LeaseKey = { tenant: 'blip.onmicrosoft.com', service: 'ipps' };
const ttl = 15_000;
const prefix = 'exorun-restart';

let server: EmbeddedRedis | undefined;
let dir: string | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await server?.stop();
  server = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

function limiterOn(url: string, name: string, options: Partial<RedisLimiterOptions> = {}): RedisTenantLimiter {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  const limiter = createRedisTenantLimiter({ redis: connection, prefix, leaseTtlMs: ttl, connectionName: name, ...options });
  cleanups.push(async () => {
    await limiter.close();
    connection.disconnect();
  });
  return limiter;
}

async function holding(limiter: RedisTenantLimiter, holderId: string): Promise<Lease> {
  const asked = await limiter.acquire(key, { holderId, waiterId: holderId, limit: 2 });
  if (!asked.granted) throw new Error(`${holderId} got no slot`);
  return asked.lease;
}

describe('a Redis restart pauses the limiter and never fails it', () => {
  it('keeps leases usable through a five-second restart, then releases hand off and cool-downs still hold', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'exorun-restart-'));
    server = await startEmbeddedRedis({ persistent: true, dir });
    const { port, url } = server;
    // Two processes, each with its own connections; a third that gives up on Redis after a second.
    const first = limiterOn(url, 'first');
    const second = limiterOn(url, 'second');
    const impatient = limiterOn(url, 'impatient', { redisWaitMs: 1_000 });
    const failures: unknown[] = [];

    const firstLease = await holding(first, 'first:1');
    const secondLease = await holding(second, 'second:1');
    // Runs waiting in each process for the next slots, in this order.
    const nextInFirst = first.waitForSlot(key, { holderId: 'next:1', waiterId: 'next', limit: 2, queuedAtMs: 1 }, { timeoutMs: 120_000 });
    const laterInSecond = second.waitForSlot(key, { holderId: 'later:1', waiterId: 'later', limit: 2, queuedAtMs: 2 }, { timeoutMs: 120_000 });
    await eventually(async () => (await first.inspect(key)).waiters.length === 2, 10_000, 'two waiters in line');
    // A cool-down of another key, stored before the restart.
    first.throttled(cooledKey, 60_000);
    await eventually(async () => (await first.inspect(cooledKey)).coolingMs > 0, 10_000, 'the cool-down to be stored');

    await server.stop();
    const downAt = performance.now();
    // Redis is away. A release waits for it (it is the fencing check of a commit)...
    const released = secondLease.release();
    // ...a command of a limiter that may wait only briefly fails as REDIS_UNAVAILABLE...
    const refused = await impatient.acquire(key, { holderId: 'x:1', waiterId: 'x', limit: 2 }).catch((error: unknown) => error);
    expect(isAppError(refused) && refused.code).toBe('REDIS_UNAVAILABLE');
    // ...and the lease still held keeps admitting requests, and hears of its own throttling.
    while (performance.now() - downAt < 5_000) {
      await firstLease.admit({ maxWaitMs: 0 }).catch((error: unknown) => failures.push(error));
      await sleep(200);
    }
    expect(failures).toEqual([]);
    expect(firstLease.signal.aborted).toBe(false);

    server = await startEmbeddedRedis({ persistent: true, dir, port });

    // The release got its answer: the lease was still held; its slot went to the first in line.
    expect(await released).toBe(true);
    const next = await nextInFirst;
    expect(next?.holderId).toBe('next:1');
    // The heartbeat that waited through the outage got through: without it the lease would have
    // at most ttl - 5 s left in Redis by now.
    await eventually(
      async () => ((await first.inspect(key)).holders.find((holder) => holder.id === 'first:1')?.remainingMs ?? 0) > ttl - 2_000,
      ttl,
      'the heartbeat of the lease held through the outage',
      100,
    );
    expect(firstLease.signal.aborted).toBe(false);
    // A release after the restart hands off too.
    expect(await firstLease.release()).toBe(true);
    const later = await laterInSecond;
    expect(later?.holderId).toBe('later:1');
    const state = await first.inspect(key);
    expect(state.holders.map((holder) => holder.id).sort()).toEqual(['later:1', 'next:1']);

    // The stored cool-down survived: nobody gets a slot of that key, and a new process knows why.
    expect((await first.inspect(cooledKey)).coolingMs).toBeGreaterThan(40_000);
    const newcomer = limiterOn(url, 'newcomer');
    const asked = await newcomer.acquire(cooledKey, { holderId: 'y:1', waiterId: 'y', limit: 2 });
    expect(asked.granted).toBe(false);
    expect(!asked.granted && asked.retryAfterMs).toBeGreaterThan(40_000);

    // The news connections came back by themselves: a throttling answer in one process holds the other back.
    later!.throttled(2_000);
    await eventually(
      async () =>
        next!.admit({ maxWaitMs: 0 }).then(
          () => false,
          (error: unknown) => error,
        ),
      10_000,
      'the other process to hear of the cool-down',
      20,
    ).then((error) => expect(error).toMatchObject({ code: 'EXO_THROTTLED' }));

    expect(next!.signal.aborted || later!.signal.aborted).toBe(false);
    expect(await next!.release()).toBe(true);
    expect(await later!.release()).toBe(true);
  }, 90_000);
});
