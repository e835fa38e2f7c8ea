/** The two admin services: Exchange Online and Security & Compliance (IPPS). */
export type ServiceName = 'exo' | 'ipps';

/**
 * The four HTTPS roles: Entra (login), EXO, the global IPPS host and its regional host. The
 * regional host is its own listener, or a sub-domain served by the IPPS listener (see
 * `SimulatorOptions.ippsRegionalSubdomain`).
 */
export type SimulatorRole = 'login' | 'exo' | 'ipps' | 'ippsRegional';

export const SIMULATOR_ROLES: readonly SimulatorRole[] = ['login', 'exo', 'ipps', 'ippsRegional'];

/** Injected failures for InvokeCommand requests. */
export interface SimulatorFaults {
  /** Probability (0..1) that an InvokeCommand request is answered 429 with Retry-After. */
  throttleRate?: number;
  /** Probability (0..1) of 503. */
  unavailableRate?: number;
  /**
   * Probability (0..1) of the plain-text tenant-concurrency refusal (429, no Retry-After), whatever
   * the real in-flight count; for throttling benchmarks. Counted as `injectedRefusals`, not
   * `refusedConcurrency`, so a client can still be shown to respect the cap.
   */
  concurrencyRefusalRate?: number;
  /**
   * Probability (0..1) of a transient 500 without Retry-After: its body alternates between the
   * HTML error page IIS/ASP.NET front ends write ("500 - Internal server error.", `text/html`) and a
   * plain-text body. The request is not run, so a page that failed this way can be re-posted to the
   * same nextLink and returns what it would have returned. Counted as `injectedServerErrors`.
   */
  serverErrorRate?: number;
  /**
   * Probability (0..1) of a gateway failure without Retry-After: 502 or 504, with an HTML body or
   * none (in turn: 502 HTML, 504 empty, 504 HTML, 502 empty). Not run either; counted as
   * `injectedServerErrors`.
   */
  gatewayErrorRate?: number;
  /** Retry-After value to send, seconds; fractional values are written as such ("0.5"). Default 1. */
  retryAfterSec?: number;
  /** How Retry-After is written: 'seconds' (default) | 'http-date' | 'mixed' (whole seconds, fractional seconds and HTTP dates in turn). */
  retryAfterFormat?: 'seconds' | 'http-date' | 'mixed';
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
   * 'B' = a JSON string `{"Message","TypeName","StackTrace":null,"InnerError":null}`.
   */
  errorFormat?: 'A' | 'B';
  /** Lifetime of access tokens issued from now on (app and delegated), seconds. Default 3600. */
  tokenLifetimeSec?: number;
}

/**
 * What happens when a refresh token that was already redeemed is presented again.
 * - `'revoke-family'` (default): the whole family (every refresh token descended from the same
 *   sign-in) is revoked and the request fails with `invalid_grant`. Real Entra lets old refresh
 *   tokens live until they expire, but this strict mode makes a client that loses the newest
 *   token (and silently falls back to an older one) fail loudly: the bug exorun must not have.
 * - `'allow'`: like Entra, any unexpired refresh token keeps working; reuse is only counted.
 */
export type RefreshTokenReuse = 'allow' | 'revoke-family';

export interface SimulatorOptions extends TenantSettings {
  /** Default '127.0.0.1'. */
  bindHost?: string;
  /** Host name used in URLs and the server certificate; default '127.0.0.1'. The SAN always also has localhost, 127.0.0.1 and ::1. */
  publicHost?: string;
  /**
   * Where the IPPS global host redirects to. true (the default when `publicHost` is a DNS name):
   * `https://{ippsRegion}.{publicHost}:{IPPS port}/…`, served by the IPPS listener itself, routed
   * by the Host header, as the real service redirects to a sub-domain of its global host; the
   * name must resolve to the simulator for clients (a DNS record, a hosts entry). false (the
   * default, and the only choice, for an IP literal): a separate regional listener on its own port.
   */
  ippsRegionalSubdomain?: boolean;
  /** The region label of the redirect in sub-domain mode; default 'nam12b'. */
  ippsRegion?: string;
  /** Absent/0 → ephemeral port. */
  ports?: Partial<Record<SimulatorRole, number>>;
  /** Paging cursor lifetime; default 30 min (the real service's 00:30:00). */
  cursorTtlMs?: number;
  /** Bearer for the /_simulator control API; random if absent. */
  adminKey?: string;
  /** Reuse a CA so restarts keep trust; generated if absent. */
  ca?: { certPem: string; keyPem: string };
  /** Gzip admin API bodies when the client sends `Accept-Encoding: gzip`, as the service does. Default true. */
  gzip?: boolean;
  /**
   * Device codes are approved automatically (as `admin@<organization>`) this long after they were
   * issued; 0 = at once. Absent: only `approveDeviceCode()` or the control API approve them.
   */
  deviceCodeAutoApproveMs?: number;
  /** The polling `interval` the device-code endpoint announces (msal polls at it); default 5. */
  deviceCodeIntervalSec?: number;
  /** `expires_in` of device codes; default 900 (Entra's 15 minutes). */
  deviceCodeLifetimeSec?: number;
  /** See {@link RefreshTokenReuse}; default 'revoke-family'. */
  refreshTokenReuse?: RefreshTokenReuse;
  /** A refresh token expires this long after it was issued (each rotation starts anew); default 90 days. */
  refreshTokenLifetimeSec?: number;
  /** See KeyStats.earlyRetries: arrivals this soon after a throttle answer are not early retries. Default 0. */
  earlyRetryGraceMs?: number;
}

