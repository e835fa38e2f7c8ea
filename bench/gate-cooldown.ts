/**
 * How fast a throttling answer holds back every process, and how requests resume after it, on a
 * private redis-server. K limiter instances (each with its own connections, as K worker processes
 * have) hold a slot of one key; in each round one of them is told to cool down and the others
 * probe their request gate as fast as their event loop allows.
 *
 *   npx tsx bench/gate-cooldown.ts [--instances 4] [--rounds 100] [--waiting 20] [--mode both|before|after]
 *
 * after:  from `throttled()` returning in the sender to the first refusal of `admit()` in each
 *         other instance (no Redis round trip per request: the news is pushed). The probes spin
 *         on the CPU, which on a small machine delays Redis itself; so also: from `throttled()`
 *         returning to the news arriving on an idle connection subscribed to the same channel.
 * before: the `main` branch's flow: from `coolDown()` being called (after the refusal was read)
 *         to the first `assertHeld()` of another instance that reports the cool-down (one Redis
 *         round trip per request). Requests already past their check still leave meanwhile.
 * spread: N requests waiting at one gate for the same 2 s cool-down: when they leave, relative to
 *         the deadline.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Lease, LeaseKey } from '../src/core/ports.js';
import { RETRY_LIMITS } from '../src/core/retry-policy.js';
import { sleep } from '../src/core/time.js';
import { createRedisTenantLimiter, type RedisTenantLimiter } from '../src/limits/redis-limiter.js';
import { startEmbeddedRedis } from '../src/queue/embedded-redis.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '100' },
    waiting: { type: 'string', default: '20' },
    mode: { type: 'string', default: 'both' },
  },
});
const instances = Number(values.instances);
const rounds = Number(values.rounds);
const waiting = Number(values.waiting);
const key: LeaseKey = { tenant: 'bench.onmicrosoft.com', service: 'exo' };
const root = path.resolve(import.meta.dirname, '..');
/** Long enough that a probe delayed by a busy machine still sees the cool-down while it runs. */
const coolDownMs = 250;

const redis = await startEmbeddedRedis();
const connections: Redis[] = [];
const connect = (): Redis => {
  const connection = new Redis(redis.url);
  connections.push(connection);
  return connection;
};

function summary(list: number[]): string {
  const sorted = [...list].sort((a, b) => a - b);
  const at = (share: number): string => (sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? Number.NaN).toFixed(2);
  return `p50 ${at(0.5)}  p90 ${at(0.9)}  p99 ${at(0.99)}  max ${(sorted.at(-1) ?? Number.NaN).toFixed(2)} ms (${sorted.length} samples)`;
}

/**
 * Calls `probe` back to back (yielding to I/O in between) until it reports true; resolves with that
 * moment, or undefined when it did not within `withinMs` (the probe missed the cool-down).
 */
function until(probe: () => Promise<boolean>, withinMs = 10_000): Promise<number | undefined> {
  const deadline = performance.now() + withinMs;
  return new Promise((resolve, reject) => {
    const next = (): void => {
      probe().then((done) => {
        if (done) resolve(performance.now());
        else if (performance.now() > deadline) resolve(undefined);
        else setImmediate(next);
      }, reject);
    };
    next();
  });
}

