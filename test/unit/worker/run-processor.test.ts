import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { ExorunConfig, TenantConfig } from '../../../src/config/model.js';
import { AppError } from '../../../src/core/errors.js';
import { createSilentLogger } from '../../../src/core/logger.js';
import type { AcquireRequest, AcquireResult, CmdletRequest, Lease, LeaseKey } from '../../../src/core/ports.js';
import { RETRY_LIMITS } from '../../../src/core/retry-policy.js';
import type { RunPlan } from '../../../src/core/run-plan.js';
import type { RedisTenantLimiter } from '../../../src/limits/index.js';
import { createRunProcessor } from '../../../src/worker/run-processor.js';
import type { TenantSession } from '../../../src/worker/tenant-sessions.js';
import { FakeExchange, FakeStore, fakeLease, makePlan, makeStep, page, type Script } from './fakes.js';

const tenant: TenantConfig = { name: 'contoso', organization: 'contoso.onmicrosoft.com', cloud: 'commercial', limits: { exo: 3, ipps: 3 } };
const config = { file: '/jobs.yaml', version: 1, outputDirectory: '/outputs', tenants: { contoso: tenant }, jobs: {}, warnings: [] } as unknown as ExorunConfig;

function runPlan(cmdlet = 'Get-Mailbox', extra: Partial<RunPlan> = {}): RunPlan {
  return makePlan([makeStep(cmdlet, { cmdlet })], { timezone: 'UTC' }, extra);
}

/** The parts of a BullMQ job the processor uses, recording what it was told to do. */
function fakeJob(data: unknown, options: { attemptsMade?: number; attempts?: number } = {}) {
  const calls: { delayedUntil?: number; data?: unknown; progress: unknown[]; promoted: number } = { progress: [], promoted: 0 };
  const job = {
    id: 'job.contoso.20261202T120000Z',
    data,
    timestamp: Date.now(),
    attemptsMade: options.attemptsMade ?? 0,
    attemptsStarted: (options.attemptsMade ?? 0) + 1,
    opts: { attempts: options.attempts ?? 3 },
    async updateProgress(progress: unknown) {
      calls.progress.push(progress);
    },
    async moveToDelayed(untilMs: number) {
      calls.delayedUntil = untilMs;
    },
    async updateData(value: unknown) {
      calls.data = value;
    },
    async promote() {
      calls.promoted += 1;
    },
  };
  return { job: job as unknown as Job, calls };
}

/** A limiter that grants, or puts the run at `position` in line; it records what was forgotten. */
function fakeLimiter(answer: 'grant' | { position: number; retryAfterMs: number } | AppError, options: { wouldGrant?: boolean } = {}) {
  const forgotten: string[] = [];
  const leases: Lease[] = [];
  const limiter = {
    async acquire(key: LeaseKey, request: AcquireRequest): Promise<AcquireResult> {
      if (answer instanceof AppError) throw answer;
      if (answer === 'grant') {
        const lease = fakeLease(key, request.holderId);
        leases.push(lease);
        return { granted: true, lease };
      }
      return { granted: false, ...answer };
    },
    async waitForSlot() {
      return undefined;
    },
    async tryAcquireFree() {
      return undefined;
    },
    async forgetWaiter(_key: LeaseKey, waiterId: string) {
      forgotten.push(waiterId);
    },
    async wouldGrant() {
      return options.wouldGrant ?? false;
    },
  };
  return { limiter: limiter as unknown as RedisTenantLimiter, forgotten, leases };
}

function processorWith(limiter: RedisTenantLimiter, script: (request: CmdletRequest) => Script, store = new FakeStore(), maxInProcessSlotWaits = 1) {
  const exchange = new FakeExchange(script);
  const processor = createRunProcessor({
    maxInProcessSlotWaits,
    config: () => config,
    sessions: { get: async () => ({ client: exchange }) as unknown as TenantSession },
    limiter,
    storeFor: () => store,
    logger: createSilentLogger(),
    maxSlotWaitMs: 5_000,
  });
  return { processor, exchange, store };
}

