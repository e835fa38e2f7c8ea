import { randomBytes } from 'node:crypto';
import { createCaeStore } from './admin-api/cae.js';
import { createAdminApiHandler, type AdminApiDeps } from './admin-api/handler.js';
import { createCursorStore } from './admin-api/cursors.js';
import { createFaultInjector } from './admin-api/faults.js';
import { createAuditSessionStore } from './cmdlets/audit-sessions.js';
import { createCmdletRegistry } from './cmdlets/registry.js';
import { createControlHandler } from './control-api.js';
import { defaultApproval } from './entra/device-approval.js';
import { createDeviceCodeStore } from './entra/device-codes.js';
import { createEntraControl } from './entra/entra-control.js';
import type { GrantDeps } from './entra/grants.js';
import { createLoginHandler } from './entra/login-handler.js';
import { createRefreshTokenStore } from './entra/refresh-tokens.js';
import { createTokenSigner } from './jwt.js';
import type { RequestHandler } from './http.js';
import { checkRegion, DEFAULT_IPPS_REGION, regionalCertificateNames, routeByRegionalHost, usesRegionalSubdomains } from './ipps-regions.js';
import { createRecorder } from './recorder.js';
import { createServiceResources } from './resources.js';
import { startListener, type Listener } from './server.js';
import { effectiveSettings, mergeSettings, parseTenantSettings } from './settings.js';
import { createTenantRegistry } from './tenants.js';
import { createCertificateAuthority, createSigningKeys, issueServerCertificate } from './tls.js';
import {
  SIMULATOR_ROLES,
  type ProvisionedTenant,
  type ProvisionRequest,
  type RefreshTokenReuse,
  type Simulator,
  type SimulatorOptions,
  type SimulatorRole,
  type TenantSettings,
} from './types.js';

export type {
  CallRecord,
  EntraStats,
  KeyStats,
  PendingDeviceCode,
  ProvisionedTenant,
  ProvisionRequest,
  Recorder,
  RefreshTokenReuse,
  ServiceName,
  SimulatedUser,
  Simulator,
  SimulatorFaults,
  SimulatorOptions,
  SimulatorRole,
  TenantData,
  TenantSettings,
} from './types.js';
export { EXO_POWERSHELL_CLIENT_ID } from './entra/public-clients.js';
export { AUDIT_EPOCH_MS } from './data/audit-timeline.js';
export { SIMULATOR_ROLES } from './types.js';
export { stripAnnotations } from './data/property-types.js';
export { createSelfSignedCertificate, type SelfSignedCertificateOptions } from './tls.js';
export { CmdletError, isCmdletError, type CmdletErrorCode } from './cmdlets/cmdlet-error.js';
export { MORE_RESULTS_WARNING } from './cmdlets/result-window.js';

