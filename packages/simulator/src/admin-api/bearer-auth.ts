import type { ServiceName } from '../types.js';
import { ISSUED_AT_MS_CLAIM } from '../entra/access-token.js';
import { emptyResponse, type SimResponse } from '../http.js';
import { decodeJwt, type TokenSigner } from '../jwt.js';
import type { ServiceResources } from '../resources.js';
import { claimsChallenge } from './cae.js';

/** Resource app ids the services name in their challenges (`client_id` of the Bearer challenge). */
export const RESOURCE_APP_IDS: Record<ServiceName, string> = {
  exo: '00000002-0000-0ff1-ce00-000000000000',
  ipps: '00000007-0000-0ff1-ce00-000000000000',
};

export const APP_ROLE = 'Exchange.ManageAsApp';
/** Delegated scopes that grant the admin API (for the delegated sign-in flows). */
const DELEGATED_SCOPES: readonly string[] = ['AdminApi.AccessAsUser.All', 'Exchange.Manage'];

/**
 * On failure `claims` is set when the token's signature verified (so the call log can still say
 * whose token it was) and `cae` when the refusal is a claims challenge.
 */
export type AuthResult =
  { ok: true; claims: Record<string, unknown> } | { ok: false; response: SimResponse; expired: boolean; claims?: Record<string, unknown>; cae?: boolean };

export interface AuthContext {
  service: ServiceName;
  /** The tenant named in the URL, when the simulator knows it. */
  tenantId: string | undefined;
  signer: TokenSigner;
  /** Which token audiences name the service (its canonical resources and its own public origin). */
  resources: ServiceResources;
  /** Origin of the login listener, for `authorization_uri`. */
  loginOrigin: string;
  nowMs: number;
  /** CAE: tokens of this tenant/user issued before the returned ms get a claims challenge. */
  claimsRequiredSince?(tenantId: string, upn: string | undefined): number | undefined;
}

/** When the token was issued, ms: the simulator's precise claim, else `iat`. */
export function issuedAtMs(claims: Record<string, unknown>): number | undefined {
  const precise = claims[ISSUED_AT_MS_CLAIM];
  if (typeof precise === 'number') return precise;
  return typeof claims['iat'] === 'number' ? claims['iat'] * 1000 : undefined;
}

/**
 * `WWW-Authenticate: Bearer …` as EXO/IPPS send it. Only expiry adds an `error_description`
 * (other reasons' wording is UNCONFIRMED); `extra` is also where a CAE `claims="<base64>"` goes.
 */
export function bearerChallenge(service: ServiceName, loginOrigin: string, extra: Record<string, string> = {}): string {
  const parameters: Record<string, string> = {
    client_id: RESOURCE_APP_IDS[service],
    trusted_issuers: '00000001-0000-0000-c000-000000000000@*',
    token_types: 'app_asserted_user_v1 service_asserted_app_v1',
    authorization_uri: `${loginOrigin}/common/oauth2/authorize`,
    error: 'invalid_token',
    ...extra,
  };
  return `Bearer ${Object.entries(parameters)
    .map(([name, value]) => `${name}="${value}"`)
    .join(', ')}`;
}

/** Checks the Authorization header of an admin API request. */
export function authenticate(authorization: string | undefined, context: AuthContext): AuthResult {
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) {
    // The service asks for Basic until it is shown a bearer token.
    return { ok: false, expired: false, response: emptyResponse(401, { 'WWW-Authenticate': 'Basic Realm=""' }) };
  }
  const token = match[1];
  const refuse = (extra: Record<string, string> = {}, expired = false, verified?: Record<string, unknown>): AuthResult => ({
    ok: false,
    expired,
    ...(verified ? { claims: verified } : {}),
    response: emptyResponse(401, { 'WWW-Authenticate': bearerChallenge(context.service, context.loginOrigin, extra) }),
  });
  if (!decodeJwt(token)) {
    // IPPS fails on a token it cannot parse with a bare 500, without a challenge.
    return context.service === 'ipps' ? { ok: false, expired: false, response: emptyResponse(500) } : refuse();
  }
  const jwt = context.signer.verify(token);
  if (!jwt) return refuse();
  const claims = jwt.payload;
  const refuseVerified = (extra: Record<string, string> = {}, expired = false): AuthResult => refuse(extra, expired, claims);
  const nowSec = context.nowMs / 1000;
  if (typeof claims['exp'] !== 'number' || nowSec >= claims['exp']) {
    return refuseVerified({ error_description: 'The token has expired' }, true);
  }
  if (typeof claims['nbf'] === 'number' && claims['nbf'] > nowSec + 300) {
    return refuseVerified();
  }
  if (typeof claims['aud'] !== 'string' || !context.resources.accepts(context.service, claims['aud'])) {
    return refuseVerified();
  }
  if (context.tenantId === undefined || String(claims['tid']).toLowerCase() !== context.tenantId) {
    return refuseVerified();
  }
  if (!isAuthorised(claims)) return refuseVerified();
  const upn = claims['idtyp'] === 'user' && typeof claims['upn'] === 'string' ? claims['upn'] : undefined;
  const since = context.claimsRequiredSince?.(context.tenantId, upn);
  const issued = issuedAtMs(claims);
  if (since !== undefined && (issued === undefined || issued < since)) {
    return {
      ok: false,
      expired: false,
      cae: true,
      claims,
      response: emptyResponse(401, { 'WWW-Authenticate': claimsChallenge(RESOURCE_APP_IDS[context.service], context.loginOrigin, since) }),
    };
  }
  return { ok: true, claims };
}

function isAuthorised(claims: Record<string, unknown>): boolean {
  const roles = Array.isArray(claims['roles']) ? (claims['roles'] as unknown[]) : [];
  if (roles.includes(APP_ROLE)) return true;
  if (claims['idtyp'] === 'app') return false;
  const scopes = typeof claims['scp'] === 'string' ? claims['scp'].split(' ') : [];
  return scopes.some((scope) => DELEGATED_SCOPES.includes(scope));
}
