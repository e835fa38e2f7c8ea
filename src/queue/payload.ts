import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { OUTPUT_FORMATS, SERVICE_NAMES } from '../core/ports.js';

/**
 * The data of a run on the runs queue, version 1. It carries what to run (a snapshot of the job
 * definition taken when the run was planned) but no credentials: BullMQ stores job data in clear
 * text, so a worker resolves the tenant's secrets from its own configuration.
 */
export const runPayloadSchema = z.object({
  v: z.literal(1),
  runId: z.string().regex(/^[A-Za-z0-9._-]+$/),
  job: z.string().min(1),
  tenant: z.string().min(1),
  trigger: z.enum(['schedule', 'manual']),
  /** ISO time the schedule fired for this run. */
  scheduledFor: z.string().optional(),
  requestedAt: z.string(),
  definition: z.object({
    service: z.enum(SERVICE_NAMES as [string, ...string[]]),
    cmdlet: z.string().min(1),
    parameters: z.record(z.string(), z.unknown()),
    select: z.array(z.string()).optional(),
    formats: z.array(z.enum(OUTPUT_FORMATS as [string, ...string[]])).min(1),
    pageSize: z.number().int().min(1).max(1000),
    timeoutMs: z.number().int().positive(),
    timezone: z.string(),
    allowWrite: z.boolean(),
    csv: z.object({ bom: z.boolean().optional(), flatten: z.boolean().optional() }).optional(),
  }),
  /** Hash of the definition, for logs and change detection. */
  definitionHash: z.string(),
  /** Re-delays asked for by the service so far (they spend no attempt but are capped). */
  freeDelays: z.number().int().min(0).optional(),
});

export type RunPayload = z.infer<typeof runPayloadSchema>;

/** Reads a run's data; a payload from an incompatible version fails the run without retries. */
export function parseRunPayload(data: unknown): RunPayload {
  const result = runPayloadSchema.safeParse(data);
  if (result.success) return result.data;
  const version = (data as { v?: unknown } | null)?.v;
  throw new AppError(
    'QUEUE_PAYLOAD_INVALID',
    `A queued run has data this worker cannot read (version ${JSON.stringify(version)}): ${result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
  );
}

/** The data of a scheduler tick: which job fired. The definition is read when the tick is handled. */
export const tickPayloadSchema = z.object({ v: z.literal(1), job: z.string().min(1), definitionHash: z.string() });

export type TickPayload = z.infer<typeof tickPayloadSchema>;
