import { aadError, tenantNotFound } from './aad-error.js';
import { issueAppToken } from './access-token.js';
import { JWT_BEARER, verifyClientAssertion } from './client-assertion.js';
import type { GrantHandler } from './grant-types.js';
import { resourceFromScope } from './scopes.js';

/** `grant_type=client_credentials` with a certificate assertion (private_key_jwt). */
export const clientCredentialsGrant: GrantHandler = (request, deps) => {
  const { form, tenant } = request;
  if (!tenant) {
    if (/^(common|organizations|consumers)$/i.test(request.tenantSegment)) {
      return {
        ok: false,
        error: aadError(400, 'invalid_request', 50059, 'No tenant-identifying information found in either the request or implied by any provided credentials.'),
      };
    }
    return { ok: false, error: tenantNotFound(request.tenantSegment) };
  }
  const clientId = form.get('client_id');
  if (!clientId) {
    return { ok: false, error: aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.") };
  }
  if (clientId.toLowerCase() !== tenant.clientId) {
    return {
      ok: false,
      error: aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${request.tenantSegment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      ),
    };
  }
  if (form.get('client_secret') !== null) {
    return {
      ok: false,
      error: aadError(
        401,
        'invalid_client',
        7000215,
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.',
      ),
    };
  }
  const assertion = form.get('client_assertion');
  if (form.get('client_assertion_type') !== JWT_BEARER || !assertion) {
    return {
      ok: false,
      error: aadError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
    };
  }
  const failure = verifyClientAssertion(assertion, {
    tenant,
    clientId: tenant.clientId,
    nowMs: request.nowMs,
    audienceMatches: (aud) => request.audienceMatches(aud, tenant),
  });
  if (failure) return { ok: false, error: failure };
  const resource = resourceFromScope(form.get('scope'), request.tenantSegment, deps.resources);
  if (typeof resource !== 'string') return { ok: false, error: resource };
  deps.count(tenant.tenantId, 'appTokens');
  return { ok: true, body: issueAppToken({ signer: deps.signer, tenant, resource, lifetimeSec: deps.tokenLifetimeSec(tenant), nowMs: request.nowMs }) };
};
