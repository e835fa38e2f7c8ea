import { constants as fsConstants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AppError, isAppError } from '../core/index.js';
import { isReadOnlyCmdlet, READ_ONLY_VERBS, writingParametersOf } from '../core/index.js';
import { templateExpressionsIn } from '../core/index.js';
import { controlCharacterProblems, decodeConfigText } from './encoding.js';
import type { CertificateAuthConfig, ExorunConfig, JobConfig, SecretRef } from './model.js';
import { normalizeConfig } from './normalize.js';
import { clip, configError, printable, sortProblems, type ConfigProblem } from './problems.js';
import { jobsFileSchema, NAME_RULE, secretSchemas, type JobsFile } from './schema.js';
import { checkTenantGroups, listSome, resolveTenantSelection } from './tenant-selection.js';
import { collectWarnings } from './warnings.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

export type CheckResult = { ok: true; config: ExorunConfig; warnings: ConfigProblem[] } | { ok: false; problems: ConfigProblem[]; warnings: ConfigProblem[] };

export interface CheckOptions {
  /** "Now" for checks that look ahead (daylight-saving changes in the coming year). Default: now. */
  nowMs?: number;
}

/**
 * Checks jobs.yaml text and returns either the normalised configuration or every problem found,
 * each located at file:line:col, with the warnings in both cases. `displayName` is how the file is
 * named in messages; `absolutePath` anchors relative paths (certificates, output directory). Pure:
 * reads no file and no environment variable (see {@link checkConfigFile}). Never throws for
 * anything in the text.
 */
export function checkConfigText(text: string, displayName: string, absolutePath: string, options: CheckOptions = {}): CheckResult {
  return checkText(text, displayName, absolutePath, options).result;
}

/** Limits the work after the problem checks: `onlyJob` normalises just that job and skips warnings. */
interface CheckScope {
  onlyJob?: string;
}

function checkText(
  text: string,
  displayName: string,
  absolutePath: string,
  options: CheckOptions,
  scope: CheckScope = {},
): { result: CheckResult; source?: YamlSource } {
  const controlProblems = controlCharacterProblems(text, displayName);
  if (controlProblems.length > 0) return { result: { ok: false, problems: controlProblems, warnings: [] } };
  const source = parseYamlSource(text, displayName);
  // Syntax errors leave the structure unreliable; schema messages on top of them would mislead.
  if (source.syntaxProblems.length > 0) return { result: { ok: false, problems: source.syntaxProblems, warnings: [] } };

  const problems: ConfigProblem[] = [...source.duplicateKeyProblems];
  const parsed = jobsFileSchema.safeParse(withoutExtensionKeys(source.value ?? {}));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, source));
  }
  problems.push(...crossCheck(source));
  const resolvedPath = path.resolve(absolutePath);
  const warnings =
    parsed.success && scope.onlyJob === undefined
      ? sortProblems([...source.yamlWarnings, ...collectWarnings(parsed.data, source, { nowMs: options.nowMs ?? Date.now(), absolutePath: resolvedPath })])
      : [];
  if (problems.length > 0 || !parsed.success) return { result: { ok: false, problems, warnings }, source };
  const config = normalizeConfig(parsed.data, resolvedPath, warnings, scope.onlyJob === undefined ? undefined : [scope.onlyJob]);
  return { result: { ok: true, config, warnings }, source };
}

/**
 * For commands that show one job (`exorun next`): the file is checked for problems exactly as a
 * service checks it — any problem refuses it (CFG_JOBS_INVALID) — but only `jobName` is
 * normalised and no warnings are computed, so a 10,000-job file costs little more than reading it.
 * `job` is undefined when the file has no such job; `jobNames` lists the jobs it has.
 */
export async function loadJobPreview(file: string, jobName: string): Promise<{ job: JobConfig | undefined; jobNames: string[] }> {
  const { result, source } = checkText(await readConfigText(file), file, file, {}, { onlyJob: jobName });
  if (!result.ok) throw configError(file, result.problems);
  const jobNames = Object.keys(asRecord(asRecord(source?.value)?.['jobs']) ?? {});
  return { job: Object.hasOwn(result.config.jobs, jobName) ? result.config.jobs[jobName] : undefined, jobNames };
}

/**
 * Top-level keys starting with `x-` are left for the file's own use — typically anchors that jobs
 * merge (`x-nightly: &nightly {…}` then `<<: *nightly`), as in Compose files. Every other unknown
 * key is still an error.
 */
export const EXTENSION_KEY_PREFIX = 'x-';

