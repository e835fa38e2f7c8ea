import { AppError } from '../core/index.js';
import type { CloudEndpoints, CloudName, HttpTransport, ServiceEndpoint, ServiceName } from '../core/index.js';
import { cloudEndpoints, knownResourceOf } from './clouds.js';

/** Per-tenant replacements for a cloud's addresses (Connect-ExchangeOnline -ConnectionUri, -AzureADAuthorizationEndpointUri). */
export interface EndpointOverrides {
  exoUrl?: string;
  ippsUrl?: string;
  authorityHost?: string;
  /** Token audience for EXO when it is not what the address implies (rare: a proxy in front of the service). */
  exoResource?: string;
  /** Token audience for IPPS, likewise. */
  ippsResource?: string;
}

/**
 * A tenant's endpoints: its cloud's, with overrides applied. An overridden address becomes the only
 * trusted host of that service (plus its sub-domains on the same port for the IPPS regional
 * redirect), so a token is never sent to the cloud's default host by mistake. The token audience
 * follows the address, as the module's environment table does: a host of a known Microsoft cloud
 * keeps that service's audience (webmail.apps.mil → outlook-dod.office365.us), any other host is its
 * own audience; an explicit resource override wins.
 */
export function resolveEndpoints(cloud: CloudName, overrides: EndpointOverrides = {}): CloudEndpoints {
  const base = cloudEndpoints(cloud);
  return {
    ...base,
    authorityHost: overrides.authorityHost ?? base.authorityHost,
    exo: overriddenService(base.exo, 'exo', overrides.exoUrl, overrides.exoResource),
    ipps: overriddenService(base.ipps, 'ipps', overrides.ippsUrl, overrides.ippsResource),
  };
}

function overriddenService(base: ServiceEndpoint, service: ServiceName, url: string | undefined, resource: string | undefined): ServiceEndpoint {
  if (url === undefined) return resource === undefined ? base : { ...base, resource: new URL(resource).origin };
  const address = new URL(url);
  // IPPS answers its first call with a redirect to a regional sub-domain of the address it was called at.
  const regional = `*.${address.hostname}${address.port === '' ? '' : `:${address.port}`}`;
  return {
    baseUrl: address.origin,
    resource: resource === undefined ? (knownResourceOf(service, address.host) ?? address.origin) : new URL(resource).origin,
    trustedHosts: service === 'ipps' ? [address.host, regional] : [address.host],
  };
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * The tenant GUID for a domain, from the authority's OpenID configuration (its issuer holds the
 * GUID). Admin URLs and the app-only anchor mailbox use the GUID.
 */
export async function resolveTenantId(authorityHost: string, organization: string, transport: HttpTransport): Promise<string> {
  const url = `${authorityHost}/${encodeURIComponent(organization)}/v2.0/.well-known/openid-configuration`;
  let status: number;
  let body: string;
  try {
    const response = await transport.request({ method: 'GET', url, timeoutMs: 30_000 });
    status = response.status;
    body = response.body.toString('utf8');
  } catch (error) {
    throw new AppError('AUTH_UNAVAILABLE', `Cannot reach ${new URL(authorityHost).host} to look up the tenant id of ${organization}.`, { cause: error });
  }
  const issuer = status === 200 ? (JSON.parse(body) as { issuer?: unknown }).issuer : undefined;
  const tenantId = typeof issuer === 'string' ? GUID.exec(issuer)?.[0] : undefined;
  if (!tenantId) {
    throw new AppError(
      'AUTH_TENANT_NOT_FOUND',
      `${new URL(authorityHost).host} does not know the organization ${organization} (HTTP ${status}); check organization and cloud.`,
    );
  }
  return tenantId.toLowerCase();
}
