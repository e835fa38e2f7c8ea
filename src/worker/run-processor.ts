import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { ExorunConfig, TenantConfig } from '../config/model.js';
import { isReadOnlyCmdlet } from '../core/cmdlets.js';
import { AppError, toAppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Lease, LeaseKey, Manifest, OutputStore, RunOutput } from '../core/ports.js';
import { localDate, sleep, withJitter } from '../core/time.js';
import type { ExorunMetrics } from '../core/metrics.js';
import type { RedisTenantLimiter } from '../limits/redis-limiter.js';
import { parseRunPayload, type RunPayload } from '../queue/payload.js';
import { manifestPath } from '../storage/index.js';
import { decideOutcome } from './outcome.js';
import type { TenantSessions } from './tenant-sessions.js';

/** What a completed run returns to BullMQ (and `exorun run --wait` prints). */
export interface RunSummary {
  runId: string;
  job: string;
  tenant: string;
  status: Manifest['status'];
  objectCount: number;
  pageCount: number;
  durationMs: number;
  warnings: number;
  /** Output root and the files, relative to it. */
  outputRoot: string;
  files: string[];
}

export interface RunProcessorDeps {
  config: () => ExorunConfig;
  sessions: TenantSessions;
  limiter: RedisTenantLimiter;
  /** The output store for an output root (one per job output directory). */
  storeFor: (directory: string) => OutputStore;
  logger: Logger;
  /** Longest wait between asks for a slot; wake-ups after a release usually come much sooner. */
  maxSlotWaitMs: number;
  /**
   * A cool-down after throttling up to this long is waited out in place (the run keeps its slot
   * and its paging cursor); a longer one re-delays the run. Default 30 s.
   */
  maxInPlaceCoolDownMs?: number;
  metrics?: ExorunMetrics;
}

/**
 * The worker's processor: payload → slot (lease) → token → cmdlet pages → output files. Every
 * failure becomes an AppError and then one BullMQ outcome: fail now, retry with backoff, or
 * re-delay without spending an attempt.
 */
