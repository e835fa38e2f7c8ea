import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { OUTPUT_FORMATS, SERVICE_NAMES } from '../core/ports.js';

/**
 * The data of a run on the runs queue. It carries what to run (a snapshot of the job definition
 * taken when the run was planned) but no credentials: BullMQ stores job data in clear text, so a
 * worker resolves the tenant's secrets from its own configuration.
 *
 * Version 2 (the job language: steps, forEach, templates, policies) is what this version writes.
 * Version 1 (one cmdlet) is still read, as the one-step run it describes, so runs queued by an
 * older scheduler finish after an upgrade; any other version fails the run without retries.
 */
const serviceName = z.enum(SERVICE_NAMES as [string, ...string[]]);
const formats = z.array(z.enum(OUTPUT_FORMATS as [string, ...string[]])).min(1);
const pageSize = z.number().int().min(1).max(1000);

const common = {
  runId: z.string().regex(/^[A-Za-z0-9._-]+$/),
  job: z.string().min(1),
  tenant: z.string().min(1),
  trigger: z.enum(['schedule', 'manual']),
  /** ISO time the schedule fired for this run. */
  scheduledFor: z.string().optional(),
  requestedAt: z.string(),
  /** Hash of the definition, for logs and change detection. */
  definitionHash: z.string(),
  /** Re-delays asked for by the service so far (they spend no attempt but are capped). */
  freeDelays: z.number().int().min(0).optional(),
};

const runPayloadV1Schema = z.object({
  v: z.literal(1),
  ...common,
  definition: z.object({
    service: serviceName,
    cmdlet: z.string().min(1),
    parameters: z.record(z.string(), z.unknown()),
    select: z.array(z.string()).optional(),
    formats,
    pageSize,
    timeoutMs: z.number().int().positive(),
    timezone: z.string(),
    allowWrite: z.boolean(),
  }),
});

export const runStepSchema = z.object({
  name: z.string().min(1),
  service: serviceName,
  cmdlet: z.string().min(1),
  /** As written in jobs.yaml; `${…}` templates are resolved by the worker. */
  parameters: z.record(z.string(), z.unknown()),
  select: z.array(z.string()).optional(),
  /** Name of an earlier step of this run whose JSONL output is iterated. */
  forEach: z.string().optional(),
  formats,
  pageSize,
});

export const runPayloadSchema = z.object({
  v: z.literal(2),
  ...common,
  definition: z.object({
    steps: z.array(runStepSchema).min(1),
    /** Outputs are named `<runId>.<step>`; false for single-cmdlet jobs (plain `<runId>`). */
    namedSteps: z.boolean(),
    timeoutMs: z.number().int().positive(),
    timezone: z.string(),
    allowWrite: z.boolean(),
    maxItemFailures: z.union([z.object({ count: z.number().int().min(0) }), z.object({ percent: z.number().min(0).max(100) })]),
    /** Present when a step uses `${window.start}` / `${window.end}`. */
    initialWindowMs: z.number().int().min(0).optional(),
    overlap: z.enum(['skip', 'queue-one', 'allow']),
    retry: z.object({ attempts: z.number().int().min(1), backoffMs: z.number().int().min(0) }),
    /** CSV writer settings (byte order mark, flattening), when the job sets any. */
    csv: z.object({ bom: z.boolean().optional(), flatten: z.boolean().optional() }).optional(),
  }),
});

export type RunPayload = z.infer<typeof runPayloadSchema>;
export type RunStep = z.infer<typeof runStepSchema>;

/** Reads a run's data (version 2, or version 1 as a one-step run); anything else fails the run without retries. */
export function parseRunPayload(data: unknown): RunPayload {
  const version = (data as { v?: unknown } | null)?.v;
  if (version === 1) {
    const legacy = runPayloadV1Schema.safeParse(data);
    if (legacy.success) return upgradeV1(legacy.data);
    throw invalid(version, legacy.error);
  }
  const result = runPayloadSchema.safeParse(data);
  if (result.success) return result.data;
  throw invalid(version, result.error);
}

function invalid(version: unknown, error: z.ZodError): AppError {
  return new AppError(
    'QUEUE_PAYLOAD_INVALID',
    `A queued run has data this worker cannot read (version ${JSON.stringify(version)}; this worker reads 1 and 2): ${error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
  );
}

function upgradeV1(payload: z.infer<typeof runPayloadV1Schema>): RunPayload {
  const { definition, v: _v, ...rest } = payload;
  return {
    v: 2,
    ...rest,
    definition: {
      steps: [
        {
          name: definition.cmdlet,
          service: definition.service,
          cmdlet: definition.cmdlet,
          parameters: definition.parameters,
          ...(definition.select === undefined ? {} : { select: definition.select }),
          formats: definition.formats,
          pageSize: definition.pageSize,
        },
      ],
      namedSteps: false,
      timeoutMs: definition.timeoutMs,
      timezone: definition.timezone,
      allowWrite: definition.allowWrite,
      maxItemFailures: { count: 0 },
      overlap: 'allow',
      retry: { attempts: 3, backoffMs: 10_000 },
    },
  };
}

/** The data of a scheduler tick: which job fired. The definition is read when the tick is handled. */
export const tickPayloadSchema = z.object({ v: z.literal(1), job: z.string().min(1), definitionHash: z.string() });

export type TickPayload = z.infer<typeof tickPayloadSchema>;
