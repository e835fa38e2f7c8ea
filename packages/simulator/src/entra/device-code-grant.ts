import { aadError, type AadError } from './aad-error.js';
import { parseDelegatedScope } from './delegated-scopes.js';
import { issueDelegatedTokens } from './delegated-token.js';
import type { GrantHandler, GrantResult } from './grant-types.js';
import { checkClientCredential, resolvePublicClient } from './public-clients.js';

const fail = (error: AadError): GrantResult => ({ ok: false, error });

/**
 * `grant_type=device_code`: msal-node polls until the user approves. Pending, declined and expired
 * codes get the RFC 8628 errors; an approved code is redeemed once for tokens and a new refresh
 * token family.
 */
export const deviceCodeGrant: GrantHandler = (request, deps) => {
  const { form, nowMs } = request;
  const client = resolvePublicClient(form.get('client_id'), request.tenant, deps.tenants, request.tenantSegment);
  if ('error' in client) return fail(client);
  const credentialFailure = checkClientCredential(form, client, request);
  if (credentialFailure) return fail(credentialFailure);
  const deviceCode = form.get('device_code');
  if (!deviceCode) return fail(aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'device_code'."));

  const issued = deps.deviceCodes.peek(deviceCode);
  // Checked before polling, so a wrong client cannot use up someone's approved code. Codes and texts UNCONFIRMED.
  if (issued && issued.clientId !== client.clientId) {
    return fail(
      aadError(400, 'invalid_grant', 70000, "The provided value for the input parameter 'device_code' is not valid. It was issued to another client."),
    );
  }
  if (issued?.tenantId !== undefined && request.tenant !== undefined && issued.tenantId !== request.tenant.tenantId) {
    return fail(
      aadError(400, 'invalid_grant', 70000, "The provided value for the input parameter 'device_code' is not valid. It was issued for another tenant."),
    );
  }
  const poll = deps.deviceCodes.poll(deviceCode, nowMs);
  const tenantId = poll.entry?.tenantId ?? request.tenant?.tenantId;
  switch (poll.state) {
    case 'unknown':
      return fail(aadError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.'));
    case 'pending':
      deps.count(tenantId, 'deviceCodePendingPolls');
      return fail(
        aadError(400, 'authorization_pending', 70016, 'The provided request has not yet been authorized by the user. The user must input their code.'),
      );
    case 'declined':
      // The AADSTS number of a declined code is UNCONFIRMED.
      return fail(aadError(400, 'authorization_declined', 70000, 'The user declined the authorization request.'));
    case 'expired':
      return fail(
        aadError(400, 'expired_token', 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired."),
      );
    case 'redeemed':
      return fail(
        aadError(400, 'invalid_grant', 70000, "The provided value for the input parameter 'device_code' is not valid. It has already been redeemed."),
      );
    case 'approved':
      break;
  }
  const tenant = deps.tenants.find(poll.approval.tenantId);
  const user = tenant?.users.find(poll.approval.upn);
  if (!tenant || !user) return fail(aadError(400, 'invalid_grant', 50034, `The user account ${poll.approval.upn} does not exist in the directory.`));
  const scope = parseDelegatedScope(poll.entry.scope, request.tenantSegment, deps.resources);
  if ('error' in scope) return fail(scope);
  const refreshToken = scope.offlineAccess
    ? deps.refreshTokens.startFamily({ tenantId: tenant.tenantId, upn: user.upn, clientId: client.clientId, signInMs: nowMs })
    : undefined;
  deps.count(tenant.tenantId, 'deviceCodesRedeemed');
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
      refreshToken,
      clientInfo: form.get('client_info') === '1',
    }),
  };
};
