import { randomBytes } from 'node:crypto';
import type { TokenSigner } from '../jwt.js';
import type { TenantRecord } from '../tenants.js';

/**
 * A private claim with the issue time in ms. `iat` has whole seconds, too coarse to tell whether
 * a token predates a CAE `requireClaims()` moment taken within the same second.
 */
export const ISSUED_AT_MS_CLAIM = 'xms_sim_iat_ms';

/** Successful token endpoint body. */
export interface TokenResponse {
  token_type: 'Bearer';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  [extra: string]: unknown;
}

/**
 * A v1 app-only access token as Entra issues it for Exchange: `aud` is the
 * resource, `roles` carries Exchange.ManageAsApp, signed with the simulator's token key.
 */
export function issueAppToken(options: { signer: TokenSigner; tenant: TenantRecord; resource: string; lifetimeSec: number; nowMs: number }): TokenResponse {
  const { tenant, resource, lifetimeSec } = options;
  const now = Math.floor(options.nowMs / 1000);
  const preciseIssuedAt = { [ISSUED_AT_MS_CLAIM]: options.nowMs };
  const issuer = `https://sts.windows.net/${tenant.tenantId}/`;
  const accessToken = options.signer.sign({
    aud: resource,
    iss: issuer,
    iat: now,
    nbf: now,
    exp: now + lifetimeSec,
    aio: randomBytes(24).toString('base64url'),
    app_displayname: tenant.appDisplayName,
    appid: tenant.clientId,
    appidacr: '2',
    idp: issuer,
    idtyp: 'app',
    oid: tenant.servicePrincipalId,
    rh: `0.${randomBytes(16).toString('base64url')}.`,
    roles: ['Exchange.ManageAsApp'],
    sub: tenant.servicePrincipalId,
    tid: tenant.tenantId,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
    ...preciseIssuedAt,
  });
  return { token_type: 'Bearer', expires_in: lifetimeSec, ext_expires_in: lifetimeSec, access_token: accessToken };
}