export interface ProvisionRequest extends TenantSettings {
  /** e.g. 'contoso.onmicrosoft.com'. */
  organization: string;
  /** Default 1. */
  seed?: number;
  /** Default 250; up to millions without materialising objects. */
  mailboxCount?: number;
  /**
   * UPNs at the organization's domain that can sign in (device code) besides `admin@<organization>`,
   * which always exists. Re-provisioning may add users; it never removes any.
   */
  users?: string[];
  /**
   * A PEM certificate to register on the tenant's app, for a caller that holds the key (e.g. a
   * certificate from a file or a PFX). A fresh generated pair is still registered and returned.
   */
  certificatePem?: string;
  /**
   * The application (client) id of the tenant's app, as an admin would have registered it (e.g.
   * the clientId in jobs.yaml). Fixed at the first provisioning, like seed; default: derived from
   * the organization.
   */
  clientId?: string;
  /** Unified audit records per hour from 2026-01-01T00:00:00Z to now; default 20, at most 3600. Part of the data identity, like seed. */
  auditRecordsPerHour?: number;
}

/** A user of a simulated tenant who can sign in with a delegated flow. */
export interface SimulatedUser {
  upn: string;
  /** GUID, deterministic from organization and UPN. */
  oid: string;
  displayName: string;
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
  /** Users that can sign in: `admin@<organization>` first, then the requested ones. */
  users: SimulatedUser[];
}

/** One tenant's seeded data, generated lazily from (seed, index). */
export interface TenantData {
  readonly tenantId: string;
  readonly organization: string;
  readonly seed: number;
  readonly mailboxCount: number;
  readonly auditRecordsPerHour: number;
  /**
   * The objects a cmdlet returns for these parameters, in service order, as plain objects without
   * OData annotations. Applies ResultSize like the service (1000 by default on list cmdlets).
   * Throws the CmdletError the service would report. Audit cmdlets see records up to the
   * simulator clock's now; with a `SessionId` each call here is a fresh session (the service's
   * session state is not touched), so the result equals the service's first call of a session.
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
  /** Who the bearer token names, when its signature verified (also for expired tokens). */
  callerKind?: 'app' | 'user';
  /** `appid` of an app token, `upn` of a user token. */
  caller?: string;
  /** The `X-AnchorMailbox` request header as sent; undefined when absent. */
  anchorMailbox?: string;
  /** The `connection-id` request header: one per client connection (per exorun process and tenant). */
  connectionId?: string;
  /** `iat` of the token, ms. */
  tokenIssuedAt?: number;
  /** `exp` of the token, ms. */
  tokenExpiresAt?: number;
}

export interface KeyStats {
  inFlight: number;
  peakInFlight: number;
  requests: number;
  byStatus: Record<string, number>;
  refusedConcurrency: number;
  throttled: number;
  /** Requests that arrived after a 429/503 with Retry-After (plus `earlyRetryGraceMs`) and before it elapsed. */
  earlyRetries: number;
  /** Every request that arrived while a Retry-After was running, including ones sent before anyone knew of it. */
  callsInRetryAfterWindow: number;
  expiredTokenUses: number;
  /** 401 claims challenges sent because of `requireClaims()`. */
  caeChallenges: number;
  /** Concurrency refusals injected by `faults.concurrencyRefusalRate`. */
  injectedRefusals: number;
  /** 500/502/504 answers injected by `faults.serverErrorRate` and `faults.gatewayErrorRate`. */
  injectedServerErrors: number;
}