export function createRunProcessor(deps: RunProcessorDeps) {
  return async function processRun(job: Job, token?: string, signal?: AbortSignal): Promise<RunSummary> {
    let payload: RunPayload;
    try {
      payload = parseRunPayload(job.data);
    } catch (error) {
      throw new UnrecoverableError(describe(toAppError(error)));
    }
    const logger = deps.logger.child({ job: payload.job, tenant: payload.tenant, runId: payload.runId, attempt: job.attemptsMade + 1 });
    const runToken = token ?? '';

    let tenant: TenantConfig;
    try {
      tenant = resolveTenant(deps.config(), payload);
    } catch (error) {
      const appError = toAppError(error);
      logger.error({ code: appError.code }, appError.message);
      throw new UnrecoverableError(describe(appError));
    }

    const key: LeaseKey = { tenant: tenant.organization, service: payload.definition.service as LeaseKey['service'] };
    const limit = tenant.limits[key.service];
    const waiterId = job.id ?? payload.runId;
    const acquired = await deps.limiter.acquire(key, { holderId: `${waiterId}:${runToken}`, waiterId, limit, queuedAtMs: job.timestamp });
    if (!acquired.granted) {
      deps.metrics?.slotWaits.inc({ tenant: key.tenant, service: key.service });
      const delayMs = withJitter(Math.min(Math.max(acquired.retryAfterMs, 200), deps.maxSlotWaitMs), 0.2);
      logger.debug({ position: acquired.position, delayMs }, 'waiting for a slot');
      await job.updateProgress({ state: 'waiting-for-slot', position: acquired.position });
      await job.moveToDelayed(Date.now() + delayMs, runToken);
      // A slot freed between our ask and the move would have found nobody to wake: check once more.
      if (await deps.limiter.wouldGrant(key, waiterId, limit)) await job.promote().catch(() => undefined);
      throw new DelayedError();
    }

    const lease = acquired.lease;
    let output: Promise<RunOutput> | undefined;
    try {
      const result = await execute({
        job,
        payload,
        tenant,
        key,
        lease,
        signal,
        logger,
        setOutput: (value) => {
          output = value;
        },
      });
      logger.info({ objects: result.objectCount, pages: result.pageCount, durationMs: result.durationMs }, 'run succeeded');
      deps.metrics?.runs.inc({ job: payload.job, tenant: payload.tenant, outcome: 'succeeded' });
      deps.metrics?.runDuration.observe({ job: payload.job, tenant: payload.tenant }, result.durationMs / 1000);
      deps.metrics?.objects.inc({ job: payload.job, tenant: payload.tenant }, result.objectCount);
      return result;
    } catch (error) {
      const appError = toAppError(lease.signal.aborted && !signal?.aborted ? (lease.signal.reason ?? error) : error);
      const outcome = decideOutcome(appError, { freeDelaysSoFar: payload.freeDelays ?? 0 });
      const finalFailure = outcome.kind === 'fail' || (outcome.kind === 'retry' && job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
      const opened = await output?.catch(() => undefined);
      if (finalFailure) await opened?.fail({ code: appError.code, message: appError.message }).catch(() => undefined);
      else await opened?.abandon().catch(() => undefined);
      logger[finalFailure ? 'error' : 'warn']({ code: appError.code, outcome: outcome.kind, details: appError.details }, appError.message);
      deps.metrics?.runs.inc({ job: payload.job, tenant: payload.tenant, outcome: finalFailure ? 'failed' : outcome.kind === 'delay' ? 'delayed' : 'retried' });
      if (outcome.kind === 'fail') throw new UnrecoverableError(describe(appError));
      if (outcome.kind === 'delay') {
        if (appError.code !== 'RUN_ABORTED') await job.updateData({ ...payload, freeDelays: (payload.freeDelays ?? 0) + 1 });
        await job.moveToDelayed(Date.now() + outcome.delayMs, runToken);
        throw new DelayedError();
      }
      throw new Error(describe(appError), { cause: error });
    } finally {
      await lease.release().catch((error: unknown) => logger.warn({ err: error }, 'could not release the slot; it expires on its own'));
    }
  };

  interface ExecuteInput {
    job: Job;
    payload: RunPayload;
    tenant: TenantConfig;
    key: LeaseKey;
    lease: Lease;
    signal: AbortSignal | undefined;
    logger: Logger;
    setOutput: (output: Promise<RunOutput>) => void;
  }

  async function execute(input: ExecuteInput): Promise<RunSummary> {
    const { job, payload, tenant, key, lease, logger } = input;
    const definition = payload.definition;
    const timeout = AbortSignal.timeout(definition.timeoutMs);
    const signals = [lease.signal, timeout, ...(input.signal ? [input.signal] : [])];
    const runSignal = AbortSignal.any(signals);
    const session = await deps.sessions.get(tenant);

    const config = deps.config();
    const outputRoot = config.jobs[payload.job]?.output.directory ?? config.outputDirectory;
    const anchorMs = Date.parse(payload.scheduledFor ?? payload.requestedAt);
    const folderDate = localDate(anchorMs, definition.timezone);
    // Opening the files runs while the first request is in flight: it is local work that need not
    // hold the tenant's slot.
    const outputPromise = deps.storeFor(outputRoot).begin({
      runId: payload.runId,
      job: payload.job,
      tenant: payload.tenant,
      service: serviceOf(definition.service),
      cmdlet: definition.cmdlet,
      parameters: definition.parameters,
      ...(definition.select === undefined ? {} : { select: definition.select }),
      formats: definition.formats as RunOutputFormats,
      ...(definition.csv === undefined ? {} : { csv: definition.csv }),
      ...(payload.scheduledFor === undefined ? {} : { scheduledFor: payload.scheduledFor }),
      localDate: folderDate,
      attempt: job.attemptsMade + 1,
      attemptId: randomBytes(6).toString('hex'),
    });
    input.setOutput(outputPromise);
    // Marked handled at once: its failure is read where it is awaited, or in the error path.
    outputPromise.catch(() => undefined);

    const maxInPlaceCoolDownMs = deps.maxInPlaceCoolDownMs ?? 30_000;
    // Before every request: still our slot (fencing), and the key is not cooling down after throttling.
    const beforeRequest = async (): Promise<void> => {
      const { coolingMs } = await lease.assertHeld();
      if (coolingMs <= 0) {
        logger.debug({ holderId: lease.holderId }, 'request allowed');
        return;
      }
      if (coolingMs > maxInPlaceCoolDownMs) {
        throw new AppError(
          'EXO_THROTTLED',
          `${tenant.name} (${key.service}) is cooling down for ${Math.ceil(coolingMs / 1000)} s after throttling; the run waits in the queue.`,
          {
            retryAfterMs: coolingMs,
          },
        );
      }
      await sleep(coolingMs, runSignal);
      await beforeRequest();
    };

    let pages = 0;
    let objects = 0;
    try {
      const pageStream = session.client.invoke(
        {
          tenant: tenant.tenantId ?? tenant.organization,
          service: serviceOf(definition.service),
          cmdlet: definition.cmdlet,
          parameters: definition.parameters,
          ...(definition.select === undefined ? {} : { select: definition.select }),
          pageSize: definition.pageSize,
        },
        { signal: runSignal, beforeRequest },
      );
      let released = false;
      const release = async (): Promise<void> => {
        released = true;
        // Atomic: an attempt that lost its slot must not commit over the one that replaced it.
        if (!(await lease.release())) {
          throw new AppError('LIMIT_LEASE_LOST', `Lost the ${key.service} slot for ${tenant.name} before the run finished; it will be retried.`);
        }
      };
      let lastProgressMs = 0;
      for await (const page of pageStream) {
        // Nothing more to send: give the slot back before writing the last page and committing.
        if (page.last) await release();
        await (await outputPromise).writePage(page);
        pages += 1;
        objects += page.objects.length;
        // At most once a second, and not awaited: progress must not cost a round trip per page.
        if (page.last || Date.now() - lastProgressMs >= 1_000) {
          lastProgressMs = Date.now();
          job.updateProgress({ state: 'running', pages, objects }).catch(() => undefined);
        }
      }
      if (!released) await release();
    } catch (error) {
      if (timeout.aborted && !lease.signal.aborted) {
        throw new AppError('RUN_TIMEOUT', `The run exceeded its timeout of ${Math.round(definition.timeoutMs / 1000)} s and was stopped.`, { cause: error });
      }
      if (input.signal?.aborted) throw new AppError('RUN_ABORTED', 'The worker is shutting down; the run will be picked up again.', { cause: error });
      throw error;
    }
    const manifest = await (await outputPromise).commit();
    logger.debug({ files: manifest.files.map((file) => file.path) }, 'output committed');
    return {
      runId: payload.runId,
      job: payload.job,
      tenant: payload.tenant,
      status: manifest.status,
      objectCount: manifest.objectCount,
      pageCount: manifest.pageCount,
      durationMs: manifest.durationMs,
      warnings: manifest.warnings.length,
      outputRoot,
      files: [
        ...manifest.files.map((file) => file.path),
        path
          .relative(outputRoot, manifestPath(outputRoot, { job: payload.job, localDate: folderDate, runId: payload.runId }))
          .split(path.sep)
          .join('/'),
      ],
    };
  }
}

type RunOutputFormats = Parameters<OutputStore['begin']>[0]['formats'];

function serviceOf(service: string): LeaseKey['service'] {
  return service === 'ipps' ? 'ipps' : 'exo';
}

function resolveTenant(config: ExorunConfig, payload: RunPayload): TenantConfig {
  const tenant = config.tenants[payload.tenant];
  if (!tenant) {
    throw new AppError('CFG_TENANT_UNKNOWN', `Run ${payload.runId} is for tenant '${payload.tenant}', which this worker's ${config.file} does not define.`);
  }
  if (!payload.definition.allowWrite && !isReadOnlyCmdlet(payload.definition.cmdlet)) {
    throw new AppError('CFG_WRITE_NOT_ALLOWED', `${payload.definition.cmdlet} can change the tenant and job ${payload.job} does not set allowWrite: true.`);
  }
  return tenant;
}

/** BullMQ keeps only a message: start it with the code so operators can grep for it. */
function describe(error: AppError): string {
  return `${error.code}: ${error.message}`;
}
