import type { SimulatorFaults, TenantSettings } from './types.js';

/** Settings with every default filled in, as the admin API applies them to one request. */
export interface EffectiveSettings {
  latencyMs: number;
  concurrencyCap: number;
  faults: SimulatorFaults;
  errorFormat: 'A' | 'B';
  tokenLifetimeSec: number;
}

const DEFAULTS: EffectiveSettings = { latencyMs: 0, concurrencyCap: 3, faults: {}, errorFormat: 'A', tokenLifetimeSec: 3600 };
const SETTING_KEYS: ReadonlySet<string> = new Set(['latencyMs', 'concurrencyCap', 'faults', 'errorFormat', 'tokenLifetimeSec']);
const FAULT_KEYS: ReadonlySet<string> = new Set([
  'throttleRate',
  'unavailableRate',
  'concurrencyRefusalRate',
  'serverErrorRate',
  'gatewayErrorRate',
  'retryAfterSec',
  'retryAfterFormat',
  'seed',
]);

/** Tenant values win over server values, field by field (faults too). */
export function effectiveSettings(server: TenantSettings, tenant: TenantSettings | undefined): EffectiveSettings {
  return {
    latencyMs: tenant?.latencyMs ?? server.latencyMs ?? DEFAULTS.latencyMs,
    concurrencyCap: tenant?.concurrencyCap ?? server.concurrencyCap ?? DEFAULTS.concurrencyCap,
    faults: { ...server.faults, ...tenant?.faults },
    errorFormat: tenant?.errorFormat ?? server.errorFormat ?? DEFAULTS.errorFormat,
    tokenLifetimeSec: tenant?.tokenLifetimeSec ?? server.tokenLifetimeSec ?? DEFAULTS.tokenLifetimeSec,
  };
}

export function mergeSettings(base: TenantSettings, patch: TenantSettings): TenantSettings {
  const merged: TenantSettings = { ...base, ...patch };
  if (patch.faults || base.faults) merged.faults = { ...base.faults, ...patch.faults };
  return merged;
}

/** Picks and checks the TenantSettings fields of `value`; throws a readable Error on bad values. */
export function parseTenantSettings(value: Record<string, unknown>, allowedExtraKeys: readonly string[] = []): TenantSettings {
  for (const key of Object.keys(value)) {
    if (!SETTING_KEYS.has(key) && !allowedExtraKeys.includes(key)) throw new Error(`unknown setting '${key}'`);
  }
  const settings: TenantSettings = {};
  const { latencyMs, concurrencyCap, faults, errorFormat, tokenLifetimeSec } = value;
  if (latencyMs !== undefined) settings.latencyMs = number('latencyMs', latencyMs, 0, 3_600_000);
  if (concurrencyCap !== undefined) {
    settings.concurrencyCap = number('concurrencyCap', concurrencyCap, 1, 1_000_000);
    if (!Number.isInteger(settings.concurrencyCap)) throw new Error('concurrencyCap must be an integer');
  }
  if (errorFormat !== undefined) {
    if (errorFormat !== 'A' && errorFormat !== 'B') throw new Error("errorFormat must be 'A' or 'B'");
    settings.errorFormat = errorFormat;
  }
  if (faults !== undefined) settings.faults = parseFaults(faults);
  if (tokenLifetimeSec !== undefined) {
    settings.tokenLifetimeSec = number('tokenLifetimeSec', tokenLifetimeSec, 1, 86_400);
    if (!Number.isInteger(settings.tokenLifetimeSec)) throw new Error('tokenLifetimeSec must be an integer');
  }
  return settings;
}

function parseFaults(value: unknown): SimulatorFaults {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('faults must be an object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!FAULT_KEYS.has(key)) throw new Error(`unknown fault setting '${key}'`);
  const faults: SimulatorFaults = {};
  if (record['throttleRate'] !== undefined) faults.throttleRate = number('faults.throttleRate', record['throttleRate'], 0, 1);
  if (record['unavailableRate'] !== undefined) faults.unavailableRate = number('faults.unavailableRate', record['unavailableRate'], 0, 1);
  if (record['concurrencyRefusalRate'] !== undefined) {
    faults.concurrencyRefusalRate = number('faults.concurrencyRefusalRate', record['concurrencyRefusalRate'], 0, 1);
  }
  if (record['serverErrorRate'] !== undefined) faults.serverErrorRate = number('faults.serverErrorRate', record['serverErrorRate'], 0, 1);
  if (record['gatewayErrorRate'] !== undefined) faults.gatewayErrorRate = number('faults.gatewayErrorRate', record['gatewayErrorRate'], 0, 1);
  if (record['retryAfterSec'] !== undefined) faults.retryAfterSec = number('faults.retryAfterSec', record['retryAfterSec'], 0, 86_400);
  if (record['seed'] !== undefined) faults.seed = number('faults.seed', record['seed'], -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const format = record['retryAfterFormat'];
  if (format !== undefined) {
    if (format !== 'seconds' && format !== 'http-date' && format !== 'mixed') {
      throw new Error("faults.retryAfterFormat must be 'seconds', 'http-date' or 'mixed'");
    }
    faults.retryAfterFormat = format;
  }
  return faults;
}

function number(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number from ${min} to ${max}`);
  }
  return value;
}