function withoutExtensionKeys(value: unknown): unknown {
  const root = asRecord(value);
  if (!root || !Object.keys(root).some((key) => key.startsWith(EXTENSION_KEY_PREFIX))) return value;
  return Object.fromEntries(Object.entries(root).filter(([key]) => !key.startsWith(EXTENSION_KEY_PREFIX)));
}

/** Parses jobs.yaml text; throws CFG_JOBS_INVALID listing every problem. */
export function parseConfigText(text: string, displayName: string, absolutePath: string, options: CheckOptions = {}): ExorunConfig {
  const result = checkConfigText(text, displayName, absolutePath, options);
  if (!result.ok) throw configError(displayName, result.problems);
  return result.config;
}

export interface FileCheckOptions extends CheckOptions {
  /** Where `{ env: NAME }` secrets are looked up (only whether they are set). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Reads a tenant's certificate and says what is wrong with it (missing file, wrong password,
   * expired), or undefined. `exorun validate` passes one; config itself never opens certificates.
   */
  inspectCertificate?: CertificateInspector;
}

/** What a certificate check found, and which of the certificate's keys it concerns. */
export interface CertificateFinding {
  key: 'path' | 'keyPath' | 'password';
  message: string;
}

export type CertificateInspector = (auth: CertificateAuthConfig, env: NodeJS.ProcessEnv) => Promise<CertificateFinding | undefined>;

/**
 * Reads and checks a jobs.yaml file: everything {@link checkConfigText} does, and warnings about
 * secrets that are not there (an unset environment variable, a missing secret file) and, with
 * `inspectCertificate`, about certificates. Throws only CFG_FILE_NOT_FOUND, or CFG_JOBS_INVALID
 * for a file that is not UTF-8 text.
 */
export async function checkConfigFile(file: string, options: FileCheckOptions = {}): Promise<CheckResult> {
  const text = await readConfigText(file);
  const { result, source } = checkText(text, file, file, options);
  if (!result.ok || !source) return result;
  const extra = await environmentWarnings(result.config, source, options);
  if (extra.length === 0) return result;
  const warnings = sortProblems([...result.warnings, ...extra]);
  return { ok: true, config: Object.freeze({ ...result.config, warnings: Object.freeze(warnings) }), warnings };
}

/** Reads and parses a jobs.yaml file; throws CFG_FILE_NOT_FOUND or CFG_JOBS_INVALID. */
export async function loadConfigFile(file: string, options: FileCheckOptions = {}): Promise<ExorunConfig> {
  const result = await checkConfigFile(file, options);
  if (!result.ok) throw configError(file, result.problems);
  return result.config;
}

/** A jobs.yaml larger than this is not a jobs file (10,000 jobs take about 3 MiB). */
const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

/** Reads a configuration file as UTF-8 text; throws CFG_FILE_NOT_FOUND, or CFG_JOBS_INVALID naming the encoding problem. */
export async function readConfigText(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    const info = await stat(file);
    if (info.isFile() && info.size > MAX_CONFIG_BYTES) {
      throw configError(file, [
        {
          file,
          line: 1,
          col: 1,
          path: '',
          message: `${file} is ${Math.round(info.size / 1024 / 1024)} MiB, too large for a jobs file; pass the jobs.yaml file`,
        },
      ]);
    }
    bytes = await readFile(file);
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new AppError(
      'CFG_FILE_NOT_FOUND',
      `Cannot read ${printable(file)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}. Pass the file with --config or EXORUN_CONFIG.`,
      { cause: error },
    );
  }
  const decoded = decodeConfigText(bytes, file);
  if ('problem' in decoded) throw configError(file, [decoded.problem]);
  return decoded.text;
}

/**
 * Secrets a loaded file refers to that are not there. Only presence is checked: a value is never
 * read into a message (certificate passwords are read by the inspector, and only to open the file).
 */
