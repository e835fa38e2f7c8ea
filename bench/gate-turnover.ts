/**
 * Slot turnover without Exchange: N one-request runs on one (tenant, service) with C slots, each
 * holding its slot for L ms (the simulated request), processed by K BullMQ workers — each in its
 * own process (default) with its own connections and limiter instance — on a private redis-server.
 * Prints throughput ÷ (C / L) and the turnover latency: from a holder starting to give its slot
 * back to the next holder's request being admitted.
 *
 *   npx tsx bench/gate-turnover.ts [--runs 600] [--workers 4] [--concurrency 10] [--slots 3] [--hold 50]
 *                                  [--mode both|before|after] [--wake promote|front] [--in-process]
 *
 * `before` runs the slot flow of the `main` branch (its limiter, loaded from git): acquire; refused →
 * park the run in the queue and promote it when a release wakes it; a Redis check before the
 * request. `after` runs this branch's: a run near the front of the line waits in process and gets
 * the slot with the hand-off notice; one further back is parked and promoted when a slot is handed
 * to it or it moves to the front; the request gate decides locally. `--in-process` runs the K
 * workers in this process (one event loop for all: more contention). `--wake front` (after only):
 * a woken run is promoted and then moved to the front of the waiting runs (BullMQ's LIFO
 * re-add), instead of behind every run still waiting to be taken up.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DelayedError, Job, Queue, QueueEvents, Worker, type Processor } from 'bullmq';
import { Redis } from 'ioredis';
import { sleep, withJitter } from '../src/core/time.js';
import { createRedisTenantLimiter, type RedisTenantLimiter } from '../src/limits/redis-limiter.js';
import { createRunSlots } from '../src/limits/run-slots.js';
import { startEmbeddedRedis } from '../src/queue/embedded-redis.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '600' },
    workers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '10' },
    slots: { type: 'string', default: '3' },
    hold: { type: 'string', default: '50' },
    mode: { type: 'string', default: 'both' },
    wake: { type: 'string', default: 'promote' },
    'in-process': { type: 'boolean', default: false },
    // Internal: this process is one worker of a measurement.
    child: { type: 'string' },
    url: { type: 'string' },
    prefix: { type: 'string' },
  },
});
const runs = Number(values.runs);
const workers = Number(values.workers);
const concurrency = Number(values.concurrency);
const slots = Number(values.slots);
const holdMs = Number(values.hold);
const leaseTtlMs = 30_000;
const key = { tenant: 'bench.onmicrosoft.com', service: 'exo' as const };
const root = path.resolve(import.meta.dirname, '..');
const mainLimiterDir = path.join(root, 'node_modules', '.cache', 'exorun-bench-main');
type Mode = 'before' | 'after';

/** High-resolution wall-clock ms: comparable across the processes of one machine. */
const now = (): number => performance.timeOrigin + performance.now();

/** What one worker saw; merged over all workers. */
interface Timeline {
  /** Per run: how long it actually held its slot (the simulated request overruns on a busy event loop). */
  held: number[];
  admitted: number[];
  releasing: number[];
  parked: number;
  limiter: Record<string, number>;
}

const emptyTimeline = (): Timeline => ({ held: [], admitted: [], releasing: [], parked: 0, limiter: {} });

interface RunningWorker {
  /** Forgets what was recorded so far (after the warm-up). */
  reset(): Promise<void>;
  /** Stops the worker and returns what it recorded. */
  stop(): Promise<Timeline>;
}

/** The `main` branch's limiter, exported from git next to node_modules so its imports resolve. */
function exportMainLimiter(): void {
  rmSync(mainLimiterDir, { recursive: true, force: true });
  mkdirSync(mainLimiterDir, { recursive: true });
  const archive = execFileSync('git', ['-C', root, 'archive', 'main', 'src/core', 'src/limits']);
  execFileSync('tar', ['-x', '-C', mainLimiterDir], { input: archive });
}

