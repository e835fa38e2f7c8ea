import type { TenantRecord, TenantRegistry } from '../tenants.js';
import { aadError, type AadError } from './aad-error.js';
import { JWT_BEARER, verifyClientAssertion } from './client-assertion.js';

/**
 * "Microsoft Exchange REST API Based PowerShell", the ExchangeOnlineManagement module's public client:
 * known to every tenant and pre-authorised for EXO and IPPS, as in the real directory.
 */
export const EXO_POWERSHELL_CLIENT_ID = 'fb78d390-0c51-40cd-8e17-fdbfab77341b';

/** A client allowed to use delegated grants, and the tenant whose app it is (none for the module). */
export interface PublicClient {
  clientId: string;
  /** Set for a tenant's own app: its users are the only ones who can sign in with it. */
  appTenant?: TenantRecord;
}

/**
 * The client a delegated grant names. The module works in every tenant; a tenant's own app works
 * as a public client too (as if "Allow public client flows" were on). At `/organizations` any
 * tenant's app is found by its id.
 */
export function resolvePublicClient(
  clientId: string | null,
  tenant: TenantRecord | undefined,
  tenants: TenantRegistry,
  segment: string,
): PublicClient | AadError {
  if (!clientId) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
  const lower = clientId.trim().toLowerCase();
  if (lower === EXO_POWERSHELL_CLIENT_ID) return { clientId: lower };
  const appTenant = tenant ? (tenant.clientId === lower ? tenant : undefined) : tenants.all().find((candidate) => candidate.clientId === lower);
  if (appTenant) return { clientId: lower, appTenant };
  return aadError(
    400,
    'unauthorized_client',
    700016,
    `Application with identifier '${clientId}' was not found in the directory '${segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  );
}

/**
 * Public clients send no credential; the module must not (Entra refuses a secret or assertion from
 * a public client). A tenant's app may still prove itself with its certificate, which is then checked.
 */
export function checkClientCredential(
  form: URLSearchParams,
  client: PublicClient,
  context: { nowMs: number; audienceMatches(aud: string, tenant: TenantRecord): boolean },
): AadError | undefined {
  const assertion = form.get('client_assertion');
  const secret = form.get('client_secret');
  if (assertion === null && secret === null) return undefined;
  if (!client.appTenant) {
    return aadError(401, 'invalid_client', 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.");
  }
  if (secret !== null) {
    return aadError(
      401,
      'invalid_client',
      7000215,
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.',
    );
  }
  if (form.get('client_assertion_type') !== JWT_BEARER || !assertion) {
    return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_assertion_type'.");
  }
  const tenant = client.appTenant;
  return verifyClientAssertion(assertion, {
    tenant,
    clientId: tenant.clientId,
    nowMs: context.nowMs,
    audienceMatches: (aud) => context.audienceMatches(aud, tenant),
  });
}
