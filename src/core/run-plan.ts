import { z } from 'zod';
import { CSV_DELIMITERS, OUTPUT_FORMATS, SERVICE_NAMES, type CsvSettings } from './ports.js';

/**
 * What a run executes, written once: the planner (src/jobs) builds it from jobs.yaml, the queue
 * carries it as the run's data (src/queue/payload.ts adds the version envelope), the worker reads
 * it back. The types are derived from this schema, so the three can never disagree.
 *
 * It holds no credentials: BullMQ stores job data in clear text, so a worker resolves the tenant's
 * secrets from its own configuration.
 */

const formats = z.array(z.enum(OUTPUT_FORMATS)).min(1);

/** One cmdlet of a run. */
/** CsvSettings (core/ports.ts) as a schema. */
const csvSettingsSchema = z.object({
  bom: z.boolean().optional(),
  flatten: z.boolean().optional(),
  delimiter: z.enum(CSV_DELIMITERS).optional(),
  formulaGuard: z.boolean().optional(),
}) satisfies z.ZodType<CsvSettings>;

export const runStepSchema = z.object({
  name: z.string().min(1),
  service: z.enum(SERVICE_NAMES),
  cmdlet: z.string().min(1),
  /** As written in jobs.yaml; `${…}` templates are resolved by the worker. */
  parameters: z.record(z.string(), z.unknown()),
  select: z.array(z.string()).optional(),
  /** Name of an earlier step of this run whose objects this step iterates over. */
  forEach: z.string().optional(),
  formats,
  pageSize: z.number().int().min(1).max(1000),
});

/** A run's steps and the job settings that shape how it runs. */
export const runDefinitionSchema = z.object({
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
  /** CSV writer settings, when the job sets any. */
  csv: csvSettingsSchema.optional(),
});

/** One planned run of a job for one tenant: the run's data on the queue (version 2). */
export const runPlanSchema = z.object({
  v: z.literal(2),
  runId: z.string().regex(/^[A-Za-z0-9._-]+$/),
  job: z.string().min(1),
  tenant: z.string().min(1),
  trigger: z.enum(['schedule', 'manual']),
  /** ISO time the schedule fired for this run. */
  scheduledFor: z.string().optional(),
  requestedAt: z.string(),
  definition: runDefinitionSchema,
  /** Hash of the definition, for logs and change detection. */
  definitionHash: z.string(),
  /** Re-delays asked for by the service so far (they spend no attempt but are capped). */
  freeDelays: z.number().int().min(0).optional(),
});

export type RunStep = z.infer<typeof runStepSchema>;
export type RunDefinition = z.infer<typeof runDefinitionSchema>;
export type RunPlan = z.infer<typeof runPlanSchema>;
