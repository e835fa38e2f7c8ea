import { randomBytes } from 'node:crypto';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { ExorunConfig, TenantConfig } from '../config/index.js';
import { isReadOnlyCmdlet } from '../core/index.js';
import { AppError, toAppError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { ExorunMetrics } from '../core/index.js';
import type { OutputStore, ServiceName } from '../core/index.js';
import { decideRunOutcome, type RunOutcome } from '../core/index.js';
import type { RunPlan } from '../core/index.js';
import { withJitter } from '../core/index.js';
import { createRunSlots, type RedisTenantLimiter } from '../limits/index.js';
import { parseRunPayload } from '../queue/index.js';
import { executeRun, type RunSummary, type WindowStore } from './run/index.js';
import type { TenantSessions } from './tenant-sessions.js';

export type { RunSummary } from './run/index.js';

export interface RunProcessorDeps {
  config: () => ExorunConfig;
  sessions: TenantSessions;
  limiter: RedisTenantLimiter;
  /** Where windowed jobs keep the end of their last successful window. */
  windows?: WindowStore;
  /** The output store for an output root (one per job output directory). */
  storeFor: (directory: string) => OutputStore;
  logger: Logger;
  /**
   * Longest wait for the first slot: in this process when the run is near the front of the line
   * (its slot is due within one slot hold), otherwise between asks while it waits in the queue.
   */
  maxSlotWaitMs: number;
  /**
   * How many runs of this process may wait in it for their first slot at once. A waiting run holds
   * a worker slot that other tenants' runs could use: beyond this, a run parks in the queue even
   * near the front of its line. Default 1.
   */
  maxInProcessSlotWaits?: number;
  metrics?: ExorunMetrics;
}

/**
 * The BullMQ adapter of a run: job → plan, tenant and first slot; then `executeRun` (src/worker/run)
 * does the work through ports; then the outcome becomes BullMQ's: a result, a failure for good
 * (UnrecoverableError), a retry that spends an attempt (a thrown Error, BullMQ backs off), or a
 * re-delay that spends none (moveToDelayed + DelayedError). The retry policy decides which.
 *
 * A run that cannot get its first slot holds no worker slot: near the front of the line it waits
 * in this process for the slot to be handed over (no queue round trip); further back it goes back
 * to the queue as delayed and is promoted when its turn comes.
 */
export function createRunProcessor(deps: RunProcessorDeps) {
  /** Runs of this process waiting in it for their first slot now. */
  let slotWaits = 0;
  return async function processRun(job: Job, token?: string, signal?: AbortSignal): Promise<RunSummary> {
    let plan: RunPlan;
    let tenant: TenantConfig;
    try {
      plan = parseRunPayload(job.data);
      tenant = resolveTenant(deps.config(), plan);
    } catch (error) {
      const appError = toAppError(error);
      deps.logger.error({ runId: job.id, code: appError.code }, appError.message);
      throw new UnrecoverableError(describe(appError));
    }
    const logger = deps.logger.child({ job: plan.job, tenant: plan.tenant, runId: plan.runId, attempt: job.attemptsMade + 1 });
    const runToken = token ?? '';
    const waiterId = job.id ?? plan.runId;
    const slots = createRunSlots({
      limiter: deps.limiter,
      tenant: tenant.organization,
      limits: tenant.limits,
      waiterId,
      holderBase: `${waiterId}:${runToken}`,
      queuedAtMs: job.timestamp,
      generation: job.attemptsStarted,
    });
    const outcomeOf = (error: AppError): RunOutcome => decideRunOutcome(error, { freeDelaysSoFar: plan.freeDelays ?? 0 });
    const isFinal = (error: AppError): boolean => {
      const outcome = outcomeOf(error);
      return outcome.kind === 'fail' || (outcome.kind === 'retry' && job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
    };

    try {
      const first = plan.definition.steps[0];
      if (!first) throw new AppError('QUEUE_PAYLOAD_INVALID', `Run ${plan.runId} has no steps.`);
      // Near the front of its line a run waits here for the hand-off, unless as many runs of this
      // process already do: then it parks and leaves its worker slot to other tenants' runs.
      const mayWait = slotWaits < (deps.maxInProcessSlotWaits ?? 1);
      if (mayWait) slotWaits += 1;
      const hold = await slots
        .holdFor(first.service, { maxWaitMs: mayWait ? deps.maxSlotWaitMs : 0, queueIfBehind: true, ...(signal ? { signal } : {}) })
        .finally(() => {
          if (mayWait) slotWaits -= 1;
        });
      if (!hold.held) {
        await park(job, runToken, first.service, tenant, waiterId, hold, logger);
        throw new DelayedError();
      }
      const session = await deps.sessions.get(tenant);
      const config = deps.config();
      const outputRoot = config.jobs[plan.job]?.output.directory ?? config.outputDirectory;
      const summary = await executeRun(
        { plan, tenant, attempt: job.attemptsMade + 1, attemptId: randomBytes(6).toString('hex'), outputRoot, failureIsFinal: isFinal },
        {
          exchange: session.client,
          slots,
          store: deps.storeFor(outputRoot),
          ...(deps.windows ? { windows: deps.windows } : {}),
          progress: (report) => void job.updateProgress(report).catch(() => undefined),
          logger,
          ...(signal ? { shutdown: signal } : {}),
        },
      );
      logger.info({ objects: summary.objectCount, pages: summary.pageCount, durationMs: summary.durationMs }, 'run succeeded');
      deps.metrics?.runs.inc({ job: plan.job, tenant: plan.tenant, outcome: 'succeeded' });
      deps.metrics?.runDuration.observe({ job: plan.job, tenant: plan.tenant }, summary.durationMs / 1000);
      deps.metrics?.objects.inc({ job: plan.job, tenant: plan.tenant }, summary.objectCount);
      return summary;
    } catch (error) {
      if (error instanceof DelayedError) throw error;
      const appError = toAppError(error);
      const outcome = outcomeOf(appError);
      const final = isFinal(appError);
      logger[final ? 'error' : 'warn']({ code: appError.code, outcome: outcome.kind, details: appError.details }, appError.message);
      deps.metrics?.runs.inc({ job: plan.job, tenant: plan.tenant, outcome: final ? 'failed' : outcome.kind === 'delay' ? 'delayed' : 'retried' });
      if (final) await forgetPlaceInLine(deps.limiter, tenant, plan, waiterId);
      if (outcome.kind === 'fail') throw new UnrecoverableError(describe(appError));
      if (outcome.kind === 'delay') {
        // A shutdown or a Redis outage is not the run's fault: those re-delays are not counted.
        const counted = appError.code !== 'RUN_ABORTED' && appError.code !== 'REDIS_UNAVAILABLE';
        if (counted) await job.updateData({ ...plan, freeDelays: (plan.freeDelays ?? 0) + 1 });
        await job.moveToDelayed(Date.now() + outcome.delayMs, runToken);
        throw new DelayedError();
      }
      throw new Error(describe(appError), { cause: error });
    } finally {
      await slots.releaseAll().catch((error: unknown) => logger.warn({ err: error }, 'could not give a slot back; it expires on its own'));
    }
  };

  /**
   * Sends a run that is far back in line back to the queue, holding no worker slot, until its turn
   * is near: the limiter wakes it (the worker promotes it) as soon as it moves up to the front.
   */
  async function park(
    job: Job,
    runToken: string,
    service: ServiceName,
    tenant: TenantConfig,
    waiterId: string,
    hold: { retryAfterMs: number; position: number },
    logger: Logger,
  ): Promise<void> {
    const key = { tenant: tenant.organization, service };
    deps.metrics?.slotWaits.inc({ tenant: key.tenant, service: key.service });
    const delayMs = withJitter(Math.min(Math.max(hold.retryAfterMs, 200), deps.maxSlotWaitMs), 0.2);
    logger.debug({ position: hold.position, delayMs }, 'waiting in the queue for a slot');
    await job.updateProgress({ state: 'waiting-for-slot', position: hold.position });
    await job.moveToDelayed(Date.now() + delayMs, runToken);
    // A slot handed to this run between the ask and the move found a run that was not delayed yet
    // to wake: look once more.
    if (await deps.limiter.wouldGrant(key, waiterId, tenant.limits[service])) await job.promote().catch(() => undefined);
  }
}

/** A run that failed for good gives up its place in every line it may stand in. */
async function forgetPlaceInLine(limiter: RedisTenantLimiter, tenant: TenantConfig, plan: RunPlan, waiterId: string): Promise<void> {
  const services = new Set(plan.definition.steps.map((step) => step.service));
  await Promise.all([...services].map((service) => limiter.forgetWaiter({ tenant: tenant.organization, service }, waiterId).catch(() => undefined)));
}

function resolveTenant(config: ExorunConfig, plan: RunPlan): TenantConfig {
  const tenant = Object.hasOwn(config.tenants, plan.tenant) ? config.tenants[plan.tenant] : undefined;
  if (!tenant) {
    throw new AppError('CFG_TENANT_UNKNOWN', `Run ${plan.runId} is for tenant '${plan.tenant}', which this worker's ${config.file} does not define.`);
  }
  for (const step of plan.definition.steps) {
    if (!plan.definition.allowWrite && !isReadOnlyCmdlet(step.cmdlet, step.parameters)) {
      throw new AppError('CFG_WRITE_NOT_ALLOWED', `${step.cmdlet} can change the tenant and job ${plan.job} does not set allowWrite: true.`);
    }
  }
  return tenant;
}

/** BullMQ keeps only a message: start it with the code so operators can grep for it. */
function describe(error: AppError): string {
  return `${error.code}: ${error.message}`;
}
