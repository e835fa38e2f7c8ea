import { randomBytes } from 'node:crypto';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { ExorunConfig, TenantConfig } from '../config/model.js';
import { isReadOnlyCmdlet } from '../core/cmdlets.js';
import { AppError, toAppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CmdletPage, CommittedOutput, Lease, LeaseKey, OutputStore, RunOutput } from '../core/ports.js';
import { decideRunOutcome, failsOnlyTheItem } from '../core/retry-policy.js';
import { localDate, sleep, withJitter } from '../core/time.js';
import type { ExorunMetrics } from '../core/metrics.js';
import { computeWindow, itemFailuresExceeded, resolveParameters, usesWindow, type RunWindow, type TemplateContext } from '../jobs/index.js';
import type { RedisTenantLimiter } from '../limits/redis-limiter.js';
import { parseRunPayload, type RunPayload, type RunStep } from '../queue/payload.js';
import type { RunWindowStore } from '../queue/run-windows.js';
import type { TenantSession, TenantSessions } from './tenant-sessions.js';

/** What a completed run returns to BullMQ (and `exorun run --wait` prints). */
export interface RunSummary {
  runId: string;
  job: string;
  tenant: string;
  status: 'succeeded';
  /** Objects written by all steps. */
  objectCount: number;
  pageCount: number;
  durationMs: number;
  warnings: number;
  /** Output root and the files, relative to it (every step's data files and manifests). */
  outputRoot: string;
  files: string[];
  /** forEach items that failed (within maxItemFailures); absent when the job has no forEach step. */
  itemFailures?: number;
  /** The interval a windowed run read. */
  window?: { start: string; end: string };
}

export interface RunProcessorDeps {
  config: () => ExorunConfig;
  sessions: TenantSessions;
  limiter: RedisTenantLimiter;
  /** Where windowed jobs keep the end of their last successful window; required for jobs with initialWindow. */
  windows?: RunWindowStore;
  /** The output store for an output root (one per job output directory). */
  storeFor: (directory: string) => OutputStore;
  logger: Logger;
  /** Longest wait between asks for a slot; wake-ups after a release usually come much sooner. */
  maxSlotWaitMs: number;
  metrics?: ExorunMetrics;
}

/** How often a forEach step asks for one more free slot while it has items left. */
const EXTRA_SLOT_ASK_INTERVAL_MS = 250;

