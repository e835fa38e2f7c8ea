import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { isReadOnlyCmdlet, READ_ONLY_VERBS } from '../core/cmdlets.js';
import type { ExorunConfig } from './model.js';
import { normalizeConfig } from './normalize.js';
import { configError, type ConfigProblem } from './problems.js';
import { jobsFileSchema, type JobsFile } from './schema.js';
import { resolveTenantSelection } from './tenant-selection.js';
import { templateExpressionsIn } from '../core/template-syntax.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

export type CheckResult = { ok: true; config: ExorunConfig } | { ok: false; problems: ConfigProblem[] };

/**
 * Checks jobs.yaml text and returns either the normalised configuration or every problem found,
 * each located at file:line:col. `displayName` is how the file is named in messages; `absolutePath`
 * anchors relative paths (certificates, output directory).
 */
export function checkConfigText(text: string, displayName: string, absolutePath: string): CheckResult {
  const source = parseYamlSource(text, displayName);
  // Syntax errors leave the structure unreliable; schema messages on top of them would mislead.
  if (source.syntaxProblems.length > 0) return { ok: false, problems: source.syntaxProblems };

  const problems: ConfigProblem[] = [...source.duplicateKeyProblems];
  const parsed = jobsFileSchema.safeParse(source.value ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, source));
  }
  problems.push(...crossCheck(source));
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: normalizeConfig(parsed.data, path.resolve(absolutePath)) };
}

/** Parses jobs.yaml text; throws CFG_JOBS_INVALID listing every problem. */
export function parseConfigText(text: string, displayName: string, absolutePath: string): ExorunConfig {
  const result = checkConfigText(text, displayName, absolutePath);
  if (!result.ok) throw configError(displayName, result.problems);
  return result.config;
}

/** Reads and parses a jobs.yaml file; throws CFG_FILE_NOT_FOUND or CFG_JOBS_INVALID. */
export async function loadConfigFile(file: string): Promise<ExorunConfig> {
  return parseConfigText(await readConfigText(file), file, file);
}

export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new AppError(
      'CFG_FILE_NOT_FOUND',
      `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}. Pass the file with --config or EXORUN_CONFIG.`,
      { cause: error },
    );
  }
}

function describeIssue(issue: z.core.$ZodIssue, source: YamlSource): ConfigProblem[] {
  const issuePath = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issuePath);
    return issue.keys.map((key) => {
      const suggestion = closest(key, known);
      const hint = suggestion ? ` (did you mean '${suggestion}'?)` : known.length > 0 ? ` (allowed: ${known.join(', ')})` : '';
      return source.problem([...issuePath, key], `unknown key '${key}'${hint}`, source.locateKey(issuePath, key));
    });
  }
  const received = valueAt(source.value, issuePath);
  if (issue.code === 'invalid_key') {
    // A record key (job or tenant name) failed its pattern: point at the key itself.
    const key = String(issuePath[issuePath.length - 1]);
    const parent = issuePath.slice(0, -1);
    return [source.problem(issuePath, `name '${key}' ${issue.issues[0]?.message ?? 'is not allowed'}`, source.locateKey(parent, key))];
  }
  if (received === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) {
    return [source.problem(issuePath, 'is required')];
  }
  if (issue.code === 'invalid_type') {
    return [source.problem(issuePath, `expected ${issue.expected}, got ${describeValue(received)}`)];
  }
  if (issue.code === 'invalid_value') {
    const custom = issue.message && !issue.message.startsWith('Invalid');
    const options = issue.values.map((value) => String(value)).join(', ');
    return [
      source.problem(issuePath, custom ? `${issue.message}; got ${describeValue(received)}` : `must be one of ${options}; got ${describeValue(received)}`),
    ];
  }
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    const bound = issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
    const unit = issue.origin === 'array' ? ' item(s)' : issue.origin === 'string' ? ' character(s)' : '';
    return [source.problem(issuePath, `must be ${bound}${unit}; got ${describeValue(received)}`)];
  }
  return [source.problem(issuePath, issue.message)];
}

