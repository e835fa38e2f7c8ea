import path from 'node:path';
import { parseDurationMs } from '../core/index.js';
import type { OutputFormat, ServiceName } from '../core/index.js';
import {
  DEFAULT_OUTPUT_FORMATS,
  DEFAULT_RETRY_BACKOFF_MS,
  DEFAULT_RUN_ATTEMPTS,
  DEFAULT_PAGE_SIZE,
  DEFAULT_SIMULATED_MAILBOXES,
  DEFAULT_SLOTS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TIMEZONE,
  type AuthConfig,
  type ExorunConfig,
  type ItemFailureLimit,
  type JobConfig,
  type StepConfig,
  type TenantConfig,
  type TenantOverrides,
} from './model.js';
import { normalizeOperatorSettings, type OperatorJobSettings } from './operator.js';
import type { ConfigProblem } from './problems.js';
import { EXCHANGE_MODULE_CLIENT_ID, type JobInput, type JobsFile, type TenantInput } from './schema.js';
import { resolveTenantSelection } from './tenant-selection.js';

/**
 * Applies defaults, resolves paths against the file's folder and freezes the result. `onlyJobs`
 * limits the jobs normalised (a command that shows one job of a large file); the result then holds
 * only those jobs.
 */
export function normalizeConfig(file: JobsFile, absolutePath: string, warnings: readonly ConfigProblem[] = [], onlyJobs?: readonly string[]): ExorunConfig {
  const baseDir = path.dirname(absolutePath);
  const defaults = file.defaults ?? {};
  const defaultOutputDir = path.resolve(baseDir, defaults.output?.directory ?? './outputs');
  const defaultFormats = defaults.output?.formats ?? DEFAULT_OUTPUT_FORMATS;

  const tenants: Record<string, TenantConfig> = {};
  for (const [name, tenant] of Object.entries(file.tenants)) {
    tenants[name] = normalizeTenant(name, tenant, baseDir, {
      exo: defaults.limits?.exo ?? DEFAULT_SLOTS,
      ipps: defaults.limits?.ipps ?? DEFAULT_SLOTS,
    });
  }

  const jobs: Record<string, JobConfig> = {};
  const wanted =
    onlyJobs === undefined
      ? Object.entries(file.jobs)
      : onlyJobs.filter((name) => Object.hasOwn(file.jobs, name)).map((name) => [name, file.jobs[name] as JobInput] as const);
  for (const [name, job] of wanted) {
    const base = normalizeJob(name, job, baseDir, {
      timezone: defaults.timezone ?? DEFAULT_TIMEZONE,
      outputDir: defaultOutputDir,
      formats: defaultFormats,
      pageSize: defaults.pageSize ?? DEFAULT_PAGE_SIZE,
      tenantNames: Object.keys(file.tenants),
      tenantGroups: file.tenantGroups ?? {},
    });
    const csv = job.output?.csv ?? defaults.output?.csv;
    jobs[name] = { ...base, ...normalizeOperatorSettings(job, defaults), ...(csv === undefined ? {} : { output: { ...base.output, csv: { ...csv } } }) };
  }

  return deepFreeze({ file: absolutePath, version: 1, outputDirectory: defaultOutputDir, tenants, jobs, warnings: [...warnings] });
}

function normalizeTenant(name: string, tenant: TenantInput, baseDir: string, defaultLimits: Record<ServiceName, number>): TenantConfig {
  const cloud = tenant.cloud ?? 'commercial';
  return {
    name,
    organization: tenant.organization.toLowerCase(),
    ...(tenant.tenantId === undefined ? {} : { tenantId: tenant.tenantId.toLowerCase() }),
    cloud,
    ...(tenant.auth === undefined ? {} : { auth: normalizeAuth(tenant.auth, baseDir) }),
    ...overridesOf(tenant),
    limits: { exo: tenant.limits?.exo ?? defaultLimits.exo, ipps: tenant.limits?.ipps ?? defaultLimits.ipps },
    ...(cloud === 'simulated'
      ? {
          simulator: {
            seed: tenant.simulator?.seed ?? 1,
            mailboxes: tenant.simulator?.mailboxes ?? DEFAULT_SIMULATED_MAILBOXES,
            ...(tenant.simulator?.latencyMs === undefined ? {} : { latencyMs: tenant.simulator.latencyMs }),
            ...(tenant.simulator?.concurrencyCap === undefined ? {} : { concurrencyCap: tenant.simulator.concurrencyCap }),
          },
        }
      : {}),
  };
}

function normalizeAuth(auth: NonNullable<TenantInput['auth']>, baseDir: string): AuthConfig {
  if (auth.type === 'delegated') {
    return { type: 'delegated', account: auth.account.toLowerCase(), clientId: (auth.clientId ?? EXCHANGE_MODULE_CLIENT_ID).toLowerCase() };
  }
  return {
    type: 'certificate',
    clientId: auth.clientId.toLowerCase(),
    certificatePath: path.resolve(baseDir, auth.certificate.path),
    ...(auth.certificate.keyPath === undefined ? {} : { keyPath: path.resolve(baseDir, auth.certificate.keyPath) }),
    ...(auth.certificate.password === undefined ? {} : { password: secretRef(auth.certificate.password, baseDir) }),
    sendX5c: auth.certificate.sendX5c ?? false,
  };
}

