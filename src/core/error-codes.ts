/**
 * How trying again works for an error (read by the one retry policy, `retry-policy.ts`):
 * - `fail`: trying again cannot help; the run (or the forEach item) fails now.
 * - `transient`: the same request again, in place, with backoff and jitter (a paging cursor is
 *   kept); when those retries are used up, the run again, spending an attempt.
 * - `wait`: wait as long as the service asked (`retryAfterMs`): in place when short, otherwise the
 *   run goes back to the queue without spending an attempt.
 * - `restart`: the run again from its first page after backoff, spending an attempt.
 * - `requeue`: the run goes back to the queue at once without spending an attempt (a shutdown or
 *   a Redis outage interrupted it; it is not at fault).
 */
export type RetryClass = 'fail' | 'transient' | 'wait' | 'restart' | 'requeue';

/**
 * Whether a failure of a forEach item ends the whole step (`run`: every later item would fail the
 * same way, or the run cannot go on) or only that item (`item`: counted against maxItemFailures).
 */
export type FailureScope = 'run' | 'item';

/**
 * The catalogue of stable error codes. Operators grep logs and manifests by code, so a code never
 * changes meaning once released; messages may be improved freely. `docs/errors.md` documents every
 * code here and a unit test keeps the two in sync.
 *
 * `retryable` is the default for errors raised with that code (it is `retry !== 'fail'`); a raise
 * site may override it when it knows better (a 404 right after a write is retryable, a 404 on a
 * read is not).
 */
