import { AppError } from '../core/index.js';
import type { CloudEndpoints, CloudName, ServiceName } from '../core/index.js';

/**
 * Endpoints per Microsoft cloud (the module's environment table; docs/protocol.md §6.1). The token
 * resource of each service is its host URL; IPPS requests start at a global host and are
 * redirected to a regional sub-domain, hence the `*.` entries.
 */
const COMMERCIAL: CloudEndpoints = {
  cloud: 'commercial',
  authorityHost: 'https://login.microsoftonline.com',
  exo: {
    baseUrl: 'https://outlook.office365.com',
    resource: 'https://outlook.office365.com',
    trustedHosts: ['outlook.office365.com', 'outlook.office.com'],
  },
  ipps: {
    baseUrl: 'https://ps.compliance.protection.outlook.com',
    resource: 'https://ps.compliance.protection.outlook.com',
    trustedHosts: ['ps.compliance.protection.outlook.com', '*.ps.compliance.protection.outlook.com'],
  },
};

const CLOUDS: Record<Exclude<CloudName, 'simulated'>, CloudEndpoints> = {
  commercial: COMMERCIAL,
  // GCC uses the commercial endpoints (O365Default); only GCC High and DoD are separate clouds.
  gcc: { ...COMMERCIAL, cloud: 'gcc' },
  gcchigh: {
    cloud: 'gcchigh',
    authorityHost: 'https://login.microsoftonline.us',
    exo: { baseUrl: 'https://outlook.office365.us', resource: 'https://outlook.office365.us', trustedHosts: ['outlook.office365.us'] },
    ipps: {
      baseUrl: 'https://ps.compliance.protection.office365.us',
      resource: 'https://ps.compliance.protection.office365.us',
      trustedHosts: ['ps.compliance.protection.office365.us', '*.ps.compliance.protection.office365.us'],
    },
  },
  dod: {
    cloud: 'dod',
    authorityHost: 'https://login.microsoftonline.us',
    exo: {
      baseUrl: 'https://outlook-dod.office365.us',
      resource: 'https://outlook-dod.office365.us',
      trustedHosts: ['outlook-dod.office365.us', 'webmail.apps.mil'],
    },
    // DoD starts at the l5. host but the token audience is the bare host (docs/protocol.md §3, §6.1).
    ipps: {
      baseUrl: 'https://l5.ps.compliance.protection.office365.us',
      resource: 'https://ps.compliance.protection.office365.us',
      trustedHosts: ['*.ps.compliance.protection.office365.us', 'compliance.dod.microsoft.com'],
    },
  },
  china: {
    cloud: 'china',
    authorityHost: 'https://login.chinacloudapi.cn',
    exo: { baseUrl: 'https://partner.outlook.cn', resource: 'https://partner.outlook.cn', trustedHosts: ['partner.outlook.cn', 'outlook.office365.cn'] },
    ipps: {
      baseUrl: 'https://ps.compliance.protection.partner.outlook.cn',
      resource: 'https://ps.compliance.protection.partner.outlook.cn',
      trustedHosts: ['ps.compliance.protection.partner.outlook.cn', '*.ps.compliance.protection.partner.outlook.cn'],
    },
  },
  // Microsoft Cloud Deutschland closed on 29 Oct 2021; kept for tenants still configured that way.
  germany: {
    cloud: 'germany',
    authorityHost: 'https://login.microsoftonline.de',
    exo: { baseUrl: 'https://outlook.office.de', resource: 'https://outlook.office.de', trustedHosts: ['outlook.office.de'] },
    ipps: {
      baseUrl: 'https://ps.compliance.protection.outlook.de',
      resource: 'https://ps.compliance.protection.outlook.de',
      trustedHosts: ['ps.compliance.protection.outlook.de', '*.ps.compliance.protection.outlook.de'],
    },
  },
};

/**
 * The endpoints of a named Microsoft cloud. A cloud whose endpoints are not in the table (the
 * simulator's come from the running simulator, see the worker's clouds) has none here.
 */
export function cloudEndpoints(cloud: CloudName): CloudEndpoints {
  const endpoints = Object.hasOwn(CLOUDS, cloud) ? CLOUDS[cloud as keyof typeof CLOUDS] : undefined;
  if (!endpoints) throw new AppError('INTERNAL', `The cloud table has no endpoints for '${cloud}'; they come from where that cloud is served.`);
  return endpoints;
}

/**
 * The token audience of `service` for a host of a known Microsoft cloud, e.g. `webmail.apps.mil`
 * (DoD) → `https://outlook-dod.office365.us`, a regional IPPS host → its cloud's IPPS resource.
 * Undefined for any other host: an address outside Microsoft's clouds is its own audience.
 */
export function knownResourceOf(service: ServiceName, host: string): string | undefined {
  const lower = host.toLowerCase();
  for (const cloud of Object.values(CLOUDS)) {
    const endpoint = cloud[service];
    const matches = endpoint.trustedHosts.some((pattern) => (pattern.startsWith('*.') ? lower.endsWith(pattern.slice(1)) : lower === pattern));
    if (matches || lower === new URL(endpoint.baseUrl).host) return endpoint.resource;
  }
  return undefined;
}