/** Checks that need more than one field: references between tenants and jobs, and safety rules. */
function crossCheck(source: YamlSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const root = asRecord(source.value);
  const tenants = asRecord(root?.['tenants']) ?? {};
  const jobs = asRecord(root?.['jobs']) ?? {};

  for (const [name, rawTenant] of Object.entries(tenants)) {
    const tenant = asRecord(rawTenant);
    if (!tenant) continue;
    const cloud = typeof tenant['cloud'] === 'string' ? tenant['cloud'] : 'commercial';
    if (cloud !== 'simulated' && tenant['auth'] === undefined) {
      problems.push(source.problem(['tenants', name, 'auth'], `is required for cloud '${cloud}' (type: certificate, clientId, certificate.path)`));
    }
    if (cloud !== 'simulated' && tenant['simulator'] !== undefined) {
      problems.push(source.problem(['tenants', name, 'simulator'], 'applies only to tenants with cloud: simulated'));
    }
  }

  const groups = tenantGroupsOf(root?.['tenantGroups']);
  for (const [name, rawJob] of Object.entries(jobs)) {
    const job = asRecord(rawJob);
    if (!job) continue;
    problems.push(...checkJobTenants(source, name, job, tenants, groups));
    problems.push(...checkJobSteps(source, name, job));
  }
  return problems;
}

function tenantGroupsOf(value: unknown): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  for (const [group, members] of Object.entries(asRecord(value) ?? {})) {
    if (Array.isArray(members)) groups[group] = members.filter((member): member is string => typeof member === 'string');
  }
  return groups;
}

/** `tenant` or `tenants` (not both), every name and group known, something left after `excludeTenants`. */
function checkJobTenants(
  source: YamlSource,
  name: string,
  job: Record<string, unknown>,
  tenants: Record<string, unknown>,
  groups: Record<string, string[]>,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const tenant = job['tenant'];
  const list = job['tenants'];
  const known = Object.keys(tenants);
  if (tenant === undefined && list === undefined) {
    return [source.problem(['jobs', name, 'tenant'], 'is required (or tenants: a list of tenant names, group:<name> or all)')];
  }
  if (tenant !== undefined && list !== undefined) {
    return [source.problem(['jobs', name, 'tenants'], 'give either tenant (one tenant) or tenants (a list), not both')];
  }
  if (typeof tenant === 'string' && !Object.hasOwn(tenants, tenant)) {
    const suggestion = closest(tenant, known);
    const hint = suggestion ? ` (did you mean '${suggestion}'?)` : known.length > 0 ? ` (defined: ${known.join(', ')})` : ' (no tenants are defined)';
    return [source.problem(['jobs', name, 'tenant'], `unknown tenant '${tenant}'${hint}`)];
  }
  const strings = (value: unknown): string[] | undefined => (Array.isArray(value) && value.every((entry) => typeof entry === 'string') ? value : undefined);
  const include = typeof tenant === 'string' ? [tenant] : strings(list);
  const exclude = job['excludeTenants'] === undefined ? [] : strings(job['excludeTenants']);
  // Shapes the schema rejects are reported there.
  if (!include || !exclude) return problems;
  const selection = resolveTenantSelection(include, exclude, known, groups);
  for (const problem of selection.problems) {
    const at = problem.message === 'leaves no tenant to run for' ? ['jobs', name, problem.list] : ['jobs', name, problem.list, problem.index];
    problems.push(source.problem(at, problem.message));
  }
  return problems;
}

/**
 * `cmdlet` or `steps` (not both); step names unique; forEach names an earlier step; write cmdlets
 * only with allowWrite; templates use known names, `item` only in forEach steps and the window
 * only with `initialWindow`.
 */
