import { AppError } from '../core/errors.js';
import type { CloudEndpoints, CloudName, HttpTransport } from '../core/ports.js';
import { cloudEndpoints } from './clouds.js';

/** Per-tenant replacements for a cloud's addresses (Connect-ExchangeOnline -ConnectionUri, -AzureADAuthorizationEndpointUri). */
export interface EndpointOverrides {
  exoUrl?: string;
  ippsUrl?: string;
  authorityHost?: string;
}

/**
 * A tenant's endpoints: its cloud's, with overrides applied. An overridden host becomes the only
 * trusted host of that service (plus its sub-domains for IPPS regional redirects), so a token is
 * never sent to the cloud's default host by mistake.
 */
export function resolveEndpoints(cloud: Exclude<CloudName, 'simulated'>, overrides: EndpointOverrides = {}): CloudEndpoints {
  const base = cloudEndpoints(cloud);
  const exoHost = overrides.exoUrl ? new URL(overrides.exoUrl).host : undefined;
  const ippsHost = overrides.ippsUrl ? new URL(overrides.ippsUrl).host : undefined;
  return {
    ...base,
    authorityHost: overrides.authorityHost ?? base.authorityHost,
    exo: exoHost ? { ...base.exo, baseUrl: new URL(overrides.exoUrl as string).origin, trustedHosts: [exoHost] } : base.exo,
    ipps: ippsHost ? { ...base.ipps, baseUrl: new URL(overrides.ippsUrl as string).origin, trustedHosts: [ippsHost, `*.${ippsHost}`] } : base.ipps,
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
