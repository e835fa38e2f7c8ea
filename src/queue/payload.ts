import { z } from 'zod';
import { AppError } from '../core/index.js';
import { OUTPUT_FORMATS, SERVICE_NAMES } from '../core/index.js';
import { runPlanSchema, runStepSchema, type RunPlan, type RunStep } from '../core/index.js';

/**
 * The data of a run on the runs queue: a run plan (src/core/run-plan.ts, the one definition of
 * what a run executes) in a version envelope.
 *
 * Version 2 (the job language: steps, forEach, templates, policies) is what this version writes.
 * Version 1 (one cmdlet) is still read, as the one-step run it describes, so runs queued by an
 * older scheduler finish after an upgrade; any other version fails the run without retries.
 */
export const runPayloadSchema = runPlanSchema;
export { runStepSchema };

export type RunPayload = RunPlan;
export type { RunStep };

const runPayloadV1Schema = z.object({
  v: z.literal(1),
  ...runPlanSchema.omit({ v: true, definition: true }).shape,
  definition: z.object({
    service: z.enum(SERVICE_NAMES),
    cmdlet: z.string().min(1),
    parameters: z.record(z.string(), z.unknown()),
    select: z.array(z.string()).optional(),
    formats: z.array(z.enum(OUTPUT_FORMATS)).min(1),
    pageSize: z.number().int().min(1).max(1000),
    timeoutMs: z.number().int().positive(),
    timezone: z.string(),
    allowWrite: z.boolean(),
  }),
});

/** Reads a run's data (version 2, or version 1 as a one-step run); anything else fails the run without retries. */
export function parseRunPayload(data: unknown): RunPayload {
  const version = (data as { v?: unknown } | null)?.v;
  if (version === 1) {
    const legacy = runPayloadV1Schema.safeParse(data);
    if (legacy.success) return upgradeV1(legacy.data);
    throw invalid(version, legacy.error);
  }
  const result = runPlanSchema.safeParse(data);
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
