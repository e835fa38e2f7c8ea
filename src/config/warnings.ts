import path from 'node:path';
import { parseDurationMs } from '../core/index.js';
import { DEFAULT_SLOTS, DEFAULT_TIMEZONE } from './model.js';
import { shiftedFireTime } from './cron.js';
import { clip, type ConfigProblem } from './problems.js';
import type { JobsFile, StepInput } from './schema.js';
import type { YamlSource } from './yaml-source.js';

/*
 * Warnings: what jobs.yaml allows but a person probably did not mean. Each is reported at the
 * value's line; none stops a file from loading. They run on a file the schema accepted, so values
 * have their declared types here.
 */

export interface WarningOptions {
  /** "Now": daylight-saving gaps are looked for in the year after it. */
  nowMs: number;
  /** Absolute path of jobs.yaml, for the output-directory check. */
  absolutePath: string;
}

export function collectWarnings(file: JobsFile, source: YamlSource, options: WarningOptions): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  const warn = (at: (string | number)[], message: string): void => {
    warnings.push(source.problem(at, message));
  };
  const defaults = file.defaults ?? {};
  const defaultZone = defaults.timezone ?? DEFAULT_TIMEZONE;

  if (defaults.timezone !== undefined) checkTimeZone(['defaults', 'timezone'], defaults.timezone, warn);
  if (defaults.missedRunGrace !== undefined) checkDuration(['defaults', 'missedRunGrace'], defaults.missedRunGrace, warn);
  (defaults.notify ?? []).forEach((hook, index) => checkWebhook(['defaults', 'notify', index, 'url'], hook.url, warn));

  const baseDir = path.dirname(options.absolutePath);
  const outputsRoot = path.resolve(baseDir, defaults.output?.directory ?? './outputs');

  for (const [name, tenant] of Object.entries(file.tenants)) {
    checkTenant(name, tenant, warn);
  }
  checkDefaultLimits(file, warn);

  for (const [name, job] of Object.entries(file.jobs)) {
    const at = ['jobs', name];
    if (job.timezone !== undefined) checkTimeZone([...at, 'timezone'], job.timezone, warn);
    if (job.schedule !== undefined && job.enabled !== false) {
      checkClockChange([...at, 'schedule'], job.schedule, job.timezone ?? defaultZone, options.nowMs, warn);
    }
    if (job.timeout !== undefined) checkDuration([...at, 'timeout'], job.timeout, warn);
    if (job.initialWindow !== undefined) checkDuration([...at, 'initialWindow'], job.initialWindow, warn);
    if (job.missedRunGrace !== undefined) checkDuration([...at, 'missedRunGrace'], job.missedRunGrace, warn);
    if (job.retry?.backoff !== undefined) checkDuration([...at, 'retry', 'backoff'], job.retry.backoff, warn);
    (job.notify ?? []).forEach((hook, index) => checkWebhook([...at, 'notify', index, 'url'], hook.url, warn));
    if (job.output?.directory !== undefined) {
      const directory = path.resolve(baseDir, job.output.directory);
      const relative = path.relative(outputsRoot, directory);
      if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
        warn(
          [...at, 'output', 'directory'],
          `is outside the outputs root ${outputsRoot} (defaults.output.directory); this job's files are written and pruned there — check that is meant`,
        );
      }
    }
    if (job.parameters !== undefined) checkParameterValues([...at, 'parameters'], job.parameters, warn);
    (job.steps ?? []).forEach((step: StepInput, index) => {
      if (step.parameters !== undefined) checkParameterValues([...at, 'steps', index, 'parameters'], step.parameters, warn);
    });
  }
  return warnings;
}

type Warn = (at: (string | number)[], message: string) => void;

/** `timeout: 90` is 90 milliseconds, which is rarely what was meant. */
function checkDuration(at: (string | number)[], value: string | number, warn: Warn): void {
  const bare = typeof value === 'number' || /^\s*\d+(\.\d+)?\s*$/.test(value);
  if (!bare) return;
  const ms = parseDurationMs(value) ?? 0;
  const exact = wholeUnits(ms);
  warn(
    at,
    exact
      ? `a number without a unit is read as milliseconds (${ms} ms = ${exact}); write ${exact}`
      : `a number without a unit is read as milliseconds (${ms} ms); write ${ms}ms to keep that, or give a unit such as ${ms}s or ${ms}m`,
  );
}

