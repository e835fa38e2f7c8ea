import { canonicalJson } from './plan.js';
import type { RunPlan } from './plan.js';
import { formatDate, resolveParameters, type TemplateContext } from './templates.js';
import type { RunWindow } from './window.js';

/** What a dry run knows about one forEach step's items without calling the service. */
export type ItemSample = { kind: 'earlier-output'; file: string; total: number; items: Record<string, unknown>[] } | { kind: 'unknown'; reason: string };

export interface DryRunInput {
  plan: RunPlan;
  tenant: { name: string; organization: string; tenantId?: string };
  /** The window the run would read, with where its start came from; absent for jobs without one. */
  window?: { window: RunWindow; origin: string };
  /** Per forEach step name. */
  samples: ReadonlyMap<string, ItemSample>;
}

/**
 * The calls one run would make, as text lines: each step's service, cmdlet and parameters with
 * templates resolved, and for forEach steps the calls for the first items known. Pure: the CLI
 * gathers the window and the item samples.
 */
export function describeDryRun(input: DryRunInput): string[] {
  const { plan } = input;
  const context: TemplateContext = {
    job: plan.job,
    runId: plan.runId,
    tenant: input.tenant,
    nowMs: Date.parse(plan.scheduledFor ?? plan.requestedAt),
    ...(input.window === undefined ? {} : { window: input.window.window }),
  };
  const lines = [`tenant ${input.tenant.name} (${input.tenant.organization}): run ${plan.runId}`];
  if (input.window) {
    lines.push(`  window ${formatDate(input.window.window.startMs, 'iso')} .. ${formatDate(input.window.window.endMs, 'iso')} (${input.window.origin})`);
  }
  plan.definition.steps.forEach((step, index) => {
    const heading = `  ${index + 1}. ${plan.definition.namedSteps ? `${step.name}: ` : ''}${step.service} ${step.cmdlet}`;
    const select = step.select === undefined ? [] : [`     select ${step.select.join(', ')}`];
    if (step.forEach === undefined) {
      lines.push(heading, ...formatParameters(safeResolve(step.parameters, context), '     '), ...select);
      return;
    }
    lines.push(`${heading}, once per object of ${step.forEach}`);
    const sample = input.samples.get(step.name) ?? { kind: 'unknown', reason: 'no sample' };
    if (sample.kind === 'unknown') {
      lines.push(`     (${sample.reason}); parameters as written:`, ...formatParameters(step.parameters, '     '), ...select);
      return;
    }
    lines.push(`     first ${sample.items.length} of ${sample.total} object(s) in the last output of ${step.forEach} (${sample.file}):`);
    for (const item of sample.items) {
      const parameters = safeResolve(step.parameters, { ...context, item });
      lines.push(
        `     - ${
          Object.entries(parameters)
            .map(([name, value]) => `${name}: ${display(value)}`)
            .join(', ') || '(no parameters)'
        }`,
      );
    }
    lines.push(...select);
  });
  return lines;
}

function safeResolve(parameters: Record<string, unknown>, context: TemplateContext): Record<string, unknown> {
  const resolved: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parameters)) {
    try {
      resolved[name] = resolveParameters({ [name]: value }, context)[name];
    } catch (error) {
      resolved[name] = `<${error instanceof Error ? error.message : String(error)}>`;
    }
  }
  return resolved;
}

function formatParameters(parameters: Record<string, unknown>, indent: string): string[] {
  const entries = Object.entries(parameters);
  if (entries.length === 0) return [`${indent}(no parameters)`];
  return entries.map(([name, value]) => `${indent}${name}: ${display(value)}`);
}

function display(value: unknown): string {
  return typeof value === 'string' ? value : canonicalJson(value);
}
