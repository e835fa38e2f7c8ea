import type { ServiceName } from '../core/ports.js';

/** The four HTTPS listeners: Entra (login), EXO, the global IPPS host and its regional host. */
export type SimulatorRole = 'login' | 'exo' | 'ipps' | 'ippsRegional';

export const SIMULATOR_ROLES: readonly SimulatorRole[] = ['login', 'exo', 'ipps', 'ippsRegional'];

/** Injected failures for InvokeCommand requests. */
export interface SimulatorFaults {
  /** Probability (0..1) that an InvokeCommand request is answered 429 with Retry-After. */
  throttleRate?: number;
  /** Probability (0..1) of 503. */
  unavailableRate?: number;
  /** Retry-After value to send, seconds (may be fractional); default 1. */
  retryAfterSec?: number;
  /** How Retry-After is written: 'seconds' (default) | 'http-date'. */
  retryAfterFormat?: 'seconds' | 'http-date';
  /** PRNG seed for fault decisions (deterministic). */
  seed?: number;
}

/** Settings a tenant may override; unset fields fall back to the server defaults. */
export interface TenantSettings {
  /** Fixed delay before each InvokeCommand response, ms (the request counts as in flight meanwhile). Default 0. */
  latencyMs?: number;
  /** Max simultaneous InvokeCommand requests per (tenant, service). Default 3. */
  concurrencyCap?: number;
  faults?: SimulatorFaults;
  /**
   * How `error.details[].message` is written: 'A' = `{ErrorId}|{ExceptionType}|{Text}` (default),
   * 'B' = a JSON string `{"Message","TypeName","StackTrace":null,"InnerError":null}` (reference §1.7).
   */
  errorFormat?: 'A' | 'B';
}

export interface SimulatorOptions extends TenantSettings {
  /** Default '127.0.0.1'. */
  bindHost?: string;
  /** Host name used in URLs and the server certificate; default '127.0.0.1'. The SAN always also has localhost, 127.0.0.1 and ::1. */
  publicHost?: string;
  /** Absent/0 → ephemeral port. */
  ports?: Partial<Record<SimulatorRole, number>>;
  /** Paging cursor lifetime; default 30 min (the real service's 00:30:00). */
  cursorTtlMs?: number;
  /** Access token lifetime; default 3600. */
  tokenLifetimeSec?: number;
  /** Bearer for the /_simulator control API; random if absent. */
  adminKey?: string;
  /** Reuse a CA so restarts keep trust; generated if absent. */
  ca?: { certPem: string; keyPem: string };
  /** Gzip admin API bodies when the client sends `Accept-Encoding: gzip`, as the service does. Default true. */
  gzip?: boolean;
}

export interface ProvisionRequest extends TenantSettings {
  /** e.g. 'contoso.onmicrosoft.com'. */
  organization: string;
  /** Default 1. */
  seed?: number;
  /** Default 250; up to millions without materialising objects. */
  mailboxCount?: number;
}

export interface ProvisionedTenant {
  /** GUID, deterministic from organization. */
  tenantId: string;
  organization: string;
  /** GUID of the tenant's app, deterministic from organization. */
  clientId: string;
  /** A new self-signed certificate per provision call, registered on the app. */
  certificatePem: string;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
}

/** One tenant's seeded data, generated lazily from (seed, index). */
export interface TenantData {
  readonly tenantId: string;
  readonly organization: string;
  readonly seed: number;
  readonly mailboxCount: number;
  /**
   * The objects a cmdlet returns for these parameters, in service order, as plain objects without
   * OData annotations. Applies ResultSize like the service (1000 by default on list cmdlets).
   * Throws the CmdletError the service would report.
   */
  results(cmdlet: string, parameters?: Record<string, unknown>): Iterable<Record<string, unknown>>;
}

export interface CallRecord {
  at: number;
  endedAt: number;
  tenantId: string;
  service: ServiceName;
  /** Empty when the request failed before its body was read. */
  cmdlet: string;
  status: number;
  clientRequestId?: string;
  requestId: string;
  /** 1 for a first page, n for the n-th page of a cursor chain, 0 when unknown. */
  page: number;
  expiredToken: boolean;
}

export interface KeyStats {
  inFlight: number;
  peakInFlight: number;
  requests: number;
  byStatus: Record<string, number>;
  refusedConcurrency: number;
  throttled: number;
  earlyRetries: number;
  expiredTokenUses: number;
}

export interface Recorder {
  /** tenant = organization or id; without service: both services combined (peak = peak of the sum). */
  stats(tenant: string, service?: ServiceName): KeyStats;
  /** Keyed by tenantId. */
  snapshot(): Record<string, Record<ServiceName, KeyStats>>;
  /** Bounded ring buffer, the last 10_000 calls, oldest first. */
  calls(): readonly CallRecord[];
  /** Zeroes counters and peaks (keeps current inFlight) and forgets recorded calls. */
  reset(): void;
}

export interface Simulator {
  /** Origins like 'https://127.0.0.1:40123' (no trailing slash). */
  readonly urls: Record<SimulatorRole, string>;
  readonly caCertPem: string;
  /** So a caller can persist and reuse the CA. */
  readonly caKeyPem: string;
  readonly adminKey: string;
  /**
   * Idempotent for data: same organization → same tenantId/clientId/data. Different seed or
   * mailboxCount for an already provisioned organization → throws. Every call registers a fresh credential.
   */
  provisionTenant(request: ProvisionRequest): Promise<ProvisionedTenant>;
  /** The tenant's seeded data (by organization or tenantId). */
  tenantData(organizationOrId: string): TenantData | undefined;
  readonly recorder: Recorder;
  /** Change server defaults, or one tenant's settings, at run time. */
  configure(settings: TenantSettings, organizationOrId?: string): void;
  /** Idempotent; closes all listeners and open sockets. */
  close(): Promise<void>;
}