/** `300000` → `5m`: the largest unit that divides a duration exactly, if any is larger than ms. */
function wholeUnits(ms: number): string | undefined {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return undefined;
}

function checkClockChange(at: (string | number)[], schedule: string, timeZone: string, nowMs: number, warn: Warn): void {
  const shifted = shiftedFireTime(schedule, timeZone, nowMs);
  if (!shifted) return;
  warn(
    at,
    `on ${shifted.localDate} the clocks in ${timeZone} skip ${shifted.gap}, so the ${shifted.scheduled} run fires at ${shifted.firesAt} that day (pick a time outside ${shifted.gap}, or a zone without daylight saving such as UTC, to avoid it)`,
  );
}

/* ---------------------------------------------------------------- time zones */

/** Abbreviations that are fixed offsets, though people use them for a region's local time. */
const FIXED_OFFSET_ABBREVIATIONS: Readonly<Record<string, { offset: string; meant: string }>> = {
  EST: { offset: 'UTC-05:00', meant: 'America/New_York' },
  MST: { offset: 'UTC-07:00', meant: 'America/Denver' },
};
/** IANA's "backward" areas: every name in them is an old alias of a Region/City zone. */
const LEGACY_AREAS = /^(US|Canada|Mexico|Brazil|Chile)\//;
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT']);
const timeZoneAdvice = new Map<string, string | undefined>();

function checkTimeZone(at: (string | number)[], timeZone: string, warn: Warn): void {
  if (!timeZoneAdvice.has(timeZone)) timeZoneAdvice.set(timeZone, adviceFor(timeZone));
  const advice = timeZoneAdvice.get(timeZone);
  if (advice) warn(at, advice);
}

/**
 * Why a zone name that works is still a poor choice: a fixed offset where local time is meant, an
 * alias kept only for compatibility, or a spelling that differs from the zone's name. The schema
 * has already checked that the runtime knows the name.
 */
function adviceFor(timeZone: string): string | undefined {
  if (UTC_NAMES.has(timeZone)) return undefined;
  const fixed = FIXED_OFFSET_ABBREVIATIONS[timeZone];
  if (fixed) {
    return `'${timeZone}' is a fixed offset (${fixed.offset}) with no daylight-saving rules; for local time write a Region/City zone such as ${fixed.meant}`;
  }
  const etcOffset = /^Etc\/GMT([+-])(\d{1,2})$/.exec(timeZone);
  if (etcOffset) {
    // POSIX signs: Etc/GMT+5 is five hours *behind* UTC.
    return `'${timeZone}' is a fixed offset of UTC${etcOffset[1] === '+' ? '-' : '+'}${etcOffset[2]} (the sign is inverted in Etc/ names) with no daylight-saving rules`;
  }
  const canonical = canonicalZoneName(timeZone);
  if (!timeZone.includes('/') || LEGACY_AREAS.test(timeZone) || timeZone.startsWith('Etc/')) {
    const suggestion =
      canonical && canonical !== timeZone && (canonical === 'UTC' || canonical.includes('/')) ? `; write ${canonical}` : '; write a Region/City zone';
    return `'${timeZone}' is a deprecated time zone alias${suggestion}`;
  }
  if (canonical && canonical !== timeZone && canonical.toLowerCase() === timeZone.toLowerCase()) return `write the zone as ${canonical}`;
  return undefined;
}