/**
 * The worker's processor: payload → slot (lease) → token → each step's cmdlet pages → output
 * files. Every failure becomes an AppError and then one BullMQ outcome: fail now, retry with
 * backoff, or re-delay without spending an attempt.
 *
 * Slots: the run waits in the queue (holding no worker slot) for one slot of its first step's
 * (tenant, service). A forEach step adds slots of the same key only while they are free for
 * nobody else, never waiting for them, and gives each back when it runs out of items. A later
 * step on another service gives its slot back first and then waits for one of that service, so
 * the run never waits while holding a slot.
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

    const firstStep = payload.definition.steps[0] as RunStep;
    const key: LeaseKey = { tenant: tenant.organization, service: serviceOf(firstStep.service) };
    const limit = tenant.limits[key.service];
    const waiterId = job.id ?? payload.runId;
    const holderBase = `${waiterId}:${runToken}`;
    const acquired = await deps.limiter.acquire(key, { holderId: holderBase, waiterId, limit, queuedAtMs: job.timestamp });
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

    const slots: RunSlots = { current: acquired.lease, all: new Set([acquired.lease]) };
    let output: Promise<RunOutput> | undefined;
    try {
      const result = await execute({
        job,
        payload,
        tenant,
        slots,
        holderBase,
        waiterId,
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
      const lease = slots.current;
      const appError = toAppError(lease.signal.aborted && !signal?.aborted ? (lease.signal.reason ?? error) : error);
      const outcome = decideRunOutcome(appError, { freeDelaysSoFar: payload.freeDelays ?? 0 });
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
      await Promise.all(
        [...slots.all].map((lease) =>
          lease.release().catch((error: unknown) => logger.warn({ err: error }, 'could not release a slot; it expires on its own')),
        ),
      );
    }
  };

  /** The slots a run holds: `current` serves its sequential requests; forEach adds short-lived extras to `all`. */
  interface RunSlots {
    current: Lease;
    all: Set<Lease>;
  }

  interface ExecuteInput {
    job: Job;
    payload: RunPayload;
    tenant: TenantConfig;
    slots: RunSlots;
    holderBase: string;
    waiterId: string;
    signal: AbortSignal | undefined;
    logger: Logger;
    setOutput: (output: Promise<RunOutput>) => void;
  }

  /** What every step of one run shares. */
  interface RunScope extends ExecuteInput {
    session: TenantSession;
    runSignal: AbortSignal;
    outputRoot: string;
    folderDate: string;
    attemptId: string;
    templates: TemplateContext;
    window: RunWindow | undefined;
    progress: { pages: number; objects: number; lastMs: number };
  }

  /** A committed step, and the store that holds it (a later forEach reads its objects back there). */
  interface StepResult {
    committed: CommittedOutput;
    store: OutputStore;
  }

  async function execute(input: ExecuteInput): Promise<RunSummary> {
    const { payload, tenant, logger } = input;
    const definition = payload.definition;
    const startedMs = Date.now();
    const timeout = AbortSignal.timeout(definition.timeoutMs);
    const runSignal = AbortSignal.any([timeout, ...(input.signal ? [input.signal] : [])]);
    const config = deps.config();
    const outputRoot = config.jobs[payload.job]?.output.directory ?? config.outputDirectory;
    const anchorMs = Date.parse(payload.scheduledFor ?? payload.requestedAt);
    const { window, lastEndMs } = await windowOf(payload, anchorMs);
    const scope: RunScope = {
      ...input,
      session: await deps.sessions.get(tenant),
      runSignal,
      outputRoot,
      folderDate: localDate(anchorMs, definition.timezone),
      attemptId: randomBytes(6).toString('hex'),
      window,
      templates: {
        job: payload.job,
        runId: payload.runId,
        tenant: { name: tenant.name, organization: tenant.organization, ...(tenant.tenantId === undefined ? {} : { tenantId: tenant.tenantId }) },
        nowMs: anchorMs,
        ...(window === undefined ? {} : { window }),
      },
      progress: { pages: 0, objects: 0, lastMs: 0 },
    };

    const results = new Map<string, StepResult>();
    try {
      for (const [index, step] of definition.steps.entries()) {
        await holdSlotFor(scope, step);
        const isLast = index === definition.steps.length - 1;
        const result =
          step.forEach === undefined ? await runPlainStep(scope, step, isLast) : await runForEachStep(scope, step, results.get(step.forEach), isLast);
        results.set(step.name, result);
      }
    } catch (error) {
      if (timeout.aborted && !input.slots.current.signal.aborted) {
        throw new AppError('RUN_TIMEOUT', `The run exceeded its timeout of ${Math.round(definition.timeoutMs / 1000)} s and was stopped.`, { cause: error });
      }
      if (input.signal?.aborted) throw new AppError('RUN_ABORTED', 'The worker is shutting down; the run will be picked up again.', { cause: error });
      throw error;
    }

    if (window && deps.windows) {
      const advanced = await deps.windows.advance(payload.job, payload.tenant, lastEndMs, window.endMs);
      if (!advanced) {
        logger.warn({ window: isoWindow(window) }, 'another run of this job moved the window meanwhile; this run does not move it (use overlap: skip)');
      }
    }

    const manifests = [...results.values()].map((result) => result.committed);
    const itemFailures = manifests.reduce((sum, manifest) => sum + (manifest.items?.failed ?? 0), 0);
    const hasForEach = definition.steps.some((step) => step.forEach !== undefined);
    return {
      runId: payload.runId,
      job: payload.job,
      tenant: payload.tenant,
      status: 'succeeded',
      objectCount: manifests.reduce((sum, manifest) => sum + manifest.objectCount, 0),
      pageCount: manifests.reduce((sum, manifest) => sum + manifest.pageCount, 0),
      durationMs: Date.now() - startedMs,
      warnings: manifests.reduce((sum, manifest) => sum + manifest.warningCount, 0),
      outputRoot,
      files: manifests.flatMap((manifest) => [...manifest.files.map((file) => file.path), manifest.manifestPath]),
      ...(hasForEach ? { itemFailures } : {}),
      ...(window === undefined ? {} : { window: isoWindow(window) }),
    };
  }

  /** The window of a windowed run: from the last success's end (Redis) to the run's fire/request time. */
  async function windowOf(payload: RunPayload, anchorMs: number): Promise<{ window?: RunWindow; lastEndMs?: number }> {
    const initialWindowMs = payload.definition.initialWindowMs;
    if (initialWindowMs === undefined || !payload.definition.steps.some((step) => usesWindow(step.parameters))) return {};
    if (!deps.windows) throw new AppError('INTERNAL', 'This worker has no window store, so it cannot run windowed jobs.');
    const lastEndMs = await deps.windows.lastEnd(payload.job, payload.tenant);
    const window = computeWindow({ lastEndMs, initialWindowMs, endMs: anchorMs });
    return lastEndMs === undefined ? { window } : { window, lastEndMs };
  }

  /** Makes `slots.current` a slot of the step's service: kept when it already is, else swapped without holding one while waiting. */
  async function holdSlotFor(scope: RunScope, step: RunStep): Promise<void> {
    const service = serviceOf(step.service);
    const held = scope.slots.current;
    if (held.key.service === service && !held.signal.aborted) return;
    scope.slots.all.delete(held);
    if (!(await held.release())) throw leaseLost(scope, held.key);
    const key: LeaseKey = { tenant: scope.tenant.organization, service };
    const limit = scope.tenant.limits[service];
    const waiterId = `${scope.waiterId}:${step.name}`;
    const holderId = `${scope.holderBase}:${step.name}`;
    for (;;) {
      const acquired = await deps.limiter.acquire(key, { holderId, waiterId, limit, queuedAtMs: scope.job.timestamp });
      if (acquired.granted) {
        scope.slots.current = acquired.lease;
        scope.slots.all.add(acquired.lease);
        return;
      }
      deps.metrics?.slotWaits.inc({ tenant: key.tenant, service: key.service });
      try {
        await sleep(withJitter(Math.min(Math.max(acquired.retryAfterMs, 200), deps.maxSlotWaitMs), 0.2), scope.runSignal);
      } catch (error) {
        await deps.limiter.forgetWaiter(key, waiterId).catch(() => undefined);
        throw error;
      }
    }
  }

  /** Opens the output set of a step; the run's error path fails or abandons the one open at the time. */
  function beginStep(scope: RunScope, step: RunStep, parameters: Record<string, unknown>): Promise<RunOutput> {
    const { payload } = scope;
    const opening = deps.storeFor(scope.outputRoot).begin({
      runId: payload.runId,
      job: payload.job,
      tenant: payload.tenant,
      service: serviceOf(step.service),
      cmdlet: step.cmdlet,
      parameters,
      ...(step.select === undefined ? {} : { select: step.select }),
      formats: step.formats as RunOutputFormats,
      ...(payload.definition.csv === undefined ? {} : { csv: payload.definition.csv }),
      ...(payload.scheduledFor === undefined ? {} : { scheduledFor: payload.scheduledFor }),
      localDate: scope.folderDate,
      attempt: scope.job.attemptsMade + 1,
      attemptId: scope.attemptId,
      ...(payload.definition.namedSteps ? { step: step.name } : {}),
      ...(scope.window === undefined ? {} : { window: isoWindow(scope.window) }),
    });
    scope.setOutput(opening);
    // Marked handled at once: its failure is read where it is awaited, or in the error path.
    opening.catch(() => undefined);
    return opening;
  }

  function invokeStep(scope: RunScope, step: RunStep, parameters: Record<string, unknown>, lease: Lease, signal: AbortSignal): AsyncIterable<CmdletPage> {
    return scope.session.client.invoke(
      {
        tenant: scope.tenant.tenantId ?? scope.tenant.organization,
        service: serviceOf(step.service),
        cmdlet: step.cmdlet,
        parameters,
        ...(step.select === undefined ? {} : { select: step.select }),
        pageSize: step.pageSize,
      },
      { signal: AbortSignal.any([signal, lease.signal]), gate: lease },
    );
  }

  function reportProgress(scope: RunScope, page: CmdletPage, step: RunStep): void {
    const progress = scope.progress;
    progress.pages += 1;
    progress.objects += page.objects.length;
    // At most once a second, and not awaited: progress must not cost a round trip per page.
    if (page.last || Date.now() - progress.lastMs >= 1_000) {
      progress.lastMs = Date.now();
      scope.job.updateProgress({ state: 'running', step: step.name, pages: progress.pages, objects: progress.objects }).catch(() => undefined);
    }
  }

  /** One cmdlet call, its pages streamed into the step's files. The last step gives its slot back before the last write. */
  async function runPlainStep(scope: RunScope, step: RunStep, isLastStep: boolean): Promise<StepResult> {
    const parameters = resolveParameters(step.parameters, scope.templates);
    const outputPromise = beginStep(scope, step, parameters);
    const lease = scope.slots.current;
    let released = false;
    for await (const page of invokeStep(scope, step, parameters, lease, scope.runSignal)) {
      // Nothing more to send in this run: give the slot back before writing the last page and committing.
      if (page.last && isLastStep) {
        released = true;
        // Atomic: an attempt that lost its slot must not commit over the one that replaced it.
        if (!(await lease.release())) throw leaseLost(scope, lease.key);
      }
      await (await outputPromise).writePage(page);
      reportProgress(scope, page, step);
    }
    if (isLastStep && !released && !(await lease.release())) throw leaseLost(scope, lease.key);
    return commitStep(scope, step, await outputPromise);
  }

  async function commitStep(scope: RunScope, step: RunStep, output: RunOutput): Promise<StepResult> {
    const committed = await output.commit();
    scope.logger.debug({ step: step.name, files: committed.files.map((file) => file.path) }, 'output committed');
    return { committed, store: deps.storeFor(scope.outputRoot) };
  }

  /**
   * The step's cmdlet once per object of an earlier step, read line by line from that step's JSONL
   * file (the list is never held in memory). Lanes run items in parallel, one per held slot: the
   * run's own slot plus extras taken only while free. An item's pages are kept until it completes
   * and then written together, so a failed item leaves no partial records and each item's records
   * stay together. An item that fails is counted and listed in the step's manifest; more failures
   * than maxItemFailures fail the run (RUN_ITEM_FAILURES).
   */
  async function runForEachStep(scope: RunScope, step: RunStep, source: StepResult | undefined, isLastStep: boolean): Promise<StepResult> {
    if (!source) throw new AppError('INTERNAL', `Step ${step.name} iterates over ${step.forEach ?? '?'}, which did not run before it.`);
    const output = await beginStep(scope, step, step.parameters);
    const items = source.store.readObjects(source.committed);
    const stop = new AbortController();
    const stepSignal = AbortSignal.any([scope.runSignal, stop.signal]);
    const key = scope.slots.current.key;
    const limit = scope.tenant.limits[key.service];
    let stopError: AppError | undefined;
    let itemsDone = false;
    let total = 0;
    let failed = 0;
    let writing: Promise<void> = Promise.resolve();
    const lanes: Promise<void>[] = [];
    let lastAskMs = 0;
    let extraCount = 0;

    const halt = (error: unknown): void => {
      stopError ??= toAppError(error);
      stop.abort(stopError);
    };

    const processItem = async (item: Record<string, unknown>, index: number, lease: Lease): Promise<void> => {
      let label = `#${index + 1}`;
      try {
        const parameters = resolveParameters(step.parameters, { ...scope.templates, item });
        label = itemLabel(parameters, step, index);
        const pages: CmdletPage[] = [];
        for await (const page of invokeStep(scope, step, parameters, lease, stepSignal)) pages.push(page);
        // One writer at a time: a step's files take pages in order.
        const write = writing.then(async () => {
          for (const page of pages) {
            await output.writePage(page);
            reportProgress(scope, page, step);
          }
        });
        writing = write.catch(() => undefined);
        await write;
        output.recordItem({ ok: true });
      } catch (error) {
        const appError = toAppError(error);
        if (stepSignal.aborted || !failsOnlyTheItem(appError)) throw appError;
        failed += 1;
        output.recordItem({ ok: false, item: label, code: appError.code, message: appError.message });
        scope.logger.warn({ step: step.name, item: label, code: appError.code }, `item failed: ${appError.message}`);
      }
    };

    const lane = async (lease: Lease, extra: boolean): Promise<void> => {
      try {
        while (!stopError) {
          const next = await items.next();
          if (next.done) {
            itemsDone = true;
            return;
          }
          const index = total;
          total += 1;
          askForExtraSlot();
          await processItem(next.value, index, lease);
        }
      } catch (error) {
        halt(error);
      } finally {
        if (extra) {
          scope.slots.all.delete(lease);
          // The release doubles as the last fencing check of everything this lane sent.
          if (!(await lease.release().catch(() => false)) && !stopError) halt(leaseLost(scope, lease.key));
        }
      }
    };

    // Extra slots are asked for while items remain, at most every EXTRA_SLOT_ASK_INTERVAL_MS, and
    // only granted when no other run waits for the key: a fan-out never delays another run.
    const askForExtraSlot = (): void => {
      if (itemsDone || stopError || lanes.length >= limit || Date.now() - lastAskMs < EXTRA_SLOT_ASK_INTERVAL_MS) return;
      lastAskMs = Date.now();
      extraCount += 1;
      const holderId = `${scope.holderBase}:${step.name}:x${extraCount}`;
      lanes.push(
        deps.limiter.tryAcquireFree(key, { holderId, limit }).then(
          async (lease) => {
            if (!lease) return;
            scope.slots.all.add(lease);
            scope.logger.debug({ step: step.name, lanes: lanes.length }, 'extra slot for forEach');
            await lane(lease, true);
          },
          (error: unknown) => scope.logger.warn({ err: error }, 'could not ask for an extra slot; continuing with the slots held'),
        ),
      );
    };

    lanes.push(lane(scope.slots.current, false));
    // Lanes are added while others run: wait until no new one appeared.
    for (let waited = 0; waited < lanes.length;) {
      const batch = lanes.slice(waited);
      waited = lanes.length;
      await Promise.all(batch);
    }
    await items.return?.(undefined);
    await writing;
    if (stopError) throw stopError;

    const limitText =
      'count' in scope.payload.definition.maxItemFailures
        ? `${scope.payload.definition.maxItemFailures.count}`
        : `${scope.payload.definition.maxItemFailures.percent}%`;
    if (itemFailuresExceeded(scope.payload.definition.maxItemFailures, failed, total)) {
      throw new AppError(
        'RUN_ITEM_FAILURES',
        `${failed} of ${total} item(s) of step ${step.name} failed (maxItemFailures: ${limitText}); the step's manifest lists them.`,
        { details: { step: step.name, failed, total } },
      );
    }
    if (failed > 0) scope.logger.warn({ step: step.name, failed, total }, `some items failed, within maxItemFailures (${limitText})`);
    if (isLastStep) {
      const lease = scope.slots.current;
      // As for a plain last step: the release is the fencing check before the commit.
      if (!(await lease.release())) throw leaseLost(scope, lease.key);
    }
    return commitStep(scope, step, output);
  }
}

