import { createHash, randomBytes } from 'node:crypto';
import type { TokenSigner } from '../jwt.js';
import { base64UrlJson } from '../jwt.js';
import type { SimulatedUser } from '../types.js';
import { ISSUED_AT_MS_CLAIM, type TokenResponse } from './access-token.js';
import type { DelegatedScope } from './delegated-scopes.js';
import { EXO_POWERSHELL_CLIENT_ID } from './public-clients.js';

export interface DelegatedTokenOptions {
  signer: TokenSigner;
  tenantId: string;
  user: SimulatedUser;
  clientId: string;
  scope: DelegatedScope;
  lifetimeSec: number;
  nowMs: number;
  /** The login origin the client used: the id_token issuer is `{origin}/{tid}/v2.0`. */
  loginOrigin: string;
  /** The refresh token to hand out (absent without offline_access). */
  refreshToken: string | undefined;
  /** The request had `client_info=1`. */
  clientInfo: boolean;
}

/**
 * The token response of a delegated grant (device code, refresh token): a v1 user access token
 * for the resource, plus what msal-node needs to build an account: an id_token
 * with oid/tid/sub/preferred_username and client_info `{"uid","utid"}`.
 */
export function issueDelegatedTokens(options: DelegatedTokenOptions): TokenResponse {
  const { user, tenantId, clientId, scope, lifetimeSec } = options;
  const now = Math.floor(options.nowMs / 1000);
  const [given = user.displayName, ...rest] = user.displayName.split(' ');
  const accessToken = options.signer.sign({
    aud: scope.resource,
    iss: `https://sts.windows.net/${tenantId}/`,
    iat: now,
    nbf: now,
    exp: now + lifetimeSec,
    acr: '1',
    aio: randomBytes(24).toString('base64url'),
    amr: ['pwd', 'mfa'],
    app_displayname: clientId === EXO_POWERSHELL_CLIENT_ID ? 'Microsoft Exchange REST API Based Powershell' : 'exorun',
    appid: clientId,
    appidacr: '0',
    family_name: rest.join(' ') || given,
    given_name: given,
    idtyp: 'user',
    ipaddr: '203.0.113.10',
    name: user.displayName,
    oid: user.oid,
    puid: createHash('sha256').update(user.oid).digest('hex').slice(0, 16).toUpperCase(),
    rh: `0.${randomBytes(16).toString('base64url')}.`,
    scp: scope.scp,
    sid: randomBytes(16).toString('hex'),
    // Entra's sub is pairwise per app: stable for (user, client), different across clients.
    sub: createHash('sha256').update(`${user.oid}|${clientId}`).digest('base64url').slice(0, 43),
    tid: tenantId,
    unique_name: user.upn,
    upn: user.upn,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
    [ISSUED_AT_MS_CLAIM]: options.nowMs,
  });
  const body: TokenResponse = { token_type: 'Bearer', scope: scope.echo, expires_in: lifetimeSec, ext_expires_in: lifetimeSec, access_token: accessToken };
  if (options.refreshToken !== undefined) body['refresh_token'] = options.refreshToken;
  if (scope.openid) {
    body['id_token'] = options.signer.sign({
      aud: clientId,
      iss: `${options.loginOrigin}/${tenantId}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      name: user.displayName,
      oid: user.oid,
      preferred_username: user.upn,
      rh: `0.${randomBytes(16).toString('base64url')}.`,
      sub: createHash('sha256').update(`id|${user.oid}|${clientId}`).digest('base64url').slice(0, 43),
      tid: tenantId,
      uti: randomBytes(16).toString('base64url'),
      ver: '2.0',
    });
  }
  if (options.clientInfo) body['client_info'] = base64UrlJson({ uid: user.oid, utid: tenantId });
  return body;
}
