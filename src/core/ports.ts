/**
 * Ports: the interfaces between exorun's parts. The worker (composition root) wires real adapters
 * into them; unit tests may fake them. Nothing here does I/O.
 *
 * Glossary — use these words the same way everywhere:
 * - **job**: a named entry under `jobs:` in jobs.yaml: what to run (service, cmdlet, parameters),
 *   for which tenant, when (schedule) and which outputs to write.
 * - **schedule**: a job's cron expression (optional seconds field) plus an IANA time zone. The
 *   scheduler turns it into a BullMQ job scheduler.
 * - **tick**: one firing of a schedule. A tick becomes one run per tenant of the job.
 * - **run**: one execution of a job for one tenant, identified by a run id. It is a BullMQ job on
 *   the runs queue; it may take several attempts.
 * - **attempt**: one try of a run that got as far as calling the service. Waiting for a slot is not
 *   an attempt.
 * - **tenant**: a Microsoft 365 organization declared under `tenants:`: cloud, credentials, limits.
 * - **service**: `exo` (Exchange Online) or `ipps` (Security & Compliance).
 * - **slot / lease**: permission to have calls in flight for one (tenant, service). A tenant has
 *   `limit` slots per service (default 3); a lease is one held slot, with a TTL kept alive by a
 *   heartbeat, stored in Redis so the bound holds across every worker process.
 * - **page**: one HTTP response of a cmdlet; cmdlets page with `@odata.nextLink`.
 * - **output set**: the files one run writes (JSONL, CSV, …) plus its manifest.
 */

/** The two admin services exorun talks to. */
export const SERVICE_NAMES = ['exo', 'ipps'] as const;

/** Cell separators a CSV file may use: `;` is what Excel expects where `,` is the decimal mark. */
export const CSV_DELIMITERS = [',', ';', '\t', '|'] as const;

/**
 * CSV settings of a run; each field overrides the store's default. `bom` (default true): start
 * with a UTF-8 byte order mark, so Excel reads UTF-8. `flatten` (default true): nested objects
 * become `Parent.Child` columns instead of one JSON cell. `delimiter` (default `,`).
 * `formulaGuard` (default true): a text cell starting with `=`, `+`, `-`, `@`, tab or CR that is
 * not a plain number gets a leading `'`, so a spreadsheet shows it instead of evaluating it.
 */
export interface CsvSettings {
  bom?: boolean | undefined;
  flatten?: boolean | undefined;
  delimiter?: (typeof CSV_DELIMITERS)[number] | undefined;
  formulaGuard?: boolean | undefined;
}

export type ServiceName = (typeof SERVICE_NAMES)[number];

/**
 * Microsoft clouds exorun can address, plus `simulated` (the built-in simulator). The endpoint table
 * lives in src/auth; the names live here so config and auth agree without importing each other.
 */
export const CLOUD_NAMES = ['commercial', 'gcc', 'gcchigh', 'dod', 'china', 'germany', 'simulated'] as const;

export type CloudName = (typeof CLOUD_NAMES)[number];

/**
 * Where to read a secret (a PFX password, a key): an environment variable or a file. jobs.yaml
 * holds only these references, never the secret itself.
 */
export type SecretRef = { readonly env: string } | { readonly file: string };

/** Wall-clock time, injectable for tests. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/* ---------------------------------------------------------------- HTTP */

/** A fully read HTTP response; bodies of admin calls are small enough per page. */
export interface HttpResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * The one HTTP client of the process. Redirects are never followed automatically: the IPPS 302 and
 * every nextLink are checked against the tenant's cloud before a token is sent there.
 */