/** Token endpoint counters (server-wide or per tenant). */
export interface EntraStats {
  /** client_credentials tokens issued. */
  appTokens: number;
  /** Delegated tokens issued (device code and refresh token grants). */
  userTokens: number;
  deviceCodesIssued: number;
  deviceCodesApproved: number;
  deviceCodesDeclined: number;
  deviceCodesRedeemed: number;
  /** Polls answered `authorization_pending`. */
  deviceCodePendingPolls: number;
  /** Successful refresh_token grants. */
  refreshRedemptions: number;
  /** New refresh tokens issued in exchange for a redeemed one. */
  rotations: number;
  /** An already-redeemed refresh token presented again (counted in both reuse modes). */
  reuseDetections: number;
  /** Families revoked because of reuse, plus `revokeUser` calls. */
  revocations: number;
  /** Refresh_token grants refused for any reason (unknown, expired, revoked, reused, wrong client). */
  refreshRefusals: number;
}

/** A device code waiting for the user, as `GET /_simulator/device-codes` lists it. */
export interface PendingDeviceCode {
  userCode: string;
  /** Organization of the tenant the code was requested for, or the multi-tenant segment (`organizations`). */
  tenant: string;
  /** Tenant id, when the code names a tenant. */
  tenantId?: string;
  clientId: string;
  scope: string;
  /** ISO 8601. */
  expiresAt: string;
}

export interface Recorder {
  /** tenant = organization or id; without service: both services combined (peak = peak of the sum). */
  stats(tenant: string, service?: ServiceName): KeyStats;
  /** Keyed by tenantId. */
  snapshot(): Record<string, Record<ServiceName, KeyStats>>;
  /** Bounded ring buffer, the last 10_000 calls, oldest first; only one tenant's (organization or id) when given. */
  calls(tenant?: string): readonly CallRecord[];
  /** Token endpoint counters: one tenant (organization or id), or all tenants summed. */
  entra(tenant?: string): EntraStats;
  /** Zeroes counters and peaks (keeps current inFlight), the token endpoint counters too, and forgets recorded calls. */
  reset(): void;
}

export interface Simulator {
  /**
   * Origins like 'https://127.0.0.1:40123' (no trailing slash). In sub-domain mode `ippsRegional`
   * is `https://{region}.{publicHost}:{IPPS port}`, the host the global IPPS host redirects to.
   */
  readonly urls: Record<SimulatorRole, string>;
  readonly caCertPem: string;
  /** So a caller can persist and reuse the CA. */
  readonly caKeyPem: string;
  readonly adminKey: string;
  /**
   * Idempotent for data: same organization → same tenantId/clientId/data. Different seed or
   * mailboxCount for an already provisioned organization → throws. Every call returns the tenant's one generated app certificate (a certificatePem given is registered too).
   */
  provisionTenant(request: ProvisionRequest): Promise<ProvisionedTenant>;
  /** The tenant's seeded data (by organization or tenantId). */
  tenantData(organizationOrId: string): TenantData | undefined;
  readonly recorder: Recorder;
  /** Change server defaults, or one tenant's settings, at run time. */
  configure(settings: TenantSettings, organizationOrId?: string): void;
  /**
   * Plays the user entering `userCode` at the verification page. `upn` defaults to
   * `admin@<organization>` (required for codes requested at `/organizations`). Returns false for
   * an unknown, expired or already decided code; throws for a user the tenant does not have.
   */
  approveDeviceCode(userCode: string, upn?: string): boolean;
  /** The user declines: the next poll gets `authorization_declined`. False for an unknown, expired or decided code. */
  declineDeviceCode(userCode: string): boolean;
  /** Codes waiting for the user. */
  pendingDeviceCodes(): PendingDeviceCode[];
  /**
   * Like an admin revoking the user's sessions: every refresh token from a sign-in before now
   * fails with AADSTS50173. Returns how many live token families were revoked; throws for an unknown UPN.
   */
  revokeUser(upn: string): number;
  /**
   * From now on, admin API requests for the tenant (only that user's tokens when `upn` is given)
   * carrying a token issued before this moment get a 401 CAE claims challenge. Returns the
   * base64 `claims` value of the challenge.
   */
  requireClaims(options: { organizationOrId: string; upn?: string }): string;
  /** Same as `recorder.entra()`. */
  entraStats(organizationOrId?: string): EntraStats;
  /** Idempotent; closes all listeners and open sockets. */
  close(): Promise<void>;
}
