import { createHash, randomBytes } from 'node:crypto';
import type { ExorunConfig, JobConfig } from '../config/model.js';
import { AppError } from '../core/errors.js';
import type { OutputFormat, ServiceName } from '../core/ports.js';
import { compactUtc } from '../core/time.js';

/** What a run executes: the parts of a job definition that do not depend on the machine. */
export interface RunDefinition {
  service: ServiceName;
  cmdlet: string;
  parameters: Record<string, unknown>;
  select?: string[];
  formats: OutputFormat[];
  pageSize: number;
  timeoutMs: number;
  timezone: string;
  allowWrite: boolean;
  /** CSV writer settings (byte order mark, flattening), when the job sets any. */
  csv?: { bom?: boolean; flatten?: boolean };
}

/** A run ready to be queued (the queue's payload version 1 has exactly this shape). */
export interface RunPlan {
  v: 1;
  runId: string;
  job: string;
  tenant: string;
  trigger: 'schedule' | 'manual';
  scheduledFor?: string;
  requestedAt: string;
  definition: RunDefinition;
  definitionHash: string;
}

export function definitionOf(job: JobConfig): RunDefinition {
  return {
    service: job.service,
    cmdlet: job.cmdlet,
    parameters: structuredClone(job.parameters),
    ...(job.select === undefined ? {} : { select: [...job.select] }),
    formats: [...job.output.formats],
    pageSize: job.pageSize,
    timeoutMs: job.timeoutMs,
    timezone: job.timezone,
    allowWrite: job.allowWrite,
    ...(job.output.csv === undefined ? {} : { csv: { ...job.output.csv } }),
  };
}

/**
 * A short stable hash of everything that changes what a job does or when; the scheduler compares
 * it to decide whether a job scheduler must be updated.
 */
export function hashJob(job: JobConfig): string {
  const material = { definition: definitionOf(job), schedule: job.schedule ?? null, tenant: job.tenant, enabled: job.enabled };
  return createHash('sha256').update(canonicalJson(material)).digest('hex').slice(0, 16);
}

export interface PlanRunOptions {
  trigger: 'schedule' | 'manual';
  /** The schedule's fire time, for scheduled runs. */
  firedAtMs?: number;
  nowMs: number;
  /** Distinguishes manual runs started in the same second; random when absent. */
  nonce?: string;
}

/**
 * Plans the run of a job for its tenant. Scheduled runs get a deterministic id from the fire time
 * (`<job>.<tenant>.<UTC>`), so the same tick planned twice is queued once; manual runs add a nonce.
 */
export function planRun(config: ExorunConfig, jobName: string, options: PlanRunOptions): RunPlan {
  const job = config.jobs[jobName];
  if (!job) {
    const known = Object.keys(config.jobs);
    throw new AppError('CFG_JOB_UNKNOWN', `No job named '${jobName}' in ${config.file}${known.length > 0 ? ` (jobs: ${known.join(', ')})` : ''}.`);
  }
  const atMs = options.trigger === 'schedule' ? (options.firedAtMs ?? options.nowMs) : options.nowMs;
  const suffix = options.trigger === 'manual' ? `-m${options.nonce ?? randomBytes(3).toString('hex')}` : '';
  return {
    v: 1,
    runId: `${job.name}.${job.tenant}.${compactUtc(atMs)}${suffix}`,
    job: job.name,
    tenant: job.tenant,
    trigger: options.trigger,
    ...(options.trigger === 'schedule' ? { scheduledFor: new Date(atMs).toISOString() } : {}),
    requestedAt: new Date(options.nowMs).toISOString(),
    definition: definitionOf(job),
    definitionHash: hashJob(job),
  };
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
