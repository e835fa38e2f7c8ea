import { AppError } from '../core/index.js';
import { parseTemplate, type TemplateExpression, type TemplateReference } from '../core/index.js';

/** What `${…}` can read while a run resolves its parameters. */
export interface TemplateContext {
  job: string;
  runId: string;
  tenant: { name: string; organization: string; tenantId?: string };
  /** The run's reference time: the schedule's fire time, or when a manual run was requested. */
  nowMs: number;
  /** The run's window, when the job declares initialWindow. */
  window?: { startMs: number; endMs: number };
  /** The forEach object being processed. */
  item?: Record<string, unknown>;
}

/**
 * Resolves every `${…}` in a step's parameters. A string that is exactly one expression takes the
 * value's own type (an item's list stays a list, a number a number); otherwise expressions are
 * written into the string. Dates are written as ISO 8601 UTC, which every Exchange DateTime
 * parameter accepts (`| date` writes only the day). Throws RUN_TEMPLATE_FAILED when a value is
 * missing (an item without the property), which fails that item rather than the run.
 */
export function resolveParameters(parameters: Readonly<Record<string, unknown>>, context: TemplateContext): Record<string, unknown> {
  const resolved: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parameters)) resolved[name] = resolveValue(value, context, name);
  return resolved;
}

function resolveValue(value: unknown, context: TemplateContext, where: string): unknown {
  if (typeof value === 'string') return resolveString(value, context, where);
  if (Array.isArray(value)) return value.map((child, index) => resolveValue(child, context, `${where}[${index}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) out[key] = resolveValue(child, context, `${where}.${key}`);
    return out;
  }
  return value;
}

function resolveString(text: string, context: TemplateContext, where: string): unknown {
  const parsed = parseTemplate(text);
  // The loader rejected malformed templates; a payload from elsewhere is refused just as clearly.
  if (!parsed.ok) throw new AppError('RUN_TEMPLATE_FAILED', `Parameter ${where}: ${parsed.message}.`, { retryable: false });
  const [only] = parsed.parts;
  if (parsed.parts.length === 1 && only?.kind === 'expression') return evaluate(only.expression, context, where);
  return parsed.parts.map((part) => (part.kind === 'text' ? part.text : stringify(evaluate(part.expression, context, where)))).join('');
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The value of one expression (dates already formatted). */
export function evaluate(expression: TemplateExpression, context: TemplateContext, where = 'value'): unknown {
  const reference = expression.reference;
  const dateMs = dateOf(reference, context, expression, where);
  if (dateMs !== undefined) return formatDate(dateMs + expression.offsetMs, expression.format);
  switch (reference.kind) {
    case 'run.id':
      return context.runId;
    case 'job.name':
      return context.job;
    case 'tenant': {
      const value = context.tenant[reference.field];
      if (value === undefined) throw missing(`tenant ${context.tenant.name} has no ${reference.field} in jobs.yaml`, expression, where);
      return value;
    }
    case 'item':
      return itemValue(reference.path, context, expression, where);
    default:
      throw new AppError('RUN_TEMPLATE_FAILED', `Parameter ${where}: cannot evaluate '\${${expression.source}}'.`, { retryable: false });
  }
}

function dateOf(reference: TemplateReference, context: TemplateContext, expression: TemplateExpression, where: string): number | undefined {
  if (reference.kind === 'now') return context.nowMs;
  if (reference.kind !== 'window.start' && reference.kind !== 'window.end') return undefined;
  if (!context.window) throw missing('the run has no window (the job needs initialWindow)', expression, where);
  return reference.kind === 'window.start' ? context.window.startMs : context.window.endMs;
}

function itemValue(path: readonly string[], context: TemplateContext, expression: TemplateExpression, where: string): unknown {
  if (!context.item) throw missing('there is no forEach item here', expression, where);
  let current: unknown = context.item;
  for (const segment of path) {
    current = current !== null && typeof current === 'object' && !Array.isArray(current) ? (current as Record<string, unknown>)[segment] : undefined;
  }
  if (current === undefined || current === null || current === '') {
    throw missing(`the item has no ${path.join('.')} (keep it in the earlier step's select)`, expression, where);
  }
  return current;
}

function missing(reason: string, expression: TemplateExpression, where: string): AppError {
  return new AppError('RUN_TEMPLATE_FAILED', `Parameter ${where}: '\${${expression.source}}' has no value: ${reason}.`, { retryable: false });
}

/** ISO 8601 UTC (`2026-11-22T02:00:00.000Z`) or the UTC day (`2026-11-22`). */
export function formatDate(ms: number, format: 'iso' | 'date'): string {
  const iso = new Date(ms).toISOString();
  return format === 'date' ? iso.slice(0, 10) : iso;
}

/** True when any parameter reads the window (the run then needs one). */
export function usesWindow(parameters: Readonly<Record<string, unknown>>): boolean {
  return JSON.stringify(parameters).match(/\$\{\s*window\./) !== null;
}