/**
 * The module's -ConnectionUri and -AzureADAuthorizationEndpointUri, and the token audience,
 * reduced to the origins exorun uses (scheme, host and any port). The authority's path
 * (`/common`, `/organizations`) is not kept: the tenant takes its place when signing in.
 */
function overridesOf(tenant: TenantInput): Pick<TenantConfig, 'overrides'> {
  const connection = perService(tenant.connectionUri);
  const resource = perService(tenant.resource);
  const overrides: { -readonly [Key in keyof TenantOverrides]: TenantOverrides[Key] } = {};
  if (connection.exo !== undefined) overrides.exoUrl = connection.exo;
  if (connection.ipps !== undefined) overrides.ippsUrl = connection.ipps;
  if (tenant.authority !== undefined) overrides.authorityHost = new URL(tenant.authority).origin;
  if (resource.exo !== undefined) overrides.exoResource = resource.exo;
  if (resource.ipps !== undefined) overrides.ippsResource = resource.ipps;
  return Object.keys(overrides).length === 0 ? {} : { overrides };
}

/** A bare URL is Exchange Online's; `{ exo, ipps }` names each service. Origins only. */
function perService(value: TenantInput['connectionUri']): { exo?: string; ipps?: string } {
  if (value === undefined) return {};
  if (typeof value === 'string') return { exo: new URL(value).origin };
  return {
    ...(value.exo === undefined ? {} : { exo: new URL(value.exo).origin }),
    ...(value.ipps === undefined ? {} : { ipps: new URL(value.ipps).origin }),
  };
}

function normalizeJob(
  name: string,
  job: JobInput,
  baseDir: string,
  defaults: {
    timezone: string;
    outputDir: string;
    formats: readonly OutputFormat[];
    pageSize: number;
    tenantNames: readonly string[];
    tenantGroups: Readonly<Record<string, readonly string[]>>;
  },
): Omit<JobConfig, keyof OperatorJobSettings> {
  const formats = job.output?.formats ?? defaults.formats;
  const pageSize = job.pageSize ?? defaults.pageSize;
  // A job written with cmdlet: is a one-step job; the step is named after the cmdlet for logs.
  const written = job.steps ?? [{ name: job.cmdlet ?? '', cmdlet: job.cmdlet ?? '', service: job.service, parameters: job.parameters, select: job.select }];
  const forEachSources = new Set(written.map((step) => ('forEach' in step ? step.forEach : undefined)).filter((source) => source !== undefined));
  const steps: StepConfig[] = written.map((step) => {
    const stepFormats = 'output' in step ? step.output?.formats : undefined;
    const ownFormats = stepFormats ?? formats;
    return {
      name: step.name,
      service: step.service ?? 'exo',
      cmdlet: step.cmdlet,
      parameters: step.parameters ?? {},
      ...(step.select === undefined ? {} : { select: step.select }),
      ...('forEach' in step && step.forEach !== undefined ? { forEach: step.forEach } : {}),
      // forEach streams the source step's JSONL file, so a source always writes one.
      formats: forEachSources.has(step.name) && !ownFormats.includes('jsonl') ? [...ownFormats, 'jsonl'] : ownFormats,
      pageSize: ('pageSize' in step ? step.pageSize : undefined) ?? pageSize,
    };
  });
  const selection = resolveTenantSelection(
    job.tenants ?? (job.tenant === undefined ? [] : [job.tenant]),
    job.excludeTenants ?? [],
    defaults.tenantNames,
    defaults.tenantGroups,
  );
  return {
    name,
    ...(job.description === undefined ? {} : { description: job.description }),
    enabled: job.enabled ?? true,
    ...(job.schedule === undefined ? {} : { schedule: job.schedule.trim() }),
    timezone: job.timezone ?? defaults.timezone,
    tenants: selection.tenants,
    steps,
    namedSteps: job.steps !== undefined,
    output: {
      directory: job.output?.directory === undefined ? defaults.outputDir : path.resolve(baseDir, job.output.directory),
      formats,
    },
    timeoutMs: job.timeout === undefined ? DEFAULT_TIMEOUT_MS : (parseDurationMs(job.timeout) ?? DEFAULT_TIMEOUT_MS),
    allowWrite: job.allowWrite ?? false,
    maxItemFailures: itemFailureLimit(job.maxItemFailures),
    ...(job.initialWindow === undefined ? {} : { initialWindowMs: parseDurationMs(job.initialWindow) ?? 0 }),
    overlap: job.overlap ?? 'allow',
    retry: {
      attempts: job.retry?.attempts ?? DEFAULT_RUN_ATTEMPTS,
      backoffMs: job.retry?.backoff === undefined ? DEFAULT_RETRY_BACKOFF_MS : (parseDurationMs(job.retry.backoff) ?? DEFAULT_RETRY_BACKOFF_MS),
    },
  };
}

function itemFailureLimit(value: JobInput['maxItemFailures']): ItemFailureLimit {
  if (value === undefined) return { count: 0 };
  if (typeof value === 'number') return { count: value };
  return { percent: Number(value.slice(0, -1)) };
}

function secretRef(reference: { env?: string | undefined; file?: string | undefined }, baseDir: string): { env: string } | { file: string } {
  return reference.env !== undefined ? { env: reference.env } : { file: path.resolve(baseDir, reference.file ?? '') };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