/**
 * Starts the HTTPS listeners (login, EXO, IPPS global, and IPPS regional unless the regional host
 * is a sub-domain of the global one) on one CA.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const publicHost = options.publicHost ?? '127.0.0.1';
  const bindHost = options.bindHost ?? '127.0.0.1';
  const hostNames = [...new Set([publicHost, 'localhost', '127.0.0.1', '::1'])];
  const regionalSubdomain = options.ippsRegionalSubdomain ?? usesRegionalSubdomains(publicHost);
  if (regionalSubdomain && !usesRegionalSubdomains(publicHost)) throw new Error(`ippsRegionalSubdomain needs a DNS name as publicHost, not '${publicHost}'`);
  const ippsRegion = checkRegion(options.ippsRegion ?? DEFAULT_IPPS_REGION);
  const adminKey = options.adminKey ?? randomBytes(24).toString('base64url');
  const now = (): number => Date.now();
  let serverSettings: TenantSettings = parseTenantSettings(pickSettings(options));

  const ca = options.ca ?? (await createCertificateAuthority());
  const serverCert = await issueServerCertificate(ca, [...hostNames, ...(regionalSubdomain ? regionalCertificateNames(publicHost, ippsRegion) : [])]);
  const signer = createTokenSigner(await createSigningKeys());
  const registry = createCmdletRegistry();
  const tenants = createTenantRegistry(registry, { now });
  const recorder = createRecorder({
    resolveTenant: (name) => tenants.find(name)?.tenantId,
    now,
    ...(options.earlyRetryGraceMs === undefined ? {} : { earlyRetryGraceMs: options.earlyRetryGraceMs }),
  });
  const faults = createFaultInjector();
  const cae = createCaeStore();
  const urls = {} as Record<SimulatorRole, string>;
  const resources = createServiceResources(() => ({ exo: urls.exo, ipps: urls.ipps }));
  const refreshTokens = createRefreshTokenStore({
    lifetimeSec: positive('refreshTokenLifetimeSec', options.refreshTokenLifetimeSec, 90 * 86_400),
    reuse: reuseMode(options.refreshTokenReuse),
  });
  const deviceCodes = createDeviceCodeStore({
    lifetimeSec: positive('deviceCodeLifetimeSec', options.deviceCodeLifetimeSec, 900),
    ...(options.deviceCodeAutoApproveMs === undefined ? {} : { autoApproveMs: nonNegative('deviceCodeAutoApproveMs', options.deviceCodeAutoApproveMs) }),
    autoApproveAs: (entry) => defaultApproval(tenants, entry),
    onApproved: (entry) => recorder.countEntra(entry.approval?.tenantId, 'deviceCodesApproved'),
  });
  const grants: GrantDeps = {
    signer,
    resources,
    tenants,
    tokenLifetimeSec: (tenant) => effectiveSettings(serverSettings, tenant.settings).tokenLifetimeSec,
    refreshTokens,
    deviceCodes,
    deviceCodeIntervalSec: positive('deviceCodeIntervalSec', options.deviceCodeIntervalSec, 5),
    deviceCodeLifetimeSec: positive('deviceCodeLifetimeSec', options.deviceCodeLifetimeSec, 900),
    count: (tenantId, counter) => recorder.countEntra(tenantId, counter),
  };

  function configure(settings: TenantSettings, organizationOrId?: string): void {
    const checked = parseTenantSettings(settings as Record<string, unknown>);
    if (organizationOrId === undefined) {
      serverSettings = mergeSettings(serverSettings, checked);
    } else {
      const tenant = tenants.find(organizationOrId);
      if (!tenant) throw new Error(`no simulated tenant '${organizationOrId}'`);
      tenant.settings = mergeSettings(tenant.settings, checked);
    }
    // New fault settings start new deterministic sequences.
    if (checked.faults) faults.reset();
  }

  const adminDeps: AdminApiDeps = {
    urls: () => urls,
    tenants,
    registry,
    recorder,
    cursors: createCursorStore({ ttlMs: options.cursorTtlMs ?? 1_800_000, now }),
    auditSessions: createAuditSessionStore({ ttlMs: options.cursorTtlMs ?? 1_800_000, now }),
    cae,
    faults,
    signer,
    resources,
    settingsFor: (tenant) => effectiveSettings(serverSettings, tenant?.settings),
    gzip: options.gzip ?? true,
    now,
  };
  async function provisionTenant(request: ProvisionRequest): Promise<ProvisionedTenant> {
    const provisioned = await tenants.provision(request);
    if (request.faults) faults.reset();
    return provisioned;
  }

  const entra = createEntraControl({ tenants, deviceCodes, refreshTokens, cae, recorder, now });

  const control = createControlHandler({
    adminKey,
    provision: provisionTenant,
    recorder,
    configure,
    ...entra,
  });
  const ippsGlobal = createAdminApiHandler('ipps', adminDeps);
  const ippsRegional = createAdminApiHandler('ippsRegional', adminDeps);
  const handlers: Record<SimulatorRole, RequestHandler> = {
    login: createLoginHandler({ tenants, signer, origin: () => urls.login, hostNames, grants, now, control }),
    exo: createAdminApiHandler('exo', adminDeps),
    ipps: regionalSubdomain ? routeByRegionalHost(publicHost, { global: ippsGlobal, regional: ippsRegional }) : ippsGlobal,
    ippsRegional,
  };
  const origin = (host: string, port: number): string => `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const listeners: Listener[] = [];
  try {
    for (const role of SIMULATOR_ROLES) {
      if (role === 'ippsRegional' && regionalSubdomain) continue;
      const listener = await startListener({
        host: bindHost,
        port: options.ports?.[role] ?? 0,
        certPem: serverCert.certPem,
        keyPem: serverCert.keyPem,
        handler: handlers[role],
      });
      listeners.push(listener);
      urls[role] = origin(publicHost, listener.port);
      // The regional sub-domain is served by the IPPS listener, on its port.
      if (role === 'ipps' && regionalSubdomain) urls.ippsRegional = origin(`${ippsRegion}.${publicHost}`, listener.port);
    }
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    throw error;
  }
  Object.freeze(urls);

  let closing: Promise<void> | undefined;
  return {
    urls,
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    adminKey,
    provisionTenant,
    tenantData: (organizationOrId) => tenants.find(organizationOrId)?.data,
    recorder,
    configure,
    ...entra,
    close() {
      closing ??= Promise.all(listeners.map((listener) => listener.close())).then(() => undefined);
      return closing;
    },
  };
}

function pickSettings(options: SimulatorOptions): Record<string, unknown> {
  const { latencyMs, concurrencyCap, faults, errorFormat, tokenLifetimeSec } = options;
  return Object.fromEntries(Object.entries({ latencyMs, concurrencyCap, faults, errorFormat, tokenLifetimeSec }).filter(([, value]) => value !== undefined));
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be 0 or more`);
  return value;
}

function reuseMode(value: RefreshTokenReuse | undefined): RefreshTokenReuse {
  if (value === undefined) return 'revoke-family';
  if (value !== 'allow' && value !== 'revoke-family') throw new Error("refreshTokenReuse must be 'allow' or 'revoke-family'");
  return value;
}