function checkJobSteps(source: YamlSource, name: string, job: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const steps = job['steps'];
  if (job['cmdlet'] === undefined && steps === undefined) {
    return [source.problem(['jobs', name, 'cmdlet'], 'is required (or steps: a list of cmdlets run in order)')];
  }
  const written: { path: (string | number)[]; step: Record<string, unknown> }[] = [];
  if (steps !== undefined) {
    for (const key of ['cmdlet', 'service', 'parameters', 'select']) {
      if (job[key] !== undefined) problems.push(source.problem(['jobs', name, key], `belongs in each step when the job has steps; move it into a step`));
    }
    if (Array.isArray(steps)) {
      steps.forEach((step, index) => {
        const record = asRecord(step);
        if (record) written.push({ path: ['jobs', name, 'steps', index], step: record });
      });
    }
  } else {
    written.push({ path: ['jobs', name], step: job });
  }

  const allowWrite = job['allowWrite'] === true;
  const hasWindow = job['initialWindow'] !== undefined;
  const seen: string[] = [];
  for (const { path: stepPath, step } of written) {
    const stepName = step['name'];
    if (typeof stepName === 'string') {
      if (seen.includes(stepName)) problems.push(source.problem([...stepPath, 'name'], `duplicate step name '${stepName}'`));
      if (stepName.toLowerCase() === 'manifest') problems.push(source.problem([...stepPath, 'name'], `'manifest' is reserved (manifest files use it)`));
    }
    const forEach = step['forEach'];
    if (typeof forEach === 'string' && !seen.includes(forEach)) {
      const hint = seen.length > 0 ? ` (earlier steps: ${seen.join(', ')})` : ' (it is the first step; nothing comes before it)';
      problems.push(source.problem([...stepPath, 'forEach'], `must name an earlier step; '${forEach}' is not one${hint}`));
    }
    const cmdlet = step['cmdlet'];
    if (typeof cmdlet === 'string' && !isReadOnlyCmdlet(cmdlet) && !allowWrite) {
      problems.push(
        source.problem(
          [...stepPath, 'cmdlet'],
          `'${cmdlet}' can change the tenant; only ${READ_ONLY_VERBS.map((verb) => `${verb}-`).join(', ')} cmdlets run without allowWrite: true on the job`,
        ),
      );
    }
    const found = templateExpressionsIn(step['parameters'], [...stepPath, 'parameters']);
    for (const problem of found.problems) problems.push(source.problem(problem.path, problem.message));
    for (const { path: at, expression } of found.expressions) {
      const kind = expression.reference.kind;
      if (kind === 'item' && forEach === undefined) {
        problems.push(source.problem(at, `'\${${expression.source}}' reads a forEach item, but this step has no forEach`));
      }
      if ((kind === 'window.start' || kind === 'window.end') && !hasWindow) {
        problems.push(
          source.problem(at, `'\${${expression.source}}' needs initialWindow on the job (the length of the first run's window, e.g. initialWindow: 1d)`),
        );
      }
    }
    if (typeof stepName === 'string') seen.push(stepName);
  }
  return problems;
}

/** The keys the schema allows at `path`, for "did you mean" hints. */
function knownKeysAt(issuePath: readonly PropertyKey[]): string[] {
  let schema: z.core.$ZodType | undefined = jobsFileSchema;
  for (const segment of issuePath) {
    schema = schema ? childSchema(unwrap(schema), segment) : undefined;
  }
  const objectSchema = schema ? unwrap(schema) : undefined;
  if (objectSchema instanceof z.ZodUnion) {
    return [...new Set((objectSchema.options as z.core.$ZodType[]).flatMap((option) => (option instanceof z.ZodObject ? Object.keys(option.shape) : [])))];
  }
  return objectSchema instanceof z.ZodObject ? Object.keys(objectSchema.shape) : [];
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodNullable) {
    current = current.unwrap();
  }
  return current;
}

function childSchema(schema: z.core.$ZodType, segment: PropertyKey): z.core.$ZodType | undefined {
  if (schema instanceof z.ZodObject) return (schema.shape as Record<string, z.core.$ZodType>)[String(segment)];
  if (schema instanceof z.ZodUnion) {
    // Any option that knows the key will do for a "did you mean" hint.
    for (const option of schema.options as z.core.$ZodType[]) {
      const child = childSchema(unwrap(option), segment);
      if (child) return child;
    }
    return undefined;
  }
  if (schema instanceof z.ZodRecord) return schema.valueType;
  if (schema instanceof z.ZodArray) return schema.element;
  return undefined;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= Math.max(1, Math.floor(candidate.length / 4)) && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function valueAt(value: unknown, issuePath: readonly PropertyKey[]): unknown {
  let current = value;
  for (const segment of issuePath) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

export type { JobsFile };
