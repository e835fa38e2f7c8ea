import { formatDateTime } from '../data/format.js';
import { aadError, type AadError } from './aad-error.js';
import { parseDelegatedScope } from './delegated-scopes.js';
import { issueDelegatedTokens } from './delegated-token.js';
import type { GrantHandler, GrantResult } from './grant-types.js';
import { checkClientCredential, resolvePublicClient } from './public-clients.js';
import type { RedeemResult } from './refresh-tokens.js';

const fail = (error: AadError): GrantResult => ({ ok: false, error });
const REVOKED = 'The provided grant has expired due to it being revoked, a fresh auth token is needed.';

/**
 * `grant_type=refresh_token` with rotation: every success hands out a new refresh token of the same
 * family. One refresh token may mint tokens for EXO and for IPPS (the scope names the resource).
 */
export const refreshTokenGrant: GrantHandler = (request, deps) => {
  const { form, nowMs } = request;
  const client = resolvePublicClient(form.get('client_id'), request.tenant, deps.tenants, request.tenantSegment);
  if ('error' in client) return fail(client);
  const credentialFailure = checkClientCredential(form, client, request);
  if (credentialFailure) return fail(credentialFailure);
  const token = form.get('refresh_token');
  if (!token) return fail(aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'refresh_token'."));
  const scope = parseDelegatedScope(form.get('scope'), request.tenantSegment, deps.resources);
  if ('error' in scope) return fail(scope);

  const result = deps.refreshTokens.redeem(token, { clientId: client.clientId, tenantId: request.tenant?.tenantId, nowMs, rotate: scope.offlineAccess });
  if (!result.ok) {
    const tenantId = result.grant?.tenantId ?? request.tenant?.tenantId;
    deps.count(tenantId, 'refreshRefusals');
    if (result.reason === 'reused') {
      deps.count(tenantId, 'reuseDetections');
      deps.count(tenantId, 'revocations');
    }
    return fail(refusal(result, nowMs));
  }
  const tenant = deps.tenants.find(result.grant.tenantId);
  const user = tenant?.users.find(result.grant.upn);
  if (!tenant || !user) return fail(aadError(400, 'invalid_grant', 50034, `The user account ${result.grant.upn} does not exist in the directory.`));
  if (result.reused) deps.count(tenant.tenantId, 'reuseDetections');
  deps.count(tenant.tenantId, 'refreshRedemptions');
  if (result.next !== undefined) deps.count(tenant.tenantId, 'rotations');
  deps.count(tenant.tenantId, 'userTokens');
  return {
    ok: true,
    body: issueDelegatedTokens({
      signer: deps.signer,
      tenantId: tenant.tenantId,
      user,
      clientId: client.clientId,
      scope,
      lifetimeSec: deps.tokenLifetimeSec(tenant),
      nowMs,
      loginOrigin: request.origin,
      refreshToken: result.next,
      clientInfo: form.get('client_info') === '1',
    }),
  };
};

/** Every refusal is `invalid_grant` (msal-node throws ServerError errorCode invalid_grant); the AADSTS number tells why. */
function refusal(result: Extract<RedeemResult, { ok: false }>, nowMs: number): AadError {
  const issued = result.grant ? formatDateTime(result.grant.signInMs, 'utc') : '';
  switch (result.reason) {
    case 'unknown':
      return aadError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
    case 'wrong-client':
      // Codes and texts for a token of another client or tenant are UNCONFIRMED.
      return aadError(400, 'invalid_grant', 70000, 'The provided grant is not valid: the refresh token was issued to a different client id.');
    case 'wrong-tenant':
      return aadError(400, 'invalid_grant', 70000, 'The provided grant is not valid: the refresh token was issued in a different tenant.');
    case 'user-revoked':
      return aadError(
        400,
        'invalid_grant',
        50173,
        `${REVOKED} The user might have changed or reset their password. The grant was issued on '${issued}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${formatDateTime(result.validFromMs ?? 0, 'utc')}'.`,
      );
    case 'reused':
    case 'family-revoked':
      return aadError(
        400,
        'invalid_grant',
        50173,
        `${REVOKED} A refresh token of this sign-in was redeemed a second time, so every refresh token of the sign-in was revoked (simulator refreshTokenReuse 'revoke-family'). The grant was issued on '${issued}'.`,
      );
    case 'expired': {
      const issuedAtMs = result.issuedAtMs ?? nowMs;
      const inactiveSec = Math.max(0, Math.round((nowMs - issuedAtMs) / 1000));
      return aadError(
        400,
        'invalid_grant',
        700082,
        `The refresh token has expired due to inactivity. The token was issued on ${formatDateTime(issuedAtMs, 'utc')} and was inactive for ${formatDuration(inactiveSec)}.`,
      );
    }
  }
}

/** `90.00:00:00`, as .NET TimeSpan prints (Entra's text uses it). */
function formatDuration(totalSec: number): string {
  const days = Math.floor(totalSec / 86_400);
  const rest = totalSec - days * 86_400;
  const two = (value: number): string => String(value).padStart(2, '0');
  return `${days}.${two(Math.floor(rest / 3600))}:${two(Math.floor(rest / 60) % 60)}:${two(rest % 60)}`;
}
