import { rm } from 'node:fs/promises';
import type { TenantConfig } from '../config/index.js';
import { AppError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { credentialFromPem, type CertificateCredential } from '../auth/index.js';
import type { CloudEndpoints, HttpTransport } from '../core/index.js';
import { createHttpTransport } from '../exchange/index.js';
import { startSimulator, type RunningSimulator, type SimulatedTenantCredentials, type SimulatedTenantRequest } from './simulator-package.js';
import { readSimulatorState, writeSimulatorState, type SimulatorState } from './simulator-state.js';
import type { TenantReach } from './tenant-sessions.js';

/** The real services' token audiences: the simulator checks them exactly as Entra and EXO do. */
const EXO_RESOURCE = 'https://outlook.office365.com';
const IPPS_RESOURCE = 'https://ps.compliance.protection.outlook.com';

/** Access to one simulated tenant: where to call and the app credentials it was provisioned with. */
export interface SimulatedTenantAccess {
  endpoints: CloudEndpoints;
  provisioned: SimulatedTenantCredentials;
  /** Trusts the simulator's CA (and only adds it; system roots stay trusted). */
  transport: HttpTransport;
}

export interface SimulatedCloud {
  /**
   * Provisions the tenant (idempotent for its data) and returns how to reach it. `certificatePem`
   * registers a certificate from jobs.yaml on the tenant's app, whose id is then the auth.clientId
   * of jobs.yaml, so file-based credentials work exactly as against a real tenant.
   */
  provision(tenant: TenantConfig, certificatePem?: string): Promise<SimulatedTenantAccess>;
  /**
   * The tenant's reach for the worker's sessions (the `simulated` entry of its clouds): the
   * simulator's endpoints, a transport that trusts its CA, the provisioned tenant id and — when
   * jobs.yaml names no credentials — the generated app certificate.
   */
  reach(tenant: TenantConfig, certificate: CertificateCredential | undefined): Promise<TenantReach>;
  /** The in-process simulator, when this process started one. */
  readonly local: RunningSimulator | undefined;
  close(): Promise<void>;
}

/**
 * Connects `cloud: simulated` tenants to a simulator: the one named by a state file (written by
 * `exorun simulate`, shared by every worker process) or, without one, a simulator started in this
 * process on first use.
 */
export interface SimulatedCloudOptions {
  /** State file of an external simulator (`exorun simulate`); otherwise one is started here. */
  stateFile?: string;
  /**
   * Where to publish the state of a simulator started here, so `exorun login` and
   * `exorun simulate approve` in other processes can reach it; removed on close.
   */
  publishStateFile?: string;
  logger: Logger;
}

export function createSimulatedCloud(options: SimulatedCloudOptions): SimulatedCloud {
  let backend: Promise<Backend> | undefined;
  let local: RunningSimulator | undefined;
  let published: string | undefined;
  const provisioned = new Map<string, Promise<SimulatedTenantAccess>>();

  interface Backend {
    state: Pick<SimulatorState, 'urls' | 'caCertPem' | 'adminKey'>;
    transport: HttpTransport;
    provision: (request: SimulatedTenantRequest) => Promise<SimulatedTenantCredentials>;
  }

  async function connect(): Promise<Backend> {
    if (options.stateFile) {
      const state = await readSimulatorState(options.stateFile);
      const transport = createHttpTransport({ extraCaPem: [state.caCertPem] });
      options.logger.info({ login: state.urls.login, exo: state.urls.exo }, 'using the simulator named by EXORUN_SIMULATOR');
      return { state, transport, provision: (request) => provisionRemotely(transport, state, request) };
    }
    local = await startSimulator();
    const simulator = local;
    options.logger.info({ exo: simulator.urls.exo, ipps: simulator.urls.ipps }, 'started the built-in simulator for simulated tenants');
    if (options.publishStateFile) {
      await writeSimulatorState(options.publishStateFile, {
        pid: process.pid,
        urls: simulator.urls,
        caCertPem: simulator.caCertPem,
        adminKey: simulator.adminKey,
      });
      published = options.publishStateFile;
    }
    return {
      state: { urls: simulator.urls, caCertPem: simulator.caCertPem, adminKey: simulator.adminKey },
      transport: createHttpTransport({ extraCaPem: [simulator.caCertPem] }),
      provision: (request) => simulator.provisionTenant(request),
    };
  }

  async function provisionTenant(tenant: TenantConfig, certificatePem: string | undefined): Promise<SimulatedTenantAccess> {
    backend ??= connect();
    const { state, transport, provision } = await backend;
    const settings = tenant.simulator;
    const result = await provision({
      organization: tenant.organization,
      ...(settings ? { seed: settings.seed, mailboxCount: settings.mailboxes } : {}),
      ...(settings?.latencyMs === undefined ? {} : { latencyMs: settings.latencyMs }),
      ...(settings?.concurrencyCap === undefined ? {} : { concurrencyCap: settings.concurrencyCap }),
      ...(certificatePem === undefined ? {} : { certificatePem }),
      ...(tenant.auth?.type === 'certificate' ? { clientId: tenant.auth.clientId } : {}),
    });
    return { endpoints: simulatedEndpoints(state.urls), provisioned: result, transport };
  }

  function provision(tenant: TenantConfig, certificatePem: string | undefined): Promise<SimulatedTenantAccess> {
    const key = `${tenant.organization}|${certificatePem ?? ''}`;
    let access = provisioned.get(key);
    if (!access) {
      access = provisionTenant(tenant, certificatePem);
      // A failed provisioning is not cached: the next run tries again.
      access.catch(() => provisioned.delete(key));
      provisioned.set(key, access);
    }
    return access;
  }

  return {
    provision,
    async reach(tenant, certificate) {
      const access = await provision(tenant, certificate?.certificatePem);
      return {
        endpoints: access.endpoints,
        transport: access.transport,
        tenantId: tenant.tenantId ?? access.provisioned.tenantId,
        credential: {
          clientId: access.provisioned.clientId,
          credential: credentialFromPem(access.provisioned.certificatePem, access.provisioned.privateKeyPem),
        },
      };
    },
    get local() {
      return local;
    },
    async close() {
      const connected = await backend?.catch(() => undefined);
      await connected?.transport.close();
      await local?.close();
      if (published) await rm(published, { force: true });
    },
  };
}

async function provisionRemotely(
  transport: HttpTransport,
  state: Pick<SimulatorState, 'urls' | 'adminKey'>,
  request: SimulatedTenantRequest,
): Promise<SimulatedTenantCredentials> {
  const response = await transport
    .request({
      method: 'POST',
      url: `${state.urls.login}/_simulator/tenants`,
      headers: { authorization: `Bearer ${state.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(request),
      timeoutMs: 30_000,
    })
    .catch((error: unknown) => {
      throw new AppError('SIMULATOR_UNAVAILABLE', `The simulator at ${state.urls.login} cannot be reached: ${(error as Error).message}`, { cause: error });
    });
  if (response.status !== 200) {
    throw new AppError(
      'SIMULATOR_UNAVAILABLE',
      `The simulator refused to provision ${request.organization}: HTTP ${response.status} ${response.body.toString('utf8').slice(0, 300)}`,
    );
  }
  return JSON.parse(response.body.toString('utf8')) as SimulatedTenantCredentials;
}

export function simulatedEndpoints(urls: SimulatorState['urls']): CloudEndpoints {
  const host = (url: string): string => new URL(url).host;
  return {
    cloud: 'simulated',
    authorityHost: urls.login,
    exo: { baseUrl: urls.exo, resource: EXO_RESOURCE, trustedHosts: [host(urls.exo)] },
    ipps: { baseUrl: urls.ipps, resource: IPPS_RESOURCE, trustedHosts: [host(urls.ipps), host(urls.ippsRegional)] },
  };
}
