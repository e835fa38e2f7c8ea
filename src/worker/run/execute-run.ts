import { AppError, isAppError, toAppError } from '../../core/index.js';
import type { CmdletPage, CommittedOutput, RunOutput } from '../../core/index.js';
import type { RunStep } from '../../core/index.js';
import { localDate } from '../../core/index.js';
import { computeWindow, usesWindow, type RunWindow } from '../../jobs/index.js';
import { runForEachStep } from './for-each-step.js';
import { runPlainStep } from './plain-step.js';
import type { StepContext } from './step-context.js';
import type { RunAttempt, RunPorts, RunSummary } from './types.js';

/** Progress is reported at most this often (and for every last page): never a round trip per page. */
const PROGRESS_INTERVAL_MS = 1_000;

/**
 * Runs every step of one attempt, in order, through the ports: each step's slot (the first one is
 * held when this starts; a step of another service swaps it without holding one while waiting),
 * its cmdlet's pages into its output set, committed step by step; then the window moves on.
 *
 * On failure the output set open at the time is failed (a final failure: a failure manifest) or
 * abandoned (the run will be tried again), and the error is thrown as an AppError: RUN_TIMEOUT
 * when the run's time ran out, RUN_ABORTED on shutdown, LIMIT_LEASE_LOST when a slot was lost.
 */
export async function executeRun(attempt: RunAttempt, ports: RunPorts): Promise<RunSummary> {
  const { plan } = attempt;
  const definition = plan.definition;
  const startedMs = Date.now();
  const timeout = AbortSignal.timeout(definition.timeoutMs);
  const signal = AbortSignal.any([timeout, ...(ports.shutdown ? [ports.shutdown] : [])]);
  const anchorMs = Date.parse(plan.scheduledFor ?? plan.requestedAt);
  let open: Promise<RunOutput> | undefined;

  try {
    const { window, lastEndMs } = await windowOf(attempt, ports, anchorMs);
    const context = stepContext(attempt, ports, signal, anchorMs, window, (output) => {
      open = output;
    });
    const committed: { step: RunStep; output: CommittedOutput }[] = [];
    for (const [index, step] of definition.steps.entries()) {
      const hold = await ports.slots.holdFor(step.service, { maxWaitMs: Number.POSITIVE_INFINITY, signal });
      if (!hold.held) throw new AppError('INTERNAL', `No ${step.service} slot for step ${step.name}.`);
      const isLast = index === definition.steps.length - 1;
      const output =
        step.forEach === undefined ? await runPlainStep(context, step, isLast) : await runForEachStep(context, step, sourceOf(step, committed), isLast);
      open = undefined;
      committed.push({ step, output });
    }
    if (window && ports.windows) {
      const advanced = await ports.windows.advance(plan.job, plan.tenant, lastEndMs, window.endMs);
      if (!advanced) {
        ports.logger.warn({ window: isoWindow(window) }, 'another run of this job moved the window meanwhile; this run does not move it (use overlap: skip)');
      }
    }
    return summaryOf(attempt, committed, Date.now() - startedMs, window);
  } catch (error) {
    const appError = runError(error, { timeout, shutdown: ports.shutdown, timeoutMs: definition.timeoutMs, ports });
    const output = await open?.catch(() => undefined);
    if (attempt.failureIsFinal(appError)) await output?.fail({ code: appError.code, message: appError.message }).catch(() => undefined);
    else await output?.abandon().catch(() => undefined);
    throw appError;
  }
}

function stepContext(
  attempt: RunAttempt,
  ports: RunPorts,
  signal: AbortSignal,
  anchorMs: number,
  window: RunWindow | undefined,
  onOpen: (output: Promise<RunOutput>) => void,
): StepContext {
  const { plan, tenant } = attempt;
  const folderDate = localDate(anchorMs, plan.definition.timezone);
  const progress = { pages: 0, objects: 0, lastMs: 0 };
  return {
    attempt,
    ports,
    signal,
    folderDate,
    window,
    templates: {
      job: plan.job,
      runId: plan.runId,
      tenant: { name: tenant.name, organization: tenant.organization, ...(tenant.tenantId === undefined ? {} : { tenantId: tenant.tenantId }) },
      nowMs: anchorMs,
      ...(window === undefined ? {} : { window }),
    },
    openOutput(step, parameters) {
      const opening = ports.store.begin({
        runId: plan.runId,
        job: plan.job,
        tenant: plan.tenant,
        service: step.service,
        cmdlet: step.cmdlet,
        parameters,
        ...(step.select === undefined ? {} : { select: step.select }),
        formats: step.formats,
        ...(plan.definition.csv === undefined ? {} : { csv: plan.definition.csv }),
        ...(plan.scheduledFor === undefined ? {} : { scheduledFor: plan.scheduledFor }),
        localDate: folderDate,
        attempt: attempt.attempt,
        attemptId: attempt.attemptId,
        ...(plan.definition.namedSteps ? { step: step.name } : {}),
        ...(window === undefined ? {} : { window: isoWindow(window) }),
      });
      onOpen(opening);
      // Marked handled at once: its failure is read where it is awaited, or in the error path.
      opening.catch(() => undefined);
      return opening;
    },
    pageWritten(step: RunStep, page: CmdletPage) {
      progress.pages += 1;
      progress.objects += page.objects.length;
      const now = Date.now();
      if (page.last === true || now - progress.lastMs >= PROGRESS_INTERVAL_MS) {
        progress.lastMs = now;
        ports.progress?.({ state: 'running', step: step.name, pages: progress.pages, objects: progress.objects });
      }
    },
  };
}

