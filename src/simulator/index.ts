import { randomBytes } from 'node:crypto';
import { createAdminApiHandler, type AdminApiDeps } from './admin-api/handler.js';
import { createCursorStore } from './admin-api/cursors.js';
import { createFaultInjector } from './admin-api/faults.js';
import { createCmdletRegistry } from './cmdlets/registry.js';
import { createControlHandler } from './control-api.js';
import { createLoginHandler } from './entra/login-handler.js';
import { createTokenSigner } from './jwt.js';
import { createRecorder } from './recorder.js';
import { startListener, type Listener } from './server.js';
import { effectiveSettings, mergeSettings, parseTenantSettings } from './settings.js';
import { createTenantRegistry } from './tenants.js';
import { createCertificateAuthority, createSigningKeys, issueServerCertificate } from './tls.js';
import {
  SIMULATOR_ROLES,
  type ProvisionedTenant,
  type ProvisionRequest,
  type Simulator,
  type SimulatorOptions,
  type SimulatorRole,
  type TenantSettings,
} from './types.js';

export type {
  CallRecord,
  KeyStats,
  ProvisionedTenant,
  ProvisionRequest,
  Recorder,
  Simulator,
  SimulatorFaults,
  SimulatorOptions,
  SimulatorRole,
  TenantData,
  TenantSettings,
} from './types.js';
export { SIMULATOR_ROLES } from './types.js';
export { stripAnnotations } from './data/property-types.js';
export { createSelfSignedCertificate, type SelfSignedCertificateOptions } from './tls.js';
export { CmdletError, isCmdletError, type CmdletErrorCode } from './cmdlets/cmdlet-error.js';
export { MORE_RESULTS_WARNING } from './cmdlets/result-window.js';

/** Starts the four HTTPS listeners (login, EXO, IPPS global, IPPS regional) on one CA. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const publicHost = options.publicHost ?? '127.0.0.1';
  const bindHost = options.bindHost ?? '127.0.0.1';
  const hostNames = [...new Set([publicHost, 'localhost', '127.0.0.1', '::1'])];
  const adminKey = options.adminKey ?? randomBytes(24).toString('base64url');
  const now = (): number => Date.now();
  let serverSettings: TenantSettings = parseTenantSettings(pickSettings(options));

  const ca = options.ca ?? (await createCertificateAuthority());
  const serverCert = await issueServerCertificate(ca, hostNames);
  const signer = createTokenSigner(await createSigningKeys());
  const registry = createCmdletRegistry();
  const tenants = createTenantRegistry(registry);
  const recorder = createRecorder({ resolveTenant: (name) => tenants.find(name)?.tenantId, now });
  const faults = createFaultInjector();
  const urls = {} as Record<SimulatorRole, string>;

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
    faults,
    signer,
    settingsFor: (tenant) => effectiveSettings(serverSettings, tenant?.settings),
    gzip: options.gzip ?? true,
    now,
  };
  async function provisionTenant(request: ProvisionRequest): Promise<ProvisionedTenant> {
    const provisioned = await tenants.provision(request);
    if (request.faults) faults.reset();
    return provisioned;
  }

  const control = createControlHandler({ adminKey, provision: provisionTenant, recorder, configure });
  const handlers: Record<SimulatorRole, Parameters<typeof startListener>[0]['handler']> = {
    login: createLoginHandler({ tenants, signer, origin: () => urls.login, hostNames, tokenLifetimeSec: options.tokenLifetimeSec ?? 3600, now, control }),
    exo: createAdminApiHandler('exo', adminDeps),
    ipps: createAdminApiHandler('ipps', adminDeps),
    ippsRegional: createAdminApiHandler('ippsRegional', adminDeps),
  };

  const listeners: Listener[] = [];
  try {
    for (const role of SIMULATOR_ROLES) {
      const listener = await startListener({
        host: bindHost,
        port: options.ports?.[role] ?? 0,
        certPem: serverCert.certPem,
        keyPem: serverCert.keyPem,
        handler: handlers[role],
      });
      listeners.push(listener);
      urls[role] = `https://${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${listener.port}`;
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
    close() {
      closing ??= Promise.all(listeners.map((listener) => listener.close())).then(() => undefined);
      return closing;
    },
  };
}

function pickSettings(options: SimulatorOptions): Record<string, unknown> {
  const { latencyMs, concurrencyCap, faults, errorFormat } = options;
  return Object.fromEntries(Object.entries({ latencyMs, concurrencyCap, faults, errorFormat }).filter(([, value]) => value !== undefined));
}