export interface HttpTransport {
  request(request: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

/* ---------------------------------------------------------------- clouds and tokens */

/** Where one service of one cloud lives and which token audience it expects. */
export interface ServiceEndpoint {
  /** Origin of the admin API, e.g. `https://outlook.office365.com`. */
  baseUrl: string;
  /** Token resource (audience); the scope is `${resource}/.default`. */
  resource: string;
  /**
   * Hosts a token may be sent to: exact `host[:port]`, or `*.suffix` for any sub-domain (the IPPS
   * regional hosts). nextLinks and redirects outside this list are refused.
   */
  trustedHosts: readonly string[];
}

export interface CloudEndpoints {
  cloud: string;
  /** e.g. `https://login.microsoftonline.com`. */
  authorityHost: string;
  exo: ServiceEndpoint;
  ipps: ServiceEndpoint;
}

export interface AccessToken {
  /** The bearer token. Never log it. */
  readonly token: string;
  readonly expiresOnMs: number;
  /** The `tid` claim: the tenant GUID, used in admin URLs and the anchor mailbox. */
  readonly tenantId: string;
}

export interface TokenRequest {
  resource: string;
  /** Skip every cache (after a 401). */
  forceRefresh?: boolean;
  /** A CAE claims challenge from a 401, passed to the token endpoint. */
  claims?: string;
  signal?: AbortSignal;
}

export interface TokenProvider {
  /** `app-only` for certificates, `delegated` for signed-in accounts (affects X-AnchorMailbox). */
  readonly mode: 'app-only' | 'delegated';
  /** For delegated sessions, the signed-in user principal name. */
  readonly account?: string;
  getToken(request: TokenRequest): Promise<AccessToken>;
}

/* ---------------------------------------------------------------- Exchange */

export interface CmdletRequest {
  /** The tenant's GUID or verified domain, as used in the admin URL. */
  tenant: string;
  service: ServiceName;
  cmdlet: string;
  parameters: Readonly<Record<string, unknown>>;
  /** Properties to keep; sent as `$select` and applied client-side as well. */
  select?: readonly string[];
  /** `Prefer: odata.maxpagesize` (1–1000). */
  pageSize?: number;
}

export interface CmdletPage {
  /** 0-based. */
  index: number;
  /** Objects of this page, OData annotations removed. */
  objects: Record<string, unknown>[];
  warnings: string[];
  /** Non-terminating errors reported by the cmdlet (`@adminapi.errors`). */
  errors: unknown[];
  /** The service's `request-id` header, for support cases. */
  requestId: string | undefined;
  /** Our `client-request-id` for this page. */
  clientRequestId: string;
  /** No request follows this page (no nextLink, or ResultSize reached). */
  last?: boolean;
  /**
   * .NET types the service announced for properties in its OData annotations (`@data.type`, or
   * `@odata.type` for collections), e.g. `{ WhenCreated: 'System.DateTime', Guid: 'System.Guid',
   * EmailAddresses: '#Collection(String)' }`. Writers that keep types (CliXml) use them.
   */
  propertyTypes?: Record<string, string>;
}

/**
 * The request gate of one slot: the one place that decides when a request may leave. The exchange
 * client asks it before every request (first pages, next pages, retries) and tells it when the
 * service asks to slow down.
 */
export interface RequestGate {
  /**
   * Resolves when a request may leave now: the slot is still held (known locally from its
   * heartbeat; no Redis round trip) and no cool-down that any process has announced for the
   * (tenant, service) is running. Waits out a cool-down of at most `maxWaitMs`, plus a random
   * spread so that the requests that waited do not all leave at the same instant. Rejects with
   * LIMIT_LEASE_LOST when the slot is lost, EXO_THROTTLED (with `retryAfterMs`) when the cool-down
   * is longer than `maxWaitMs`, or the signal's reason.
   */
  admit(options: { maxWaitMs: number; signal?: AbortSignal }): Promise<void>;
  /**
   * The service refused a request and asked to wait `waitMs`: from now on nothing leaves for this
   * (tenant, service) before then — in this process at once, in every other as soon as the news
   * reaches it.
   */
  throttled(waitMs: number): void;
}

export interface InvokeOptions {
  signal?: AbortSignal;
  /** Asked before every request; told about throttling. Without one, the client waits by itself (tests, one-off calls). */
  gate?: RequestGate;
}

export interface ExchangeClient {
  /** Runs a cmdlet and yields its pages as they arrive; memory stays bounded by one page. */
  invoke(request: CmdletRequest, options?: InvokeOptions): AsyncIterable<CmdletPage>;
}

/* ---------------------------------------------------------------- limits */

export interface LeaseKey {
  tenant: string;
  service: ServiceName;
}

/**
 * One held slot of a (tenant, service), and the request gate of everything sent on it. The slot is
 * kept alive by a heartbeat; between heartbeats the lease knows locally (monotonic clock) until
 * when it is surely still held, so `admit` needs no Redis round trip.
 */
export interface Lease extends RequestGate {
  readonly key: LeaseKey;
  /** Unique per attempt: a later attempt of the same run never shares it. */
  readonly holderId: string;
  /**
   * Aborted (reason: LIMIT_LEASE_LOST) as soon as the lease is known to be lost: Redis no longer
   * has it, or the heartbeat could not confirm it before its local validity ran out.
   */
  readonly signal: AbortSignal;
  /**
   * Gives the slot back (the next in line gets it in the same step); idempotent. Resolves true
   * when the lease was still held at that moment — one atomic step, so it is the last fencing check
   * before a commit — and false when it had been lost, or when Redis could not be reached before
   * the lease's local validity ran out.
   */
  release(): Promise<boolean>;
}

export type AcquireResult =
  | { granted: true; lease: Lease }
  | {
      granted: false;
      /** When it is worth asking again, in ms from now (a holder's expiry, or the cool-down's end). */
      retryAfterMs: number;
      /**
       * 0-based place among the waiters for this key. Below the key's limit the slot is due soon
       * (within one slot hold): waiting in process (`waitForSlot`) pays; further back the run is
       * better off waiting in the queue.
       */
      position: number;
    };

export interface AcquireRequest {
  /** Unique per attempt: a re-delivered run must never refresh, use or release a zombie's lease. */
  holderId: string;
  /** Stable across re-delays and attempts of the same run, so waiting keeps its place in line. */
  waiterId: string;
  /** Slots for this key. */
  limit: number;
  /** When the run was queued (ms): the line is ordered by it. Defaults to the time of the first ask. */
  queuedAtMs?: number;
  /**
   * Grows with every pickup of the run (BullMQ's `attemptsStarted`). When given, an ask with a
   * lower generation than one already seen for the waiter is refused as LIMIT_LEASE_LOST: a stalled
   * attempt that wakes up can neither take the run's place in line nor a slot handed to it.
   */
  generation?: number;
}

export interface WaitForSlotOptions {
  /** Give up after this long; the waiter keeps its place in line. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * The per-(tenant, service) slots, shared by every worker process. A freed slot goes to the first
 * waiter in line in the same atomic step that frees it: to a waiter waiting in some process at once,
 * or, for a run that waits in the queue, reserved until that run comes for it (or the lease TTL runs
 * out and it moves on).
 */
export interface TenantLimiter {
  /**
   * One ask: a slot when one is free for this waiter (first come, first served) or was handed to
   * it while its run waited in the queue; otherwise the waiter joins (or keeps) its place in line.
   */
  acquire(key: LeaseKey, request: AcquireRequest): Promise<AcquireResult>;
  /**
   * Waits in this process for a slot: the lease arrives with the hand-off notice of the release
   * that freed it (no further Redis call). Undefined after `timeoutMs` (the waiter keeps its place);
   * rejects with the signal's reason when it aborts.
   */
  waitForSlot(key: LeaseKey, request: AcquireRequest, options: WaitForSlotOptions): Promise<Lease | undefined>;
  /**
   * A further slot for a run that already holds one (forEach parallelism), only when it is free for
   * nobody else (no waiter, no cool-down). Never waits and never joins the line.
   */
  tryAcquireFree(key: LeaseKey, request: { holderId: string; limit: number }): Promise<Lease | undefined>;
  /** Drops a waiter that gave up (run failed or removed); a slot handed to it moves on. */
  forgetWaiter(key: LeaseKey, waiterId: string): Promise<void>;
  /**
   * The service asked this key to wait `waitMs` (for callers without a lease at hand; a lease's own
   * `throttled` does the same): applied in this process before it returns, then in every other.
   */
  throttled(key: LeaseKey, waitMs: number): void;
  /** Stops heartbeats, waits and the news subscription; idempotent. */
  close(): Promise<void>;
}

export interface HoldOptions {
  signal?: AbortSignal;
  /**
   * Longest wait in this process for a slot of the service (0: ask once). The run holds no slot
   * while it waits. `Infinity` waits until the signal aborts.
   */
  maxWaitMs: number;
  /**
   * When the run is further back in line than the key's limit — its slot is not due within one
   * slot hold — return at once instead of waiting in process, so the run can wait in the queue and
   * free its worker. A run near the front waits in process and gets the slot the moment it frees.
   */
  queueIfBehind?: boolean;
}

export type SlotHold =
  | { held: true; lease: Lease }
  | {
      held: false;
      /** When it is worth asking again, in ms from now. */
      retryAfterMs: number;
      /** 0-based place in line. */
      position: number;
    };

/**
 * The slots one attempt of a run holds: its current slot, which serves its sequential requests and
 * is the request gate the exchange client asks, plus short-lived extra slots of the same key for
 * forEach lanes. The run logic sees only this.
 */
export interface RunSlots {
  /** The current slot; undefined before the first `holdFor` and after it was given back. */
  readonly current: Lease | undefined;
  /**
   * Makes the current slot one of `service`: kept when it already is; otherwise every slot held is
   * given back first (a run never waits while holding a slot), then one of `service` is asked for
   * and, as the options allow, waited for. Rejects with LIMIT_LEASE_LOST when a slot given back
   * turns out to have been lost (what was sent on it is not trusted), or when the current one is
   * lost; REDIS_UNAVAILABLE; the signal's reason.
   */
  holdFor(service: ServiceName, options: HoldOptions): Promise<SlotHold>;
  /**
   * One more slot of the current key for a forEach lane, only when free for nobody else; asked at
   * most every `extraAskIntervalMs` and never beyond the key's limit. Undefined when not granted.
   */
  tryExtra(): Promise<Lease | undefined>;
  /** Gives one slot back; true when it was still held (the fencing check before a commit). */
  release(lease: Lease): Promise<boolean>;
  /** Gives every slot back; true when all were still held. */
  releaseAll(): Promise<boolean>;
}

/* ---------------------------------------------------------------- outputs */

export const OUTPUT_FORMATS = ['jsonl', 'csv', 'json', 'clixml'] as const;

export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface RunDescriptor {
  runId: string;
  job: string;
  tenant: string;
  service: ServiceName;
  cmdlet: string;
  parameters: Readonly<Record<string, unknown>>;
  select?: readonly string[];
  formats: readonly OutputFormat[];
  /** The schedule's fire time, when the run came from a schedule. */
  scheduledFor?: string;
  /** The calendar date (YYYY-MM-DD) in the job's time zone; the output folder. */
  localDate: string;
  attempt: number;
  /**
   * Unique per attempt (letters, digits, `-`): it names the temporary files, so a stalled attempt
   * that wakes up later can never remove or overwrite the files of the attempt that replaced it.
   */
  attemptId?: string;
  /** CSV settings for this run (see CsvSettings); each field overrides the store's default. */
  csv?: CsvSettings;
  /** The step of a job written with `steps:`; its output set is named `<runId>.<step>`. */
  step?: string;
  /** The run's `${window.start}`..`${window.end}` interval (ISO), recorded in the manifest. */
  window?: { start: string; end: string };
}

/** How one forEach item ended, as recorded in its step's manifest. */
export type ItemOutcome = { ok: true } | { ok: false; item: string; code: string; message: string };

/** What a committed output set holds, as the run needs to know it (the full manifest format is storage's). */
export interface CommittedOutput {
  /** The manifest, relative to the output root. */
  manifestPath: string;
  /** The data files, relative to the output root. */
  files: readonly { format: OutputFormat; path: string; objects: number }[];
  objectCount: number;
  pageCount: number;
  warningCount: number;
  /** forEach steps: items processed. */
  items?: { total: number; succeeded: number; failed: number };
}

/** One run's output in progress: files stay under temporary names until `commit`. */
export interface RunOutput {
  /** Appends one page; resolves once the data is handed to the file system. */
  writePage(page: CmdletPage): Promise<void>;
  /** Counts a forEach item; a failed one is listed in the manifest's `errors` (the first 1,000 of them). */
  recordItem(outcome: ItemOutcome): void;
  /** Renames files into place and writes the manifest last. */
  commit(): Promise<CommittedOutput>;
  /** Removes the temporary files and writes a failure manifest (the run has failed for good); resolves with where it is. */
  fail(failure: { code: string; message: string }): Promise<{ manifestPath: string }>;
  /**
   * Removes the temporary files and writes nothing: the run will be tried again, and an earlier
   * complete set of this run, if any, stays as it is.
   */
  abandon(): Promise<void>;
}

export interface OutputStore {
  readonly root: string;
  begin(run: RunDescriptor): Promise<RunOutput>;
  /**
   * The objects of a committed output set, one at a time (from its JSONL file: a later forEach
   * step iterates over them without holding the list in memory). Throws STORE_READ_FAILED when
   * the set has no JSONL file.
   */
  readObjects(committed: CommittedOutput): AsyncIterableIterator<Record<string, unknown>>;
}
