import type { CloudName, CsvSettings, OutputFormat, SecretRef, ServiceName } from '../core/index.js';
import type { RunStep } from '../core/index.js';
import type { OperatorJobSettings } from './operator.js';
import type { ConfigProblem } from './problems.js';

export type { SecretRef } from '../core/index.js';

/**
 * The loaded configuration with every default applied and every path made absolute. Objects are
 * frozen: a running scheduler or worker never sees a half-updated configuration; a reload builds a
 * new one.
 */
export interface ExorunConfig {
  /** Absolute path of the jobs.yaml this came from. */
  readonly file: string;
  readonly version: 1;
  /** Output root for runs whose job this process does not know (defaults.output.directory). */
  readonly outputDirectory: string;
  readonly tenants: Readonly<Record<string, TenantConfig>>;
  readonly jobs: Readonly<Record<string, JobConfig>>;
  /**
   * What the file allows but probably does not mean (a bare-number duration, a time the clocks
   * skip, an unset secret variable…), each at file:line:col. Services log them once when the file
   * is loaded; `exorun validate` prints them.
   */
  readonly warnings: readonly ConfigProblem[];
}

export interface CertificateAuthConfig {
  readonly type: 'certificate';
  readonly clientId: string;
  /** Absolute path of the PEM or PFX file. */
  readonly certificatePath: string;
  readonly keyPath?: string;
  readonly password?: SecretRef;
  readonly sendX5c: boolean;
}

export interface DelegatedAuthConfig {
  readonly type: 'delegated';
  /** UPN of the admin account whose session `exorun login` stored. */
  readonly account: string;
  readonly clientId: string;
}

export type AuthConfig = CertificateAuthConfig | DelegatedAuthConfig;

export interface SimulatedTenantConfig {
  readonly seed: number;
  readonly mailboxes: number;
  readonly latencyMs?: number;
  readonly concurrencyCap?: number;
}

export interface TenantConfig {
  readonly name: string;
  readonly organization: string;
  readonly tenantId?: string;
  readonly cloud: CloudName;
  /** Absent only for `cloud: simulated`, which then signs in with a generated certificate. */
  readonly auth?: AuthConfig;
  /** Overrides of the cloud's addresses and token audiences; absent when jobs.yaml sets none. */
  readonly overrides?: TenantOverrides;
  /** Slots per service, across all workers. */
  readonly limits: Readonly<Record<ServiceName, number>>;
  readonly simulator?: SimulatedTenantConfig;
}

/**
 * What a tenant overrides of its cloud's endpoints (jobs.yaml `connectionUri`, `authority`,
 * `resource`). Every value is an origin: scheme, host and port, no path.
 */
export interface TenantOverrides {
  /** Exchange Online address (the module's -ConnectionUri). */
  readonly exoUrl?: string;
  /** Security & Compliance address (the module's -ConnectionUri with Connect-IPPSSession). */
  readonly ippsUrl?: string;
  /**
   * Sign-in host (the module's -AzureADAuthorizationEndpointUri), port included
   * (`https://sim.localhost:8443`); the tenant is appended as the path.
   */
  readonly authorityHost?: string;
  /** Token audience for Exchange Online; absent: it follows the address (`exoUrl` or the cloud's). */
  readonly exoResource?: string;
  /** Token audience for Security & Compliance; absent: it follows the address. */
  readonly ippsResource?: string;
}

export interface JobConfig extends OperatorJobSettings {
  readonly name: string;
  readonly description?: string;
  readonly enabled: boolean;
  /** Cron expression; absent for jobs that only run on demand. */
  readonly schedule?: string;
  readonly timezone: string;
  /** The tenants the job runs for, one run each: `tenant`, or `tenants` with groups and `all` expanded, minus `excludeTenants`. */
  readonly tenants: readonly string[];
  /** The cmdlets of a run, in order; a job written with `cmdlet:` has one step named after the cmdlet. */
  readonly steps: readonly StepConfig[];
  /**
   * True when the job was written with `steps:`: each step's output set is named
   * `<runId>.<step>`. A single-cmdlet job keeps the plain `<runId>` names.
   */
  readonly namedSteps: boolean;
  readonly output: {
    readonly directory: string;
    readonly formats: readonly OutputFormat[];
    readonly csv?: Readonly<CsvSettings>;
  };
  readonly timeoutMs: number;
  readonly allowWrite: boolean;
  /** forEach items that may fail before the run fails. */
  readonly maxItemFailures: ItemFailureLimit;
  /** Length of the first `${window.start}`..`${window.end}` interval; set when a step uses the window. */
  readonly initialWindowMs?: number;
  readonly overlap: OverlapPolicy;
  readonly retry: { readonly attempts: number; readonly backoffMs: number };
}

/** One cmdlet of a job, with the job's defaults applied. */
/**
 * One cmdlet of a job, with the job's defaults applied: exactly a run plan's step (the one
 * definition, src/core/run-plan.ts), read-only. Strings in `parameters` may hold `${…}` templates,
 * resolved per run (and per item); `formats` always includes jsonl when a later step iterates over
 * this one (forEach streams that file).
 */
export type StepConfig = DeepReadonly<RunStep>;

/** Read-only all the way down (configuration objects are frozen). */
type DeepReadonly<T> = T extends (infer Item)[] ? readonly DeepReadonly<Item>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

export type ItemFailureLimit = { readonly count: number } | { readonly percent: number };

/**
 * What happens when a run of a job for a tenant is due while another is still queued or running:
 * `skip` drops the new one, `queue-one` keeps at most one waiting behind a running one, `allow`
 * queues every run.
 */
export type OverlapPolicy = 'skip' | 'queue-one' | 'allow';

export const DEFAULT_TIMEZONE = 'UTC';
export const DEFAULT_SLOTS = 3;
export const DEFAULT_PAGE_SIZE = 1000;
export const DEFAULT_TIMEOUT_MS = 3_600_000;
export const DEFAULT_OUTPUT_FORMATS: readonly OutputFormat[] = ['jsonl', 'csv'];
export const DEFAULT_SIMULATED_MAILBOXES = 250;
export const DEFAULT_RUN_ATTEMPTS = 3;
export const DEFAULT_RETRY_BACKOFF_MS = 10_000;
