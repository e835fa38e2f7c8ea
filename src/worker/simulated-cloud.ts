import type { TenantConfig } from '../config/model.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CloudEndpoints, HttpTransport } from '../core/ports.js';
import { createHttpTransport } from '../exchange/http-transport.js';
import { startSimulator, type ProvisionedTenant, type Simulator } from '../simulator/index.js';
import { readSimulatorState, type SimulatorState } from '../simulator/state-file.js';

/** The real services' token audiences: the simulator checks them exactly as Entra and EXO do. */
const EXO_RESOURCE = 'https://outlook.office365.com';
const IPPS_RESOURCE = 'https://ps.compliance.protection.outlook.com';

/** Access to one simulated tenant: where to call and the app credentials it was provisioned with. */
export interface SimulatedTenantAccess {
  endpoints: CloudEndpoints;
  provisioned: ProvisionedTenant;
  /** Trusts the simulator's CA (and only adds it; system roots stay trusted). */
  transport: HttpTransport;
}

export interface SimulatedCloud {
  provision(tenant: TenantConfig): Promise<SimulatedTenantAccess>;
  /** The in-process simulator, when this process started one (tests read its recorder). */
  readonly local: Simulator | undefined;
  close(): Promise<void>;
}

/**
 * Connects `cloud: simulated` tenants to a simulator: the one named by a state file (written by
 * `exorun simulate`, shared by every worker process) or, without one, a simulator started in this
 * process on first use.
 */
export function createSimulatedCloud(options: { stateFile?: string; logger: Logger }): SimulatedCloud {
  let backend: Promise<Backend> | undefined;
  let local: Simulator | undefined;
  const provisioned = new Map<string, Promise<SimulatedTenantAccess>>();

  interface Backend {
    state: Pick<SimulatorState, 'urls' | 'caCertPem' | 'adminKey'>;
    transport: HttpTransport;
    provision: (request: ProvisionRequestBody) => Promise<ProvisionedTenant>;
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
    return {
      state: { urls: simulator.urls, caCertPem: simulator.caCertPem, adminKey: simulator.adminKey },
      transport: createHttpTransport({ extraCaPem: [simulator.caCertPem] }),
      provision: (request) => simulator.provisionTenant(request),
    };
  }

  async function provisionTenant(tenant: TenantConfig): Promise<SimulatedTenantAccess> {
    backend ??= connect();
    const { state, transport, provision } = await backend;
    const settings = tenant.simulator;
    const result = await provision({
      organization: tenant.organization,
      ...(settings ? { seed: settings.seed, mailboxCount: settings.mailboxes } : {}),
      ...(settings?.latencyMs === undefined ? {} : { latencyMs: settings.latencyMs }),
      ...(settings?.concurrencyCap === undefined ? {} : { concurrencyCap: settings.concurrencyCap }),
    });
    return { endpoints: simulatedEndpoints(state.urls), provisioned: result, transport };
  }

  return {
    provision(tenant) {
      let access = provisioned.get(tenant.organization);
      if (!access) {
        access = provisionTenant(tenant);
        // A failed provisioning is not cached: the next run tries again.
        access.catch(() => provisioned.delete(tenant.organization));
        provisioned.set(tenant.organization, access);
      }
      return access;
    },
    get local() {
      return local;
    },
    async close() {
      const connected = await backend?.catch(() => undefined);
      await connected?.transport.close();
      await local?.close();
    },
  };
}

interface ProvisionRequestBody {
  organization: string;
  seed?: number;
  mailboxCount?: number;
  latencyMs?: number;
  concurrencyCap?: number;
}

async function provisionRemotely(
  transport: HttpTransport,
  state: Pick<SimulatorState, 'urls' | 'adminKey'>,
  request: ProvisionRequestBody,
): Promise<ProvisionedTenant> {
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
  return JSON.parse(response.body.toString('utf8')) as ProvisionedTenant;
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
