import { AppError, isAppError } from '../../core/index.js';
import type { CmdletPage, Lease, RunOutput } from '../../core/index.js';
import type { RunStep } from '../../core/index.js';
import type { RunWindow, TemplateContext } from '../../jobs/index.js';
import type { RunAttempt, RunPorts } from './types.js';

/** What every step of one run attempt shares. */
export interface StepContext {
  attempt: RunAttempt;
  ports: RunPorts;
  /** Aborts on the run's timeout and on shutdown. */
  signal: AbortSignal;
  /** The calendar date in the job's time zone: the output folder. */
  folderDate: string;
  templates: TemplateContext;
  window: RunWindow | undefined;
  /** Opens a step's output set; the run's error path fails or abandons the one open at the time. */
  openOutput(step: RunStep, parameters: Record<string, unknown>): Promise<RunOutput>;
  /** Counts a written page for progress reports. */
  pageWritten(step: RunStep, page: CmdletPage): void;
}

/** The cmdlet call of `step` with `parameters`, sent through `lease`'s gate and stopped when `signal` or the lease aborts. */
export function invokeStep(
  context: StepContext,
  step: RunStep,
  parameters: Record<string, unknown>,
  lease: Lease,
  signal: AbortSignal,
): AsyncIterable<CmdletPage> {
  const { tenant } = context.attempt;
  return context.ports.exchange.invoke(
    {
      tenant: tenant.tenantId ?? tenant.organization,
      service: step.service,
      cmdlet: step.cmdlet,
      parameters,
      ...(step.select === undefined ? {} : { select: step.select }),
      pageSize: step.pageSize,
    },
    { signal: AbortSignal.any([signal, lease.signal]), gate: lease },
  );
}

/** The slot the run's sequential requests go through; the run always holds one while a step runs. */
export function currentLease(context: StepContext): Lease {
  const lease = context.ports.slots.current;
  if (!lease) throw new AppError('INTERNAL', 'A step started without a slot.');
  return lease;
}

/**
 * Gives `lease` back as the last fencing check before a commit: an attempt that lost its slot
 * (another attempt may hold it now) must not commit over the one that replaced it.
 */
export async function releaseAsFence(context: StepContext, lease: Lease): Promise<void> {
  if (await context.ports.slots.release(lease)) return;
  throw leaseLost(context, lease);
}

export function leaseLost(context: StepContext, lease: Lease): AppError {
  const reason: unknown = lease.signal.reason;
  if (isAppError(reason) && reason.code === 'LIMIT_LEASE_LOST') return reason;
  return new AppError(
    'LIMIT_LEASE_LOST',
    `Lost the ${lease.key.service} slot for ${context.attempt.tenant.name} before the run finished; it will be retried.`,
    { details: { tenant: lease.key.tenant, service: lease.key.service } },
  );
}
