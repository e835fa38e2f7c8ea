import { createHash, randomBytes } from 'node:crypto';
import type { ExorunConfig, JobConfig } from '../config/index.js';
import { AppError } from '../core/index.js';
import type { RunDefinition, RunPlan } from '../core/index.js';
import { compactUtc } from '../core/index.js';

export type { RunDefinition, RunPlan, RunStep } from '../core/index.js';

export function definitionOf(job: JobConfig): RunDefinition {
  return {
    steps: job.steps.map((step) => ({
      name: step.name,
      service: step.service,
      cmdlet: step.cmdlet,
      parameters: structuredClone(step.parameters),
      ...(step.select === undefined ? {} : { select: [...step.select] }),
      ...(step.forEach === undefined ? {} : { forEach: step.forEach }),
      formats: [...step.formats],
      pageSize: step.pageSize,
    })),
    namedSteps: job.namedSteps,
    timeoutMs: job.timeoutMs,
    timezone: job.timezone,
    allowWrite: job.allowWrite,
    maxItemFailures: { ...job.maxItemFailures },
    ...(job.initialWindowMs === undefined ? {} : { initialWindowMs: job.initialWindowMs }),
    overlap: job.overlap,
    retry: { ...job.retry },
    ...(job.output.csv === undefined ? {} : { csv: { ...job.output.csv } }),
  };
}

/**
 * A short stable hash of everything that changes what a job does or when; the scheduler compares
 * it to decide whether a job scheduler must be updated.
 */
export function hashJob(job: JobConfig): string {
  const material = { definition: definitionOf(job), schedule: job.schedule ?? null, tenants: job.tenants, enabled: job.enabled };
  return createHash('sha256').update(canonicalJson(material)).digest('hex').slice(0, 16);
}

export interface PlanRunOptions {
  trigger: 'schedule' | 'manual';
  /** The schedule's fire time, for scheduled runs. */
  firedAtMs?: number;
  nowMs: number;
  /** Distinguishes manual runs started in the same second; random when absent. */
  nonce?: string;
  /** The tenant to plan for; required when the job runs for more than one tenant. */
  tenant?: string;
}

/**
 * Plans the run of a job for one tenant. Scheduled runs get a deterministic id from the fire time
 * (`<job>.<tenant>.<UTC>`), so the same tick planned twice is queued once; manual runs add a nonce.
 */
export function planRun(config: ExorunConfig, jobName: string, options: PlanRunOptions): RunPlan {
  const job = jobNamed(config, jobName);
  const tenant = options.tenant ?? (job.tenants.length === 1 ? job.tenants[0] : undefined);
  if (tenant === undefined || !job.tenants.includes(tenant)) {
    throw new AppError(
      'CFG_TENANT_UNKNOWN',
      `Job '${job.name}' runs for ${job.tenants.join(', ')}; ${options.tenant === undefined ? 'name one of them' : `'${options.tenant}' is not one of them`}.`,
    );
  }
  const atMs = options.trigger === 'schedule' ? (options.firedAtMs ?? options.nowMs) : options.nowMs;
  const suffix = options.trigger === 'manual' ? `-m${options.nonce ?? randomBytes(3).toString('hex')}` : '';
  return {
    v: 2,
    runId: `${job.name}.${tenant}.${compactUtc(atMs)}${suffix}`,
    job: job.name,
    tenant,
    trigger: options.trigger,
    ...(options.trigger === 'schedule' ? { scheduledFor: new Date(atMs).toISOString() } : {}),
    requestedAt: new Date(options.nowMs).toISOString(),
    definition: definitionOf(job),
    definitionHash: hashJob(job),
  };
}

/** One run per tenant of the job (its own run id, output files and window), in the job's tenant order. */
export function planRuns(config: ExorunConfig, jobName: string, options: Omit<PlanRunOptions, 'tenant'>): RunPlan[] {
  const job = jobNamed(config, jobName);
  // One nonce for the whole fan-out: the run ids of one manual request differ only by tenant.
  const nonce = options.nonce ?? randomBytes(3).toString('hex');
  return job.tenants.map((tenant) => planRun(config, jobName, { ...options, nonce, tenant }));
}

function jobNamed(config: ExorunConfig, jobName: string): JobConfig {
  const job = Object.hasOwn(config.jobs, jobName) ? config.jobs[jobName] : undefined;
  if (!job) {
    const known = Object.keys(config.jobs);
    throw new AppError('CFG_JOB_UNKNOWN', `No job named '${jobName}' in ${config.file}${known.length > 0 ? ` (jobs: ${known.join(', ')})` : ''}.`);
  }
  return job;
}

/** JSON with object keys sorted, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, child]) => child !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, child]) => `${JSON.stringify(key)}:${canonicalJson(child)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
