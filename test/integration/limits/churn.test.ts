import { describe, expect, it } from 'vitest';
import { isAppError } from '../../../src/core/errors.js';
import type { Lease, LeaseKey } from '../../../src/core/ports.js';
import type { ManagedLease } from '../../../src/limits/lease.js';
import type { RedisTenantLimiter } from '../../../src/limits/redis-limiter.js';
import { eventually } from '../../support/processes.js';
import { uniquePrefix } from '../../support/redis.js';
import { useLimiters } from './limiters.js';

const limiters = useLimiters();
const key: LeaseKey = { tenant: 'churn.onmicrosoft.com', service: 'exo' };

/** A small seeded generator, so a failing run can be replayed with CHURN_SEED. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pause = (ms: number, wake?: (resolve: () => void) => void): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake?.(() => {
      clearTimeout(timer);
      resolve();
    });
  });

describe('the limit under churn', () => {
  it('never has more than `limit` requests in flight or slots in Redis, across three processes', async () => {
    const seed = Number(process.env['CHURN_SEED'] ?? Math.floor(Math.random() * 1_000_000));
    const random = seeded(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const limit = 3;
    const ttl = 600;
    const prefix = uniquePrefix('churn');
    /** Runs parked "in the queue", woken early when the limiter says a slot is theirs or due. */
    const parked = new Map<string, () => void>();
    const wakeWaiters = async (_key: LeaseKey, ids: string[]): Promise<void> => {
      for (const id of ids) parked.get(id)?.();
    };
    const processes: RedisTenantLimiter[] = [0, 1, 2].map(() => limiters.create({ prefix, leaseTtlMs: ttl, waiterTtlMs: 5_000, wakeWaiters }));
    const holdersKey = `${prefix}:lease:{${key.tenant}|${key.service}}:holders`;
    const violations: string[] = [];
    const seen = { inFlightPeak: 0, redisPeak: 0, crashes: 0, throttles: 0, waitsInProcess: 0, parkedRuns: 0, samples: 0 };
    let inFlight = 0;

    // Samples Redis as often as it can while the runs churn.
    let watching = true;
    const watcher = (async () => {
      const admin = limiters.redis();
      while (watching) {
        const held = await admin.zcard(holdersKey);
        seen.samples += 1;
        seen.redisPeak = Math.max(seen.redisPeak, held);
        if (held > limit) violations.push(`Redis had ${held} slots`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();

    async function send(lease: Lease): Promise<boolean> {
      try {
        await lease.admit({ maxWaitMs: 200 });
      } catch (error) {
        if (isAppError(error) && (error.code === 'EXO_THROTTLED' || error.code === 'LIMIT_LEASE_LOST')) return false;
        throw error;
      }
      inFlight += 1;
      seen.inFlightPeak = Math.max(seen.inFlightPeak, inFlight);
      if (inFlight > limit) violations.push(`${inFlight} requests in flight`);
      await pause(random() * 15);
      inFlight -= 1;
      if (random() < 0.04) {
        seen.throttles += 1;
        lease.throttled(20 + random() * 60);
      }
      return true;
    }

    async function run(runId: string, queuedAtMs: number): Promise<void> {
      for (let generation = 1; generation <= 10; generation += 1) {
        // Each pickup of the run may land in any process.
        const process = pick(processes);
        const request = { holderId: `${runId}:${generation}`, waiterId: runId, limit, queuedAtMs, generation };
        const asked = await process.acquire(key, request);
        let lease: Lease | undefined = asked.granted ? asked.lease : undefined;
        if (!asked.granted) {
          if (asked.position < limit || random() < 0.3) {
            seen.waitsInProcess += 1;
            lease = await process.waitForSlot(key, request, { timeoutMs: 50 + random() * 400 });
          } else {
            seen.parkedRuns += 1;
            await pause(Math.min(asked.retryAfterMs, 300), (wake) => parked.set(runId, wake));
            parked.delete(runId);
          }
        }
        if (!lease) continue;
        const requests = 1 + Math.floor(random() * 3);
        for (let index = 0; index < requests; index += 1) if (!(await send(lease))) break;
        if (random() < 0.08) {
          // The process dies holding the slot: nothing more is sent; the slot expires with its TTL.
          seen.crashes += 1;
          (lease as ManagedLease).stop();
        } else {
          await lease.release();
        }
      }
      await pick(processes).forgetWaiter(key, runId);
    }

    const started = Date.now();
    await Promise.all(Array.from({ length: 16 }, (_, index) => run(`run${index}`, started + index)));
    watching = false;
    await watcher;

    expect(violations, `seed ${seed}`).toEqual([]);
    // The run exercised what it is meant to: the limit reached, waits in process, crashes, hand-offs.
    expect(seen.inFlightPeak, `seed ${seed}`).toBeGreaterThanOrEqual(2);
    expect(seen.redisPeak).toBe(limit);
    expect(seen.samples).toBeGreaterThan(50);
    expect(
      processes.reduce((sum, process) => sum + process.stats().noticeGrants, 0),
      `seed ${seed}`,
    ).toBeGreaterThan(0);
    console.info(`churn seed ${seed}: ${JSON.stringify(seen)}`);
    // Crashed holders' slots expire; nothing else is left behind.
    await eventually(async () => (await processes[0]!.inspect(key)).holders.length === 0, 10_000, 'every slot to be free');
  }, 120_000);
});
