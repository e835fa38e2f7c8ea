import { z } from 'zod';
import { CLOUD_NAMES, CSV_DELIMITERS, OUTPUT_FORMATS, SERVICE_NAMES } from '../core/index.js';
import { isValidTimeZone, parseDurationMs } from '../core/index.js';
import { checkCronExpression } from './cron.js';

/**
 * jobs.yaml, version 1, as written by people. Every object is strict: an unknown key is an error
 * (a typo such as `timeZone` must not be silently ignored). Defaults are applied later, in
 * normalize.ts, so that the JSON Schema for editors shows what may be written rather than what the
 * loader fills in.
 */

/**
 * Job, tenant, group and step names appear in run ids, folder and file names, BullMQ ids and Redis
 * keys. They are kept to ASCII on purpose: letters outside ASCII have several byte forms (macOS
 * stores file names decomposed, so `é` written in jobs.yaml and `é` read back from a folder listing
 * differ), case-insensitive file systems and Redis keys fold case by rules that differ between
 * them, and look-alike letters from other scripts make two different names read the same. A
 * readable title belongs in `description`.
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const NAME_RULE = 'ASCII letters (A-Z, a-z), digits, "-" and "_", starting with a letter or digit, at most 64 characters';

const name = z.string().regex(NAME_PATTERN, { message: `must use ${NAME_RULE}` });

const timeZone = z.string().refine(isValidTimeZone, {
  message: 'is not an IANA time zone (examples: UTC, Europe/Berlin, America/New_York)',
});

const schedule = z.string().superRefine((expression, context) => {
  const problem = checkCronExpression(expression);
  if (problem) context.addIssue({ code: 'custom', message: problem });
});

const duration = z.union([z.string(), z.number()]).refine((value) => parseDurationMs(value) !== undefined, {
  message: 'must be a duration such as 30s, 5m, 2h or a number of milliseconds',
  abort: true,
});

/** A duration that must be longer than zero (a zero timeout would abort every run at once). */
const positiveDuration = duration.refine((value) => (parseDurationMs(value) ?? 0) > 0, { message: 'must be longer than 0 (e.g. 30s, 5m, 2h)' });

const serviceName = z.enum(SERVICE_NAMES);
const outputFormat = z.enum(OUTPUT_FORMATS);

const slotLimit = z.number().int().min(1).max(50);

const limits = z
  .strictObject({ exo: slotLimit.optional(), ipps: slotLimit.optional() })
  .describe('Calls in flight at once per service for a tenant, across all workers (default 3).');

/**
 * Schemas whose values are secrets: problems there never quote the value (a password written
 * inline would otherwise be printed back in the message, and then in CI logs).
 */
export const secretSchemas = z.registry<Record<string, never>>();

/** A secret is referenced, never written inline: an environment variable or a file. */
const secretReference = z
  .strictObject({
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an environment variable name' })
      .optional(),
    file: z.string().min(1).optional(),
  })
  .refine((value) => (value.env === undefined) !== (value.file === undefined), {
    message: 'give exactly one of env (an environment variable name) or file (a path)',
  })
  .describe('Where to read a secret: { env: NAME } or { file: path }. Secrets are never written in jobs.yaml.')
  .register(secretSchemas, {});

const certificateAuth = z.strictObject({
  type: z.literal('certificate'),
  clientId: z.uuid({ message: 'must be the application (client) id, a GUID' }),
  certificate: z.strictObject({
    path: z.string().min(1).describe('PEM file (certificate, and the key unless keyPath is given) or PFX/P12 file.'),
    keyPath: z.string().min(1).optional().describe('PEM private key, when it is not in the certificate file.'),
    password: secretReference.optional().describe('Password of the PFX file or of an encrypted PEM key.'),
    sendX5c: z.boolean().optional().describe('Send the certificate chain (x5c) for subject-name/issuer authentication.'),
  }),
});

const simulatorSettings = z.strictObject({
  seed: z.number().int().min(0).optional(),
  mailboxes: z.number().int().min(0).max(1_000_000).optional(),
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  concurrencyCap: z.number().int().min(1).max(1_000).optional(),
});

/** The Exchange Online PowerShell module's public client, pre-authorised for EXO and IPPS in every cloud. */
export const EXCHANGE_MODULE_CLIENT_ID = 'fb78d390-0c51-40cd-8e17-fdbfab77341b';

const delegatedAuth = z.strictObject({
  type: z.literal('delegated'),
  account: z.email({ message: 'must be the user principal name of the admin account, e.g. admin@contoso.onmicrosoft.com' }),
  clientId: z
    .uuid({ message: 'must be the application (client) id, a GUID' })
    .optional()
    .describe(`Public client to sign in with (default: the Exchange Online PowerShell module's, ${EXCHANGE_MODULE_CLIENT_ID}).`),
});