describe('the BullMQ adapter of a run', () => {
  it('runs the plan with the first slot held and returns the summary, giving every slot back', async () => {
    const { limiter, leases } = fakeLimiter('grant');
    const { processor, store } = processorWith(limiter, () => ({ pages: [page([{ a: 1 }, { a: 2 }])] }));
    const { job } = fakeJob(runPlan());
    await expect(processor(job, 'token')).resolves.toMatchObject({ status: 'succeeded', objectCount: 2 });
    expect(store.outputs[0]!.state).toBe('committed');
    expect(leases.every((lease) => (lease as ReturnType<typeof fakeLease>).released)).toBe(true);
  });

  it('parks a run far back in line in the queue, holding no worker, and promotes it if a slot was handed over meanwhile', async () => {
    const { limiter } = fakeLimiter({ position: 7, retryAfterMs: 900 }, { wouldGrant: true });
    const { processor, exchange } = processorWith(limiter, () => ({ pages: [] }));
    const { job, calls } = fakeJob(runPlan());
    const before = Date.now();
    await expect(processor(job, 'token')).rejects.toBeInstanceOf(DelayedError);
    expect(calls.delayedUntil).toBeGreaterThanOrEqual(before + 900);
    expect(calls.progress).toContainEqual({ state: 'waiting-for-slot', position: 7 });
    expect(calls.promoted).toBe(1);
    expect(exchange.requests).toHaveLength(0);
  });

  it('lets only so many runs wait in the process for their slot; the others park and free their worker slot', async () => {
    let releaseWait: (lease: undefined) => void = () => undefined;
    const waits: string[] = [];
    const { limiter } = fakeLimiter({ position: 0, retryAfterMs: 500 });
    (limiter as unknown as { waitForSlot: () => Promise<undefined> }).waitForSlot = () => {
      waits.push('wait');
      return new Promise((resolve) => (releaseWait = resolve));
    };
    const { processor } = processorWith(limiter, () => ({ pages: [] }), new FakeStore(), 1);
    const first = fakeJob(runPlan());
    const second = fakeJob(runPlan());
    const waiting = processor(first.job, 'token-1');
    // The first run waits in the process for the hand-off; the second may not, so it parks at once.
    await expect(processor(second.job, 'token-2')).rejects.toBeInstanceOf(DelayedError);
    expect(second.calls.delayedUntil).toBeDefined();
    expect(waits).toEqual(['wait']);
    releaseWait(undefined);
    await expect(waiting).rejects.toBeInstanceOf(DelayedError);
    expect(first.calls.delayedUntil).toBeDefined();
  });

  it('fails for good, without retries, when trying again cannot help, and leaves the line', async () => {
    const { limiter, forgotten } = fakeLimiter('grant');
    const { processor, store } = processorWith(limiter, () => ({ pages: [], error: new AppError('EXO_BAD_REQUEST', 'no such parameter') }));
    const { job } = fakeJob(runPlan());
    const error = await processor(job, 'token').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe('EXO_BAD_REQUEST: no such parameter');
    expect(store.outputs[0]!.state).toBe('failed');
    expect(forgotten).toEqual(['job.contoso.20261202T120000Z']);
  });

  it('spends an attempt on a transient failure (the next attempt starts over), and fails the output set on the last one', async () => {
    const error = new AppError('EXO_UNAVAILABLE', 'gateway');
    const first = processorWith(fakeLimiter('grant').limiter, () => ({ pages: [], error }));
    const retried = await first.processor(fakeJob(runPlan()).job, 'token').catch((caught: unknown) => caught);
    expect(retried).toBeInstanceOf(Error);
    expect(retried).not.toBeInstanceOf(UnrecoverableError);
    expect(retried).not.toBeInstanceOf(DelayedError);
    expect(first.store.outputs[0]!.state).toBe('abandoned');

    const last = processorWith(fakeLimiter('grant').limiter, () => ({ pages: [], error }));
    await expect(last.processor(fakeJob(runPlan(), { attemptsMade: 2, attempts: 3 }).job, 'token')).rejects.toThrow('EXO_UNAVAILABLE: gateway');
    expect(last.store.outputs[0]!.state).toBe('failed');
  });

  it('re-delays a throttled run as long as the service asked, without spending an attempt, counting the free delay', async () => {
    const { processor } = processorWith(fakeLimiter('grant').limiter, () => ({
      pages: [],
      error: new AppError('EXO_THROTTLED', 'slow down', { retryAfterMs: 60_000 }),
    }));
    const { job, calls } = fakeJob(runPlan('Get-Mailbox', { freeDelays: 2 }));
    const before = Date.now();
    await expect(processor(job, 'token')).rejects.toBeInstanceOf(DelayedError);
    expect(calls.delayedUntil).toBeGreaterThanOrEqual(before + 60_000);
    expect(calls.data).toMatchObject({ freeDelays: 3 });
  });

  it('spends an attempt instead once the free delays are used up', async () => {
    const { processor } = processorWith(fakeLimiter('grant').limiter, () => ({
      pages: [],
      error: new AppError('EXO_THROTTLED', 'x', { retryAfterMs: 1_000 }),
    }));
    const { job, calls } = fakeJob(runPlan('Get-Mailbox', { freeDelays: RETRY_LIMITS.maxFreeDelays }));
    await expect(processor(job, 'token')).rejects.toThrow('EXO_THROTTLED');
    expect(calls.delayedUntil).toBeUndefined();
  });

  it('hands a run interrupted by a shutdown or a Redis outage back to the queue at once, not counted as a free delay', async () => {
    const shutdown = new AbortController();
    shutdown.abort(new Error('shutdown'));
    const aborted = processorWith(fakeLimiter('grant').limiter, () => 'hang');
    const first = fakeJob(runPlan());
    await expect(aborted.processor(first.job, 'token', shutdown.signal)).rejects.toBeInstanceOf(DelayedError);
    expect(first.calls.delayedUntil).toBeDefined();
    expect(first.calls.data).toBeUndefined();

    const redisDown = processorWith(fakeLimiter(new AppError('REDIS_UNAVAILABLE', 'Redis is away')).limiter, () => ({ pages: [] }));
    const second = fakeJob(runPlan());
    const before = Date.now();
    await expect(redisDown.processor(second.job, 'token')).rejects.toBeInstanceOf(DelayedError);
    expect(second.calls.delayedUntil).toBeGreaterThanOrEqual(before + RETRY_LIMITS.requeueDelayMs);
    expect(second.calls.data).toBeUndefined();
  });

  it('refuses a run it cannot read, a tenant it does not know and a write the job does not allow, for good', async () => {
    const { processor, exchange } = processorWith(fakeLimiter('grant').limiter, () => ({ pages: [] }));
    await expect(processor(fakeJob({ v: 2, junk: true }).job, 't')).rejects.toThrow(/^QUEUE_PAYLOAD_INVALID/);
    await expect(processor(fakeJob(runPlan('Get-Mailbox', { tenant: 'fabrikam' })).job, 't')).rejects.toThrow(/^CFG_TENANT_UNKNOWN/);
    const write = processor(fakeJob(runPlan('Set-Mailbox')).job, 't');
    await expect(write).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(write).rejects.toThrow(/^CFG_WRITE_NOT_ALLOWED/);
    // A reading verb with a destructive parameter is a write too.
    const destructive = runPlan('Search-Mailbox');
    destructive.definition.steps[0]!.parameters = { DeleteContent: true };
    await expect(processor(fakeJob(destructive).job, 't')).rejects.toThrow(/^CFG_WRITE_NOT_ALLOWED/);
    expect(exchange.requests).toHaveLength(0);
  });
});