async function environmentWarnings(config: ExorunConfig, source: YamlSource, options: FileCheckOptions): Promise<ConfigProblem[]> {
  const env = options.env ?? process.env;
  const warnings: ConfigProblem[] = [];
  const checkSecret = async (at: (string | number)[], reference: SecretRef, what: string): Promise<void> => {
    if ('env' in reference) {
      if (env[reference.env] === undefined || env[reference.env] === '') {
        warnings.push(source.problem(at, `the environment variable ${reference.env} (${what}) is not set`));
      }
      return;
    }
    try {
      await access(reference.file, fsConstants.R_OK);
    } catch (error) {
      warnings.push(
        source.problem(at, `the secret file ${reference.file} (${what}) cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`),
      );
    }
  };

  for (const tenant of Object.values(config.tenants)) {
    const auth = tenant.auth;
    if (auth?.type !== 'certificate') continue;
    const at = ['tenants', tenant.name, 'auth', 'certificate'];
    if (auth.password) await checkSecret([...at, 'password'], auth.password, 'the certificate password');
    const finding = await options.inspectCertificate?.(auth, env);
    if (finding) warnings.push(source.problem([...at, finding.key], finding.message));
  }
  // Jobs share the default webhooks; each variable is reported once, at the first place it is named.
  const reported = new Set<string>();
  const hooks = (owner: (string | number)[], notify: readonly unknown[] | undefined): void => {
    (notify ?? []).forEach((hook, index) => {
      const url = asRecord(asRecord(hook)?.['url']);
      const name = url?.['env'];
      if (typeof name !== 'string' || reported.has(name)) return;
      reported.add(name);
      if (env[name] === undefined || env[name] === '') {
        warnings.push(source.problem([...owner, index, 'url', 'env'], `the environment variable ${name} (a webhook URL) is not set`));
      }
    });
  };
  const root = asRecord(source.value);
  hooks(['defaults', 'notify'], asArray(asRecord(root?.['defaults'])?.['notify']));
  for (const [name, job] of Object.entries(asRecord(root?.['jobs']) ?? {})) hooks(['jobs', name, 'notify'], asArray(asRecord(job)?.['notify']));
  return warnings;
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
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Of a union's options, the ones whose type the value has say what is wrong with it (a
    // string for `maxItemFailures: lots`); the others only say "expected number".
    const relevant = issue.errors.filter((branch) => branch.length > 0 && !branch.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
    if (relevant.length === 1) {
      return (relevant[0] ?? []).flatMap((inner) => describeIssue({ ...inner, path: [...issuePath, ...inner.path] }, source));
    }
  }
  const received = valueAt(source.value, issuePath);
  if (issue.code === 'invalid_key') {
    // A record key (job or tenant name) failed its pattern: point at the key itself.
    const key = String(issuePath[issuePath.length - 1]);
    const parent = issuePath.slice(0, -1);
    const message = issue.issues[0]?.message ?? 'is not allowed';
    return [source.problem(issuePath, `name '${clip(key)}' ${message}${nameHint(key, message)}`, source.locateKey(parent, key))];
  }
  if (received === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) {
    return [source.problem(issuePath, 'is required')];
  }
  if (isSecretAt(issuePath) && (received === null || typeof received !== 'object')) {
    // Never quote it: this is most likely the secret itself, written inline.
    return [source.problem(issuePath, 'looks like a secret written inline; use `{ env: NAME }` or `{ file: path }` (the value is not shown)')];
  }
  if (issue.code === 'invalid_format' && typeof received === 'string' && issue.message.includes(NAME_RULE)) {
    return [source.problem(issuePath, `${issue.message}${nameHint(received, issue.message)}`)];
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

  problems.push(...caseCollisions(source, ['tenants'], Object.keys(tenants), 'tenant'));
  problems.push(...caseCollisions(source, ['jobs'], Object.keys(jobs), 'job'));

  const groups = tenantGroupsOf(root?.['tenantGroups']);
  for (const problem of checkTenantGroups(Object.keys(tenants), groups)) {
    problems.push(source.problem(['tenantGroups', problem.group, problem.index], problem.message));
  }
  for (const [name, rawJob] of Object.entries(jobs)) {
    const job = asRecord(rawJob);
    if (!job) continue;
    problems.push(...checkJobTenants(source, name, job, tenants, groups));
    problems.push(...checkJobSteps(source, name, job));
  }
  return problems;
}

/**
 * Names that differ only by case are refused: they name the same folder on case-insensitive file
 * systems (macOS, Windows) and the same key where names are lower-cased (the limiter's Redis keys).
 * Reported at the later name.
 */
function caseCollisions(source: YamlSource, mapPath: (string | number)[], names: readonly string[], what: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const first = new Map<string, string>();
  for (const name of names) {
    const folded = name.toLowerCase();
    const earlier = first.get(folded);
    if (earlier === undefined) first.set(folded, name);
    else if (earlier !== name) {
      problems.push(
        source.problem(
          [...mapPath, name],
          `${what} name '${name}' differs from '${earlier}' (line ${source.locateKey(mapPath, earlier).line}) only by case; names must differ by more than case (they would share files on case-insensitive file systems and Redis keys)`,
          source.locateKey(mapPath, name),
        ),
      );
    }
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
    const hint = suggestion ? ` (did you mean '${suggestion}'?)` : known.length > 0 ? ` (defined: ${listSome(known)})` : ' (no tenants are defined)';
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
      const sameButCase = seen.find((earlier) => earlier !== stepName && earlier.toLowerCase() === stepName.toLowerCase());
      if (seen.includes(stepName)) problems.push(source.problem([...stepPath, 'name'], `duplicate step name '${stepName}'`));
      else if (sameButCase) {
        problems.push(
          source.problem(
            [...stepPath, 'name'],
            `step name '${stepName}' differs from '${sameButCase}' only by case; names must differ by more than case (their output files would collide on case-insensitive file systems)`,
          ),
        );
      }
      if (stepName.toLowerCase() === 'manifest') problems.push(source.problem([...stepPath, 'name'], `'manifest' is reserved (manifest files use it)`));
    }
    const forEach = step['forEach'];
    if (typeof forEach === 'string' && !seen.includes(forEach)) {
      const hint = seen.length > 0 ? ` (earlier steps: ${seen.join(', ')})` : ' (it is the first step; nothing comes before it)';
      problems.push(source.problem([...stepPath, 'forEach'], `must name an earlier step; '${forEach}' is not one${hint}`));
    }
    const cmdlet = step['cmdlet'];
    const parameters = asRecord(step['parameters']) ?? {};
    if (typeof cmdlet === 'string' && !isReadOnlyCmdlet(cmdlet) && !allowWrite) {
      problems.push(
        source.problem(
          [...stepPath, 'cmdlet'],
          `'${cmdlet}' can change the tenant; only ${READ_ONLY_VERBS.map((verb) => `${verb}-`).join(', ')} cmdlets run without allowWrite: true on the job`,
        ),
      );
    } else if (typeof cmdlet === 'string' && !allowWrite) {
      for (const parameter of writingParametersOf(parameters)) {
        problems.push(
          source.problem(
            [...stepPath, 'parameters', parameter],
            `${parameter} makes '${cmdlet}' change the tenant (it deletes or copies mailbox content); it runs only with allowWrite: true on the job`,
            source.locateKey([...stepPath, 'parameters'], parameter),
          ),
        );
      }
    }
    problems.push(...checkParameters(source, [...stepPath, 'parameters'], parameters));
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

/** Names are ASCII on purpose (see NAME_PATTERN); say which letter is the problem. */
function nameHint(name: string, message: string): string {
  // eslint-disable-next-line no-control-regex
  const letter = /[^\u0000-\u007f]/u.exec(name)?.[0];
  return letter && message.includes(NAME_RULE) ? ` — '${letter}' is not an ASCII letter; a readable title can go in description` : '';
}

/** True when the schema at `issuePath` is a secret reference. */
function isSecretAt(issuePath: readonly PropertyKey[]): boolean {
  const schema = schemaAt(issuePath);
  return schema !== undefined && secretSchemas.has(unwrap(schema));
}

function schemaAt(issuePath: readonly PropertyKey[]): z.core.$ZodType | undefined {
  let schema: z.core.$ZodType | undefined = jobsFileSchema;
  for (const segment of issuePath) {
    schema = schema ? childSchema(unwrap(schema), segment) : undefined;
  }
  return schema;
}

/**
 * Parameter names are case-insensitive in PowerShell, so `ResultSize` and `resultsize` are one
 * parameter given twice. Numbers must be finite: JSON has no Infinity or NaN (`1e400`, `.inf`,
 * `.nan` would be sent as null).
 */
function checkParameters(source: YamlSource, at: (string | number)[], parameters: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const first = new Map<string, string>();
  for (const name of Object.keys(parameters)) {
    const earlier = first.get(name.toLowerCase());
    if (earlier === undefined) first.set(name.toLowerCase(), name);
    else {
      problems.push(
        source.problem(
          [...at, name],
          `parameter '${name}' is '${earlier}' again (parameter names are case-insensitive); give it once`,
          source.locateKey(at, name),
        ),
      );
    }
  }
  const visit = (value: unknown, valuePath: (string | number)[]): void => {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      problems.push(source.problem(valuePath, `is not a finite number (${String(value)}); JSON cannot carry it and it would be sent as null`));
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, [...valuePath, index]));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(item, [...valuePath, key]);
    }
  };
  visit(parameters, at);
  return problems;
}

/** The keys the schema allows at `path`, for "did you mean" hints. */
function knownKeysAt(issuePath: readonly PropertyKey[]): string[] {
  const schema = schemaAt(issuePath);
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
  if (value instanceof Uint8Array) return 'binary data (!!binary)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `'${clip(value)}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

export type { JobsFile };

function asArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}