/** Parks a run in the queue (it holds no worker while it waits), as the worker does. */
async function park(job: Job, token: string, retryAfterMs: number, position: number, timeline: Timeline): Promise<void> {
  timeline.parked += 1;
  await job.updateProgress({ state: 'waiting-for-slot', position });
  await job.moveToDelayed(Date.now() + withJitter(Math.min(Math.max(retryAfterMs, 200), leaseTtlMs), 0.2), token);
}

/** One worker (BullMQ Worker + limiter instance, own connections) running the mode's slot flow. */
async function startWorker(mode: Mode, url: string, prefix: string): Promise<RunningWorker> {
  let timeline = emptyTimeline();
  const connection = new Redis(url);
  const queue = new Queue('runs', { connection, prefix });
  const toFront = mode === 'after' && values.wake === 'front';
  const wakeWaiters = async (_key: unknown, ids: string[]): Promise<void> => {
    await Promise.all(
      ids.map(async (id) => {
        const job = new Job(queue, 'wake', {}, {}, id);
        await job.promote().catch(() => undefined);
        if (toFront) await job.changePriority({ priority: 0, lifo: true }).catch(() => undefined);
      }),
    );
  };
  const hold = async (admittedAt: number, release: () => Promise<unknown>): Promise<void> => {
    timeline.admitted.push(admittedAt);
    await sleep(holdMs);
    const releasingAt = now();
    timeline.releasing.push(releasingAt);
    timeline.held.push(releasingAt - admittedAt);
    await release();
  };

  let processor: Processor;
  let limiterStats = (): Record<string, number> => ({});
  let closeLimiter = async (): Promise<void> => undefined;
  if (mode === 'before') {
    const module = (await import(path.join(mainLimiterDir, 'src', 'limits', 'redis-limiter.ts'))) as {
      createRedisTenantLimiter: (options: Record<string, unknown>) => {
        acquire: RedisTenantLimiter['acquire'];
        wouldGrant(key: unknown, waiterId: string, limit: number): Promise<boolean>;
      };
    };
    const limiter = module.createRedisTenantLimiter({ redis: connection, prefix, leaseTtlMs, waiterTtlMs: leaseTtlMs * 3, wakeWaiters });
    processor = async (job, token = '') => {
      const waiterId = job.id!;
      const acquired = await limiter.acquire(key, { holderId: `${waiterId}:${token}`, waiterId, limit: slots, queuedAtMs: job.timestamp });
      if (!acquired.granted) {
        await park(job, token, acquired.retryAfterMs, acquired.position, timeline);
        // A slot freed between the ask and the move would have found nobody to wake.
        if (await limiter.wouldGrant(key, waiterId, slots)) await job.promote().catch(() => undefined);
        throw new DelayedError();
      }
      const lease = acquired.lease as unknown as { assertHeld(): Promise<{ coolingMs: number }>; release(): Promise<boolean> };
      await lease.assertHeld();
      await hold(now(), () => lease.release());
    };
  } else {
    const limiter = createRedisTenantLimiter({ redis: connection, prefix, leaseTtlMs, waiterTtlMs: leaseTtlMs * 3, wakeWaiters });
    limiterStats = () => ({ ...limiter.stats() });
    closeLimiter = () => limiter.close();
    processor = async (job, token = '') => {
      const waiterId = job.id!;
      const runSlots = createRunSlots({
        limiter,
        tenant: key.tenant,
        limits: { exo: slots, ipps: slots },
        waiterId,
        holderBase: `${waiterId}:${token}`,
        queuedAtMs: job.timestamp,
        generation: job.attemptsStarted,
      });
      const held = await runSlots.holdFor('exo', { maxWaitMs: leaseTtlMs, queueIfBehind: true });
      if (!held.held) {
        await park(job, token, held.retryAfterMs, held.position, timeline);
        if (await limiter.wouldGrant(key, waiterId, slots)) await job.promote().catch(() => undefined);
        throw new DelayedError();
      }
      await held.lease.admit({ maxWaitMs: 30_000 });
      await hold(now(), () => runSlots.releaseAll());
    };
  }
  const worker = new Worker('runs', processor, { connection: new Redis(url, { maxRetriesPerRequest: null }), prefix, concurrency });
  await worker.waitUntilReady();
  let statsAtReset: Record<string, number> = {};
  return {
    async reset() {
      timeline = emptyTimeline();
      statsAtReset = limiterStats();
    },
    async stop() {
      await worker.close();
      const stats = limiterStats();
      timeline.limiter = Object.fromEntries(Object.entries(stats).map(([name, value]) => [name, value - (statsAtReset[name] ?? 0)]));
      await closeLimiter();
      await queue.close();
      connection.disconnect();
      return timeline;
    },
  };
}