function canonicalZoneName(timeZone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/* ---------------------------------------------------------------- tenants */

/** Hosts of Microsoft's clouds (commercial, US government, China, Germany) and sign-in. */
const MICROSOFT_DOMAINS = [
  'microsoftonline.com',
  'microsoftonline.us',
  'microsoftonline.de',
  'microsoftonline.cn',
  'chinacloudapi.cn',
  'usgovcloudapi.net',
  'windows.net',
  'microsoft.com',
  'office365.com',
  'office365.us',
  'office.com',
  'office.de',
  'outlook.com',
  'outlook.cn',
  'apps.mil',
];

function isMicrosoftHost(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return MICROSOFT_DOMAINS.some((domain) => host === domain || host.endsWith(`.${domain}`));
}

function checkTenant(name: string, tenant: JobsFile['tenants'][string], warn: Warn): void {
  const at = ['tenants', name];
  const simulated = tenant.cloud === 'simulated';
  const addresses: { at: (string | number)[]; url: string; what: string }[] = [];
  const perService = (key: 'connectionUri' | 'resource', what: string): void => {
    const value = tenant[key];
    if (typeof value === 'string') addresses.push({ at: [...at, key], url: value, what });
    else if (value) {
      if (value.exo) addresses.push({ at: [...at, key, 'exo'], url: value.exo, what });
      if (value.ipps) addresses.push({ at: [...at, key, 'ipps'], url: value.ipps, what });
    }
  };
  perService('connectionUri', 'calls and the token go');
  perService('resource', 'tokens are asked for');
  if (tenant.authority) {
    addresses.push({ at: [...at, 'authority'], url: tenant.authority, what: 'sign-in goes (with the certificate assertion or the admin session)' });
  }
  for (const address of addresses) {
    if (!simulated && !isMicrosoftHost(address.url)) {
      warn(address.at, `${new URL(address.url).host} is not a Microsoft host; allowed (a proxy or a stand-in), but this is where ${address.what}`);
    }
  }

  // A resource only makes sense next to the address it is the audience of.
  const connection = tenant.connectionUri;
  const resource = tenant.resource;
  if (resource !== undefined) {
    const hasAddress = (service: 'exo' | 'ipps'): boolean => (typeof connection === 'string' ? service === 'exo' : connection?.[service] !== undefined);
    const services: ('exo' | 'ipps')[] =
      typeof resource === 'string' ? ['exo'] : (['exo', 'ipps'] as const).filter((service) => resource[service] !== undefined);
    for (const service of services) {
      if (!hasAddress(service)) {
        warn(
          typeof resource === 'string' ? [...at, 'resource'] : [...at, 'resource', service],
          `is set but connectionUri${typeof resource === 'string' ? '' : `.${service}`} is not: the cloud's own ${service} address would be asked for a token of another audience (set resource only with a custom connectionUri)`,
        );
      }
    }
  }

  if (!simulated) {
    for (const service of ['exo', 'ipps'] as const) {
      const limit = tenant.limits?.[service];
      if (limit !== undefined && limit > DEFAULT_SLOTS) warn([...at, 'limits', service], limitMessage(limit));
    }
  }
}

function checkDefaultLimits(file: JobsFile, warn: Warn): void {
  const limits = file.defaults?.limits;
  if (!limits) return;
  for (const service of ['exo', 'ipps'] as const) {
    const limit = limits[service];
    if (limit === undefined || limit <= DEFAULT_SLOTS) continue;
    const inherited = Object.values(file.tenants).some((tenant) => tenant.cloud !== 'simulated' && tenant.limits?.[service] === undefined);
    if (inherited) warn(['defaults', 'limits', service], limitMessage(limit));
  }
}

function limitMessage(limit: number): string {
  return `${limit} is above 3, the documented limit of open connections per account; the service may refuse or throttle calls beyond it`;
}

/* ---------------------------------------------------------------- notifications and parameters */

function checkWebhook(at: (string | number)[], url: string | { env: string }, warn: Warn): void {
  // The URL itself is never quoted: webhook URLs usually carry a secret.
  if (typeof url === 'string' && /^http:/i.test(url)) {
    warn(at, 'sends notifications over plain http://, readable on the way; use https://');
  }
}

/**
 * PowerShell evaluates `$true`, `(Get-Date)` and variables before a cmdlet sees them; exorun sends
 * parameter values as they are written, so these arrive as text.
 */
function checkParameterValues(at: (string | number)[], value: unknown, warn: Warn): void {
  if (typeof value === 'string') {
    const advice = powerShellAdvice(value.trim());
    if (advice) warn(at, advice);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => checkParameterValues([...at, index], item, warn));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) checkParameterValues([...at, key], item, warn);
  }
}

function powerShellAdvice(text: string): string | undefined {
  if (/^\$(true|false)$/i.test(text)) {
    return `'${text}' is sent as the text '${text}', not as a boolean; write ${text.slice(1).toLowerCase()} (YAML's boolean)`;
  }
  if (/^\$null$/i.test(text)) return `'${text}' is sent as the text '$null'; leave the parameter out instead`;
  if (/^\$[A-Za-z_][\w:]*$/.test(text)) return `'${text}' is sent as text: PowerShell variables are not evaluated`;
  if (/^\(.*\)(\.[A-Za-z]\w*(\(.*\))?)*$/s.test(text) || /^@\(/.test(text) || /^\[[A-Za-z.]+\]::/.test(text)) {
    return `'${clip(text)}' is sent as text: PowerShell expressions are not evaluated (for times relative to the run use a template such as \${now - 1d})`;
  }
  return undefined;
}