async function measureAfter(): Promise<void> {
  const limiters: RedisTenantLimiter[] = Array.from({ length: instances }, () => createRedisTenantLimiter({ redis: connect(), prefix: 'bench-after' }));
  const leases: Lease[] = [];
  for (const [index, limiter] of limiters.entries()) {
    const asked = await limiter.acquire(key, { holderId: `h${index}`, waiterId: `h${index}`, limit: instances });
    if (!asked.granted) throw new Error('no slot');
    leases.push(asked.lease);
  }
  // An idle listener on the news channel: when the news reaches a process that is not busy.
  const listener = connect();
  let heard: (() => void) | undefined;
  listener.on('message', () => heard?.());
  await listener.subscribe('bench-after:lease:news');
  // Let every news connection subscribe.
  await sleep(200);
  const delays: number[] = [];
  const arrivals: number[] = [];
  const admittedAfterNews: number[] = [];
  let missed = 0;
  for (let round = 0; round < rounds; round += 1) {
    const sender = round % instances;
    const others = leases.filter((_, index) => index !== sender);
    const refusals = others.map((lease) =>
      until(
        () =>
          lease.admit({ maxWaitMs: 0 }).then(
            () => false,
            () => true,
          ),
        coolDownMs * 4,
      ),
    );
    const arrived = new Promise<number>((resolve) => (heard = () => resolve(performance.now())));
    leases[sender]!.throttled(coolDownMs);
    const returnedAt = performance.now();
    void arrived.then((at) => arrivals.push(at - returnedAt));
    for (const refusedAt of await Promise.all(refusals)) {
      if (refusedAt === undefined) missed += 1;
      else delays.push(refusedAt - returnedAt);
    }
    // Once refused, a gate admits nothing before the cool-down is over.
    for (const lease of others) {
      if (
        await lease.admit({ maxWaitMs: 0 }).then(
          () => true,
          () => false,
        )
      ) {
        admittedAfterNews.push(round);
      }
    }
    await Promise.all(leases.map((lease) => lease.admit({ maxWaitMs: 10_000 })));
  }
  console.log(`after: ${instances} instances, ${rounds} cool-downs`);
  console.log(`  news to refusal in another instance, after throttled() returned: ${summary(delays)}`);
  console.log(`  news on an idle connection, after throttled() returned:          ${summary(arrivals)}`);
  console.log(`  admitted after the news reached it: ${admittedAfterNews.length} times; never refused (probe missed it): ${missed}`);

  // Spread: N requests wait at one gate for the same deadline.
  const gate = leases[1]!;
  const waitMs = 2_000;
  leases[0]!.throttled(waitMs);
  const deadline = performance.now() + waitMs;
  await until(
    () =>
      gate.admit({ maxWaitMs: 0 }).then(
        () => false,
        () => true,
      ),
    waitMs,
  );
  const left = await Promise.all(Array.from({ length: waiting }, () => gate.admit({ maxWaitMs: 10_000 }).then(() => performance.now() - deadline)));
  const spreadMs = Math.min(RETRY_LIMITS.resumeSpreadCapMs, waitMs * RETRY_LIMITS.resumeSpreadRatio);
  console.log(`  resume after a ${waitMs} ms cool-down, ${waiting} waiting requests, ms after the sender's deadline (spread up to ${spreadMs} ms):`);
  console.log(`    ${summary(left)}; earliest ${Math.min(...left).toFixed(2)}`);
  for (const limiter of limiters) await limiter.close();
}

async function measureBefore(): Promise<void> {
  const dir = path.join(root, 'node_modules', '.cache', 'exorun-bench-main');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-x', '-C', dir], { input: execFileSync('git', ['-C', root, 'archive', 'main', 'src/core', 'src/limits']) });
  const { createRedisTenantLimiter: createMain } = (await import(path.join(dir, 'src', 'limits', 'redis-limiter.ts'))) as {
    createRedisTenantLimiter: (options: Record<string, unknown>) => {
      acquire(key: LeaseKey, request: Record<string, unknown>): Promise<{ granted: boolean; lease?: { assertHeld(): Promise<{ coolingMs: number }> } }>;
      coolDown(key: LeaseKey, ms: number): Promise<void>;
    };
  };
  const limiters = Array.from({ length: instances }, () => createMain({ redis: connect(), prefix: 'bench-before' }));
  const leases: { assertHeld(): Promise<{ coolingMs: number }> }[] = [];
  for (const [index, limiter] of limiters.entries()) {
    const asked = await limiter.acquire(key, { holderId: `h${index}`, waiterId: `h${index}`, limit: instances });
    leases.push(asked.lease!);
  }
  const delays: number[] = [];
  let missed = 0;
  for (let round = 0; round < rounds; round += 1) {
    const sender = round % instances;
    const others = leases.filter((_, index) => index !== sender);
    const seen = others.map((lease) => until(async () => (await lease.assertHeld()).coolingMs > 0, coolDownMs));
    const calledAt = performance.now();
    // The worker records the cool-down without waiting for it.
    void limiters[sender]!.coolDown(key, coolDownMs);
    for (const seenAt of await Promise.all(seen)) {
      if (seenAt === undefined) missed += 1;
      else delays.push(seenAt - calledAt);
    }
    await sleep(coolDownMs + 5);
  }
  console.log(`before: ${instances} instances, ${rounds} cool-downs`);
  console.log(`  coolDown() called to another instance's check reporting it: ${summary(delays)}; missed ${missed}`);
}

if (values.mode === 'both' || values.mode === 'before') await measureBefore();
if (values.mode === 'both' || values.mode === 'after') await measureAfter();
for (const connection of connections) connection.disconnect();
await redis.stop();
process.exit(0);
