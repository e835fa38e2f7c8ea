import type { TokenSigner } from '../jwt.js';

/** Path segments that name no tenant: the issuer then carries the `{tenantid}` placeholder. */
export const MULTI_TENANT_SEGMENTS: ReadonlySet<string> = new Set(['common', 'organizations', 'consumers']);

/**
 * Entra's v2 OpenID configuration. Endpoints use the tenant id (as Entra resolves a domain to its
 * id); the issuer keeps the login origin, which is what msal-node's issuer validation compares.
 */
export function openIdConfiguration(loginOrigin: string, tenant: string): Record<string, unknown> {
  const base = `${loginOrigin}/${tenant}`;
  const issuerTenant = MULTI_TENANT_SEGMENTS.has(tenant) ? '{tenantid}' : tenant;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${loginOrigin}/${issuerTenant}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${loginOrigin}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'cloud_instance_name',
      'cloud_instance_host_name',
      'cloud_graph_host_name',
      'msgraph_host',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    tenant_region_scope: 'NA',
    cloud_instance_name: 'simulator.invalid',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

export function jsonWebKeySet(signer: TokenSigner): Record<string, unknown> {
  return signer.jwks();
}
