/**
 * The grammar of `${…}` templates in job parameters. It lives in core (not in src/jobs, where
 * evaluation is) because config/load.ts must reject unknown names at load with file:line:col, and
 * config may import only core.
 *
 *   template   := (text | "$${" | "${" expression "}")*      "$${" writes a literal "${"
 *   expression := reference [("+" | "-") duration] ["|" format]
 *   reference  := item(.Name)+ | tenant.(name|organization|tenantId) | run.id | job.name
 *               | now | window.start | window.end
 *   duration   := number (s|m|h|d|w), e.g. 90m, 1d, 1.5h
 *   format     := iso (default: 2026-11-22T02:00:00.000Z) | date (2026-11-22)
 */

export type TemplateReference =
  | { kind: 'item'; path: readonly string[] }
  | { kind: 'tenant'; field: 'name' | 'organization' | 'tenantId' }
  | { kind: 'run.id' }
  | { kind: 'job.name' }
  | { kind: 'now' }
  | { kind: 'window.start' }
  | { kind: 'window.end' };

export type DateFormat = 'iso' | 'date';

export interface TemplateExpression {
  /** The text between `${` and `}`, for messages and dry runs. */
  source: string;
  reference: TemplateReference;
  /** Added to a date reference (negative for `-`); 0 when absent. */
  offsetMs: number;
  format: DateFormat;
}

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'expression'; expression: TemplateExpression };

export type ParsedTemplate = { ok: true; parts: TemplatePart[] } | { ok: false; message: string };

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PROPERTY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KNOWN = 'item.<Property>, tenant.name, tenant.organization, tenant.tenantId, run.id, job.name, now, window.start, window.end';

/** True when the text contains at least one `${…}` (literal `$${` does not count). */
export function hasTemplate(text: string): boolean {
  const parsed = parseTemplate(text);
  return parsed.ok && parsed.parts.some((part) => part.kind === 'expression');
}

export function parseTemplate(text: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let literal = '';
  let index = 0;
  while (index < text.length) {
    if (text.startsWith('$${', index)) {
      literal += '${';
      index += 3;
      continue;
    }
    if (!text.startsWith('${', index)) {
      literal += text[index];
      index += 1;
      continue;
    }
    const close = text.indexOf('}', index + 2);
    if (close < 0) return { ok: false, message: `'\${' at character ${index + 1} is not closed with '}' (write '$\${' for a literal '\${')` };
    const parsed = parseExpression(text.slice(index + 2, close));
    if ('message' in parsed) return { ok: false, message: parsed.message };
    if (literal !== '') parts.push({ kind: 'text', text: literal });
    literal = '';
    parts.push({ kind: 'expression', expression: parsed });
    index = close + 1;
  }
  if (literal !== '' || parts.length === 0) parts.push({ kind: 'text', text: literal });
  return { ok: true, parts };
}

function parseExpression(raw: string): TemplateExpression | { message: string } {
  const source = raw.trim();
  const [body = '', formatText, ...extra] = source.split('|').map((piece) => piece.trim());
  if (extra.length > 0) return { message: `'\${${source}}' has more than one '|' format` };
  let format: DateFormat = 'iso';
  if (formatText !== undefined) {
    if (formatText !== 'iso' && formatText !== 'date') return { message: `unknown format '${formatText}' in '\${${source}}' (use iso or date)` };
    format = formatText;
  }
  const arithmetic = /^(.*?)\s*([+-])\s*(\d+(?:\.\d+)?)\s*([a-z]+)$/.exec(body);
  const referenceText = (arithmetic ? arithmetic[1] : body)?.trim() ?? '';
  const reference = parseReference(referenceText);
  if (!reference) {
    return { message: `unknown name '${referenceText || source}' in '\${${source}}' (known: ${KNOWN})` };
  }
  const isDate = reference.kind === 'now' || reference.kind === 'window.start' || reference.kind === 'window.end';
  let offsetMs = 0;
  if (arithmetic) {
    const [, , sign, amount, unit = ''] = arithmetic;
    const unitMs = UNIT_MS[unit];
    if (unitMs === undefined) return { message: `unknown unit '${unit}' in '\${${source}}' (use s, m, h, d or w)` };
    if (!isDate) return { message: `'\${${source}}': only now, window.start and window.end can be shifted by a duration` };
    offsetMs = Math.round(Number(amount) * unitMs) * (sign === '-' ? -1 : 1);
  }
  if (formatText !== undefined && !isDate) return { message: `'\${${source}}': a format applies only to now, window.start and window.end` };
  return { source, reference, offsetMs, format };
}

function parseReference(text: string): TemplateReference | undefined {
  switch (text) {
    case 'now':
      return { kind: 'now' };
    case 'window.start':
      return { kind: 'window.start' };
    case 'window.end':
      return { kind: 'window.end' };
    case 'run.id':
      return { kind: 'run.id' };
    case 'job.name':
      return { kind: 'job.name' };
    case 'tenant.name':
      return { kind: 'tenant', field: 'name' };
    case 'tenant.organization':
      return { kind: 'tenant', field: 'organization' };
    case 'tenant.tenantId':
      return { kind: 'tenant', field: 'tenantId' };
  }
  const [head, ...path] = text.split('.');
  if (head === 'item' && path.length > 0 && path.every((segment) => PROPERTY.test(segment))) return { kind: 'item', path };
  return undefined;
}

/** Every expression in a parameter value (strings, lists and maps are searched); parse problems with their path. */
export function templateExpressionsIn(
  value: unknown,
  path: readonly (string | number)[] = [],
): { expressions: { path: (string | number)[]; expression: TemplateExpression }[]; problems: { path: (string | number)[]; message: string }[] } {
  const expressions: { path: (string | number)[]; expression: TemplateExpression }[] = [];
  const problems: { path: (string | number)[]; message: string }[] = [];
  const visit = (current: unknown, at: (string | number)[]): void => {
    if (typeof current === 'string') {
      const parsed = parseTemplate(current);
      if (!parsed.ok) problems.push({ path: at, message: parsed.message });
      else for (const part of parsed.parts) if (part.kind === 'expression') expressions.push({ path: at, expression: part.expression });
    } else if (Array.isArray(current)) {
      current.forEach((child, index) => visit(child, [...at, index]));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current as Record<string, unknown>)) visit(child, [...at, key]);
    }
  };
  visit(value, [...path]);
  return { expressions, problems };
}