/** The window of a windowed run: from the last success's end to the run's fire (or request) time. */
async function windowOf(attempt: RunAttempt, ports: RunPorts, anchorMs: number): Promise<{ window?: RunWindow; lastEndMs?: number }> {
  const { plan } = attempt;
  const initialWindowMs = plan.definition.initialWindowMs;
  if (initialWindowMs === undefined || !plan.definition.steps.some((step) => usesWindow(step.parameters))) return {};
  if (!ports.windows) throw new AppError('INTERNAL', 'This worker has no window store, so it cannot run windowed jobs.');
  const lastEndMs = await ports.windows.lastEnd(plan.job, plan.tenant);
  const window = computeWindow({ lastEndMs, initialWindowMs, endMs: anchorMs });
  return lastEndMs === undefined ? { window } : { window, lastEndMs };
}

function sourceOf(step: RunStep, committed: readonly { step: RunStep; output: CommittedOutput }[]): CommittedOutput {
  const source = committed.find((entry) => entry.step.name === step.forEach);
  if (!source) throw new AppError('INTERNAL', `Step ${step.name} iterates over ${step.forEach ?? '?'}, which did not run before it.`);
  return source.output;
}

/**
 * What a failed attempt reports: the run's time running out and a shutdown win over whatever
 * error they caused in flight (an abort, a timeout error of the exchange client); a lost slot
 * reports itself.
 */
function runError(error: unknown, context: { timeout: AbortSignal; shutdown: AbortSignal | undefined; timeoutMs: number; ports: RunPorts }): AppError {
  const current = context.ports.slots.current;
  const lost: unknown = current?.signal.aborted === true ? current.signal.reason : undefined;
  if (isAppError(lost) && lost.code === 'LIMIT_LEASE_LOST') return lost;
  if (context.shutdown?.aborted) return new AppError('RUN_ABORTED', 'The worker is shutting down; the run will be picked up again.', { cause: error });
  if (context.timeout.aborted) {
    return new AppError('RUN_TIMEOUT', `The run exceeded its timeout of ${Math.round(context.timeoutMs / 1000)} s and was stopped.`, { cause: error });
  }
  return toAppError(error);
}

function summaryOf(
  attempt: RunAttempt,
  committed: readonly { step: RunStep; output: CommittedOutput }[],
  durationMs: number,
  window: RunWindow | undefined,
): RunSummary {
  const { plan } = attempt;
  const outputs = committed.map((entry) => entry.output);
  const hasForEach = plan.definition.steps.some((step) => step.forEach !== undefined);
  return {
    runId: plan.runId,
    job: plan.job,
    tenant: plan.tenant,
    status: 'succeeded',
    objectCount: outputs.reduce((sum, output) => sum + output.objectCount, 0),
    pageCount: outputs.reduce((sum, output) => sum + output.pageCount, 0),
    durationMs,
    warnings: outputs.reduce((sum, output) => sum + output.warningCount, 0),
    outputRoot: attempt.outputRoot,
    files: outputs.flatMap((output) => [...output.files.map((file) => file.path), output.manifestPath]),
    steps: committed.map((entry) => ({ name: entry.step.name, objects: entry.output.objectCount })),
    ...(hasForEach ? { itemFailures: outputs.reduce((sum, output) => sum + (output.items?.failed ?? 0), 0) } : {}),
    ...(window === undefined ? {} : { window: isoWindow(window) }),
  };
}

function isoWindow(window: RunWindow): { start: string; end: string } {
  return { start: new Date(window.startMs).toISOString(), end: new Date(window.endMs).toISOString() };
}