/** Names a forEach item in the manifest: the value its first templated parameter got (e.g. the Identity). */
function itemLabel(parameters: Record<string, unknown>, step: RunStep, index: number): string {
  for (const [name, value] of Object.entries(step.parameters)) {
    if (typeof value === 'string' && value.includes('${item.')) {
      const resolved = parameters[name];
      return typeof resolved === 'string' ? resolved : JSON.stringify(resolved);
    }
  }
  return `#${index + 1}`;
}

function leaseLost(scope: { tenant: TenantConfig }, key: LeaseKey): AppError {
  return new AppError('LIMIT_LEASE_LOST', `Lost the ${key.service} slot for ${scope.tenant.name} before the run finished; it will be retried.`);
}

function isoWindow(window: RunWindow): { start: string; end: string } {
  return { start: new Date(window.startMs).toISOString(), end: new Date(window.endMs).toISOString() };
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
  for (const step of payload.definition.steps) {
    if (!payload.definition.allowWrite && !isReadOnlyCmdlet(step.cmdlet, step.parameters)) {
      throw new AppError('CFG_WRITE_NOT_ALLOWED', `${step.cmdlet} can change the tenant and job ${payload.job} does not set allowWrite: true.`);
    }
  }
  return tenant;
}

/** BullMQ keeps only a message: start it with the code so operators can grep for it. */
function describe(error: AppError): string {
  return `${error.code}: ${error.message}`;
}