export const ERROR_CODES = {
  // Configuration
  CFG_FILE_NOT_FOUND: { retryable: false, retry: 'fail', scope: 'run', summary: 'The configuration file does not exist or cannot be read.' },
  CFG_JOBS_INVALID: { retryable: false, retry: 'fail', scope: 'run', summary: 'jobs.yaml has one or more problems; each is listed as file:line:col.' },
  CFG_ENV_INVALID: { retryable: false, retry: 'fail', scope: 'run', summary: 'An environment variable has a value exorun cannot use.' },
  CFG_TENANT_UNKNOWN: { retryable: false, retry: 'fail', scope: 'run', summary: 'A run names a tenant that this process’s jobs.yaml does not define.' },
  CFG_JOB_UNKNOWN: { retryable: false, retry: 'fail', scope: 'run', summary: 'A command or run names a job that jobs.yaml does not define.' },
  CFG_SECRET_MISSING: { retryable: false, retry: 'fail', scope: 'run', summary: 'A secret referenced by jobs.yaml (env var or file) is not set or empty.' },
  CFG_WRITE_NOT_ALLOWED: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'A cmdlet that changes data was requested by a job without allowWrite: true.',
  },

  // Authentication
  AUTH_CERT_NOT_FOUND: { retryable: false, retry: 'fail', scope: 'run', summary: 'The certificate file named in jobs.yaml does not exist or cannot be read.' },
  AUTH_CERT_INVALID: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'The certificate file is not a usable PEM or PFX certificate with a private key.',
  },
  AUTH_CERT_PASSWORD: { retryable: false, retry: 'fail', scope: 'run', summary: 'The PFX password is wrong or missing.' },
  AUTH_CERT_KEY_MISMATCH: { retryable: false, retry: 'fail', scope: 'run', summary: 'The private key does not belong to the certificate.' },
  AUTH_CERT_EXPIRED: { retryable: false, retry: 'fail', scope: 'run', summary: 'The certificate is expired or not yet valid.' },
  AUTH_CLIENT_REJECTED: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'The token endpoint rejected the application credentials (wrong client id, key or certificate).',
  },
  AUTH_CONSENT_REQUIRED: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'The application lacks admin consent or the Exchange.ManageAsApp permission in this tenant.',
  },
  AUTH_TENANT_NOT_FOUND: { retryable: false, retry: 'fail', scope: 'run', summary: 'The authority does not know the tenant (organization or tenant id).' },
  AUTH_REAUTH_REQUIRED: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'A delegated session was revoked, expired or never created; an admin must sign in again with `exorun login <tenant>`.',
  },
  AUTH_SECRET_KEY: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'EXORUN_SECRET_KEY (or EXORUN_SECRET_KEY_FILE) is missing or not 32 bytes, or cannot decrypt a stored session.',
  },
  AUTH_UNAVAILABLE: {
    retryable: true,
    retry: 'transient',
    scope: 'run',
    summary: 'The sign-in host could not be reached or its token endpoint answered with a server error.',
  },
  AUTH_FAILED: { retryable: false, retry: 'fail', scope: 'run', summary: 'Token acquisition failed for a reason not covered by a more specific code.' },

  // Exchange Online / Security & Compliance calls
  EXO_UNAUTHORIZED: { retryable: false, retry: 'fail', scope: 'run', summary: 'The service refused the access token even after a fresh token was acquired.' },
  EXO_CMDLET_UNKNOWN: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'The service does not know the cmdlet, or the caller’s roles do not include it.',
  },
  EXO_ACCESS_DENIED: { retryable: false, retry: 'fail', scope: 'item', summary: 'The caller is not allowed to run this cmdlet or read this object.' },
  EXO_BAD_REQUEST: { retryable: false, retry: 'fail', scope: 'item', summary: 'The service rejected a parameter or its value.' },
  EXO_NOT_FOUND: { retryable: false, retry: 'fail', scope: 'item', summary: 'The object named by a parameter does not exist.' },
  EXO_THROTTLED: {
    retryable: true,
    retry: 'wait',
    scope: 'run',
    summary: 'The service asked us to slow down (429, a 503 with Retry-After, or a concurrency refusal).',
  },
  EXO_UNAVAILABLE: {
    retryable: true,
    retry: 'transient',
    scope: 'item',
    summary: 'The service was unreachable, or answered 502/503/504/408 without saying when to come back.',
  },
  EXO_SERVER_ERROR: {
    retryable: true,
    retry: 'transient',
    scope: 'item',
    summary: 'The service failed with a server error (500, any body), or a transient exception the module names.',
  },
  EXO_CURSOR_EXPIRED: {
    retryable: true,
    retry: 'restart',
    scope: 'item',
    summary: 'A paging cursor expired; the cmdlet must be restarted from the first page.',
  },
  EXO_UNTRUSTED_HOST: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'A redirect or next-page link pointed outside the tenant’s cloud; the token was not sent.',
  },
  EXO_BAD_RESPONSE: { retryable: true, retry: 'transient', scope: 'item', summary: 'The service answered with a body exorun could not read.' },
  EXO_TIMEOUT: { retryable: true, retry: 'transient', scope: 'item', summary: 'A request exceeded its time limit.' },

  // Limits, queue, storage, runs
  LIMIT_LEASE_LOST: {
    retryable: true,
    retry: 'restart',
    scope: 'run',
    summary: 'This worker lost its connection slot (lease) for the tenant and stopped sending.',
  },
  QUEUE_PAYLOAD_INVALID: { retryable: false, retry: 'fail', scope: 'run', summary: 'A queued run carries a payload this version cannot read.' },
  REDIS_UNAVAILABLE: { retryable: true, retry: 'requeue', scope: 'run', summary: 'Redis could not be reached.' },
  REDIS_NOT_INSTALLED: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'REDIS_URL is unset and no redis-server is installed to start a private one.',
  },
  STORE_WRITE_FAILED: { retryable: true, retry: 'restart', scope: 'run', summary: 'An output file could not be written.' },
  STORE_READ_FAILED: { retryable: false, retry: 'fail', scope: 'run', summary: 'A stored manifest or output file could not be read.' },
  RUN_TIMEOUT: { retryable: true, retry: 'restart', scope: 'run', summary: 'The run exceeded its time limit and was aborted.' },
  RUN_ABORTED: { retryable: true, retry: 'requeue', scope: 'run', summary: 'The run was aborted by a shutdown; it will be picked up again.' },
  RUN_TEMPLATE_FAILED: {
    retryable: false,
    retry: 'fail',
    scope: 'item',
    summary: 'A ${…} template in a parameter had no value (e.g. a forEach item without the property).',
  },
  RUN_ITEM_FAILURES: { retryable: false, retry: 'fail', scope: 'run', summary: 'More forEach items failed than the job’s maxItemFailures allows.' },
  RUN_WINDOW_EMPTY: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'A windowed run has nothing new to read: the last successful run already covered its time.',
  },
  RUN_NOT_FOUND: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: 'A command names a run id the run history does not hold (never recorded, or older than the history keeps).',
  },
  RUN_WAIT_TIMEOUT: {
    retryable: false,
    retry: 'fail',
    scope: 'run',
    summary: '`exorun run --wait` gave up waiting after --timeout; the run itself goes on in the queue.',
  },
  OUTPUT_NOT_FOUND: { retryable: false, retry: 'fail', scope: 'run', summary: 'A job has no stored run (or no file in the asked format) to show.' },
  SIMULATOR_UNAVAILABLE: { retryable: true, retry: 'transient', scope: 'run', summary: 'The simulated tenant could not be provisioned or reached.' },
  INTERNAL: { retryable: false, retry: 'fail', scope: 'run', summary: 'An unexpected internal error; the message and cause say more.' },
} as const satisfies Record<string, { retryable: boolean; retry: RetryClass; scope: FailureScope; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