const auth = z.discriminatedUnion('type', [certificateAuth, delegatedAuth], {
  message: 'must have type: certificate (app-only) or type: delegated (an admin account signed in with `exorun login`)',
});

const httpsUrl = z.url({ protocol: /^https$/, message: 'must be an https:// URL' });

/** A URL for Exchange Online, or one per service. */
const perServiceUrl = z.union([httpsUrl, z.strictObject({ exo: httpsUrl.optional(), ipps: httpsUrl.optional() })]);

const tenant = z.strictObject({
  organization: z
    .string()
    .regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, { message: 'must be a domain such as contoso.onmicrosoft.com' })
    .describe('The primary *.onmicrosoft.com domain of the tenant.'),
  tenantId: z.uuid({ message: 'must be the directory (tenant) id, a GUID' }).optional(),
  cloud: z.enum(CLOUD_NAMES).optional().describe('Microsoft cloud; `simulated` uses the built-in simulator and needs no credentials.'),
  auth: auth.optional(),
  connectionUri: perServiceUrl
    .optional()
    .describe('Overrides the service address: a URL for Exchange Online, or { exo, ipps } (Connect-ExchangeOnline -ConnectionUri).'),
  resource: perServiceUrl
    .optional()
    .describe(
      'The token audience: a URL for Exchange Online, or { exo, ipps }. By default it follows connectionUri; set it only when the service behind a custom address expects another audience.',
    ),
  authority: httpsUrl
    .optional()
    .describe('Overrides the sign-in host (AzureADAuthorizationEndpointUri), e.g. https://login.microsoftonline.de/common; the tenant replaces the path.'),
  limits: limits.optional(),
  simulator: simulatorSettings.optional().describe('Seeded data and behaviour of a simulated tenant.'),
});

/* ---- Operator view (#5): output retention, notifications, missed runs and catch-up ---- */

const retention = z
  .strictObject({
    keepRuns: z.number().int().min(1).optional().describe('Keep the newest N runs of the job.'),
    keepDays: z.number().positive().optional().describe('Keep runs started within the last D days.'),
  })
  .refine((value) => value.keepRuns !== undefined || value.keepDays !== undefined, { message: 'give keepRuns, keepDays or both' })
  .describe('Which runs `exorun prune` (and the scheduler, daily) keeps; a run either rule keeps is kept.');

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an environment variable name' });

const webhook = z.strictObject({
  url: z
    .union([z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }), z.strictObject({ env: envName })])
    .describe('Where to POST; { env: NAME } reads it from an environment variable (webhook URLs often carry a secret).'),
  format: z.enum(['json', 'teams', 'slack']).optional().describe('Payload shape (default json).'),
  on: z
    .array(z.enum(['failure', 'warnings', 'missed']))
    .min(1)
    .optional()
    .describe('Events to send (default all): a failed run, a run that succeeded with warnings, a missed scheduled run.'),
});

const notify = z.array(webhook).describe('Webhooks told about failed runs, runs with warnings and missed runs.');

const catchUp = z.enum(['none', 'once']).describe('What to do about fire times missed while nothing ran: none (default) or once (one run for the latest).');

const missedRunGrace = duration.describe('A scheduled run not started this long after its fire time is reported as missed (default 5m).');

const operatorJobKeys = { retention: retention.optional(), notify: notify.optional(), catchUp: catchUp.optional(), missedRunGrace: missedRunGrace.optional() };

const output = z.strictObject({
  formats: z.array(outputFormat).min(1).optional(),
  csv: z
    .strictObject({
      bom: z.boolean().optional(),
      flatten: z.boolean().optional(),
      delimiter: z.enum(CSV_DELIMITERS).optional(),
      formulaGuard: z.boolean().optional(),
    })
    .optional()
    .describe(
      "CSV settings: bom (UTF-8 byte order mark so Excel reads UTF-8, default true), flatten (nested objects as Parent.Child columns, default true), delimiter (',' default, ';' for Excel where the decimal mark is a comma, tab or '|'), formulaGuard (a text cell starting with = + - @ gets a leading ', default true).",
    ),
  directory: z.string().min(1).optional().describe('Output root, relative to this file (default ./outputs).'),
});

const parameterName = z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, { message: 'must be a cmdlet parameter name (letters and digits)' });

/* ---------------------------------------------------------------- job language: steps, tenants, policies */

const cmdletName = z.string().regex(/^[A-Za-z]+-[A-Za-z0-9]+$/, { message: 'must be a cmdlet name in Verb-Noun form, such as Get-Mailbox' });