/** The same worker in a child process, driven over IPC. */
async function startChildWorker(mode: Mode, url: string, prefix: string): Promise<RunningWorker> {
  const child: ChildProcess = fork(import.meta.filename, ['--child', mode, '--url', url, '--prefix', prefix, ...process.argv.slice(2)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (message: string): Promise<unknown> =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(message);
    });
  await new Promise((resolve) => child.once('message', resolve));
  return {
    reset: async () => void (await ask('reset')),
    stop: async () => (await ask('stop')) as Timeline,
  };
}

if (values.child) {
  const running = await startWorker(values.child as Mode, values.url!, values.prefix!);
  process.on('message', (message) => {
    if (message === 'reset') void running.reset().then(() => process.send?.('ok'));
    if (message === 'stop') void running.stop().then((timeline) => process.send?.(timeline, () => process.exit(0)));
  });
  process.send?.('ready');
} else {
  if (values.mode === 'both' || values.mode === 'before') exportMainLimiter();
  if (values.mode === 'both' || values.mode === 'before') await measure('before');
  if (values.mode === 'both' || values.mode === 'after') await measure('after');
  // BullMQ and ioredis leave handles behind; the figures are printed.
  process.exit(0);
}

async function measure(mode: Mode): Promise<void> {
  const redis = await startEmbeddedRedis();
  const prefix = `bench-${mode}`;
  const admin = new Redis(redis.url);
  const queue = new Queue('runs', { connection: admin, prefix });
  const events = new QueueEvents('runs', { connection: new Redis(redis.url, { maxRetriesPerRequest: null }), prefix });
  await events.waitUntilReady();
  const started = values['in-process'] ? startWorker : startChildWorker;
  const running = await Promise.all(Array.from({ length: workers }, () => started(mode, redis.url, prefix)));

  const finished: number[] = [];
  let completed = 0;
  let expected = workers * concurrency;
  let allDone: () => void = () => undefined;
  events.on('completed', () => {
    finished.push(now());
    completed += 1;
    if (completed === expected) allDone();
  });
  events.on('failed', ({ failedReason }) => {
    console.error(`a run failed: ${failedReason}`);
    process.exit(1);
  });
  // Warm-up: connections, scripts, code paths; not measured.
  await new Promise<void>((resolve) => {
    allDone = resolve;
    void queue.addBulk(Array.from({ length: expected }, (_, index) => ({ name: 'run', data: {}, opts: { jobId: `warm${index}` } })));
  });
  await Promise.all(running.map((worker) => worker.reset()));
  finished.length = 0;
  completed = 0;
  expected = runs;
  const statsOf = async (): Promise<Record<string, number>> => {
    const calls: Record<string, number> = {};
    for (const match of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
    return calls;
  };
  const commandsBefore = await statsOf();

  const queuedAt = now();
  await new Promise<void>((resolve) => {
    allDone = resolve;
    void queue.addBulk(Array.from({ length: runs }, (_, index) => ({ name: 'run', data: {}, opts: { jobId: `run${index}`, removeOnComplete: true } })));
  });
  const elapsedMs = Math.max(...finished) - queuedAt;
  const commandsAfter = await statsOf();
  const timelines = await Promise.all(running.map((worker) => worker.stop()));
  const merged = emptyTimeline();
  for (const timeline of timelines) {
    merged.held.push(...timeline.held);
    merged.admitted.push(...timeline.admitted);
    merged.releasing.push(...timeline.releasing);
    merged.parked += timeline.parked;
    for (const [name, value] of Object.entries(timeline.limiter)) merged.limiter[name] = (merged.limiter[name] ?? 0) + value;
  }

  // The k-th admission after the first C follows the (k - C)-th release: the slot it got.
  const admitted = merged.admitted.sort((a, b) => a - b);
  const releasing = merged.releasing.sort((a, b) => a - b);
  const handovers = admitted.slice(slots).map((at, index) => ({ at, ms: at - releasing[index]! }));
  const turnover = handovers.map((handover) => handover.ms).sort((a, b) => a - b);
  // While the runs queued at once are still being taken up (each joins the line and is parked),
  // a woken run waits behind them in the queue; after that the queue holds only parked runs.
  const fillEnd = (admitted[0] ?? 0) + 1_000;
  const afterFill = handovers.filter((handover) => handover.at > fillEnd).map((handover) => handover.ms);
  const bound = slots / (holdMs / 1000);
  const throughput = runs / (elapsedMs / 1000);
  const steadyMs = (releasing.at(-1) ?? 0) - (admitted[0] ?? 0);
  const steady = runs / (steadyMs / 1000);
  const mean = (list: number[]): number => list.reduce((sum, value) => sum + value, 0) / list.length;
  const percentile = (share: number): string => (turnover[Math.min(turnover.length - 1, Math.floor(share * turnover.length))] ?? Number.NaN).toFixed(1);
  const scripts = (commandsAfter['evalsha'] ?? 0) + (commandsAfter['eval'] ?? 0) - (commandsBefore['evalsha'] ?? 0) - (commandsBefore['eval'] ?? 0);
  const where = values['in-process'] ? 'in one process' : 'processes';
  const wake = mode === 'after' ? `, woken runs ${values.wake === 'front' ? 'moved to the front of the queue' : 'promoted'}` : '';
  console.log(`${mode}${wake}: ${runs} runs, C=${slots}, L=${holdMs} ms, ${workers} worker ${where} x concurrency ${concurrency}`);
  console.log(`  elapsed          ${(elapsedMs / 1000).toFixed(2)} s (ideal ${(runs / bound).toFixed(2)} s)`);
  console.log(
    `  throughput       ${throughput.toFixed(1)} runs/s, queuing to last completion; C/L = ${bound.toFixed(1)} runs/s; ratio ${(throughput / bound).toFixed(3)}`,
  );
  console.log(`  steady state     ${steady.toFixed(1)} runs/s, first admission to last release; ratio ${(steady / bound).toFixed(3)}`);
  console.log(`  slot held        ${mean(merged.held).toFixed(1)} ms on average (L = ${holdMs} ms); turnover ${mean(turnover).toFixed(2)} ms on average`);
  console.log(
    `  after 1st second turnover ${mean(afterFill).toFixed(2)} ms on average over ${afterFill.length} hand-overs; ${turnover.filter((ms) => ms > holdMs).length} hand-overs took longer than L`,
  );
  const slow = handovers
    .filter((handover) => handover.ms > holdMs)
    .map((handover) => `${Math.round(handover.ms)} ms at +${Math.round(handover.at - admitted[0]!)} ms`);
  if (slow.length > 0) console.log(`  longer than L    ${slow.join(', ')} (after the first admission)`);
  console.log(`  turnover ms      p50 ${percentile(0.5)}  p90 ${percentile(0.9)}  p99 ${percentile(0.99)}  max ${(turnover.at(-1) ?? Number.NaN).toFixed(1)}`);
  console.log(`  parked in queue  ${merged.parked} times; Lua scripts (all, BullMQ's included) ${(scripts / runs).toFixed(1)} per run`);
  if (mode === 'after') {
    const noticeGrants = merged.limiter['noticeGrants'] ?? 0;
    console.log(
      `  limiter          ${((merged.limiter['redisCalls'] ?? 0) / runs).toFixed(2)} scripts per run; ${noticeGrants} of ${runs} slots came with the hand-off notice`,
    );
  }
  await events.close();
  await queue.close();
  admin.disconnect();
  await redis.stop();
}