/** Tenant names, `group:<tenantGroup>` or `all`. */
const tenantSelector = z.string().regex(/^(all|group:[A-Za-z0-9][A-Za-z0-9_-]{0,63}|[A-Za-z0-9][A-Za-z0-9_-]{0,63})$/, {
  message: 'must be a tenant name, group:<name of a tenantGroups entry> or all',
});

const step = z.strictObject({
  name: name.describe('Names the step in outputs (<runId>.<step>.<format>), logs and forEach.'),
  service: serviceName.optional(),
  cmdlet: cmdletName,
  parameters: z.record(parameterName, z.unknown()).optional().describe('Values may use ${…} templates (docs/jobs-yaml.md#templates).'),
  select: z.array(z.string().min(1)).min(1).optional(),
  forEach: name.optional().describe('Run the cmdlet once per object of an earlier step; ${item.Property} reads the object.'),
  output: z.strictObject({ formats: z.array(outputFormat).min(1).optional() }).optional(),
  pageSize: z.number().int().min(1).max(1000).optional(),
});

const maxItemFailures = z
  .union([
    z.number().int().min(0),
    z
      .string()
      .regex(/^\d+(\.\d+)?%$/, { message: 'must be a count such as 10 or a share such as 5%', abort: true })
      .refine((share) => Number(share.slice(0, -1)) <= 100, { message: 'must be a share of at most 100%' }),
  ])
  .describe('forEach items that may fail before the run fails: a count (default 0) or a share such as 5%.');

const retry = z.strictObject({
  attempts: z.number().int().min(1).max(100).optional().describe('Attempts in all, the first included (default 3).'),
  backoff: duration.optional().describe('First wait before a retry; doubles each time (default 10s).'),
});

/** The job-language keys of a job (issue #6), kept together so schema merges stay easy. */
const jobLanguage = {
  tenants: z.array(tenantSelector).min(1).optional().describe('Run once per tenant: names, group:<tenantGroup>, all.'),
  excludeTenants: z.array(tenantSelector).min(1).optional().describe('Tenants (or groups) left out of `tenants`.'),
  steps: z.array(step).min(1).optional().describe('Cmdlets run in order; instead of cmdlet/parameters/select/service on the job.'),
  maxItemFailures: maxItemFailures.optional(),
  initialWindow: positiveDuration
    .optional()
    .describe('Length of the first ${window.start}–${window.end} interval (later runs continue from the last success).'),
  overlap: z.enum(['skip', 'queue-one', 'allow']).optional().describe('When a run of this job for a tenant is still queued or running (default allow).'),
  retry: retry.optional(),
};

const job = z.strictObject({
  description: z.string().optional(),
  enabled: z.boolean().optional(),
  schedule: schedule.optional().describe('Cron: [seconds] minutes hours day-of-month month day-of-week. Omit for manual-only jobs.'),
  timezone: timeZone.optional(),
  tenant: name.optional(),
  service: serviceName.optional(),
  cmdlet: cmdletName.optional(),
  parameters: z.record(parameterName, z.unknown()).optional(),
  select: z.array(z.string().min(1)).min(1).optional().describe('Properties to keep, in this order (sent to the service as $select).'),
  output: output.optional(),
  pageSize: z.number().int().min(1).max(1000).optional(),
  timeout: positiveDuration.optional().describe('Abort the run after this long (default 1h).'),
  allowWrite: z.boolean().optional().describe('Required for cmdlets that change data (anything but Get-, Search-, Test-, Export-).'),
  ...jobLanguage,
  ...operatorJobKeys,
});

const defaults = z.strictObject({
  timezone: timeZone.optional(),
  output: output.optional(),
  pageSize: z.number().int().min(1).max(1000).optional(),
  limits: limits.optional(),
  ...operatorJobKeys,
});

export const jobsFileSchema = z.strictObject({
  version: z.literal(1, { message: 'must be 1 (the only jobs.yaml version this exorun reads)' }),
  defaults: defaults.optional(),
  tenants: z.record(name, tenant),
  tenantGroups: z
    .record(name, z.array(tenantSelector).min(1))
    .optional()
    .describe("Named lists of tenants (or other groups) for jobs' tenants: [group:<name>]."),
  jobs: z.record(name, job),
});

/** jobs.yaml exactly as written (after YAML parsing and schema checks, before defaults). */
export type JobsFile = z.infer<typeof jobsFileSchema>;
export type TenantInput = z.infer<typeof tenant>;
export type JobInput = z.infer<typeof job>;
export type StepInput = z.infer<typeof step>;
