import { decodeJwt, verifyJwtSignature } from '../jwt.js';
import type { RegisteredCredential, TenantRecord } from '../tenants.js';
import { aadError, type AadError } from './aad-error.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Clock skew Entra tolerates on `nbf`/`exp` of a client assertion. */
const SKEW_SEC = 300;

export interface AssertionContext {
  tenant: TenantRecord;
  clientId: string;
  nowMs: number;
  /** True when `aud` names this tenant's token endpoint (or issuer) on the login listener. */
  audienceMatches(aud: string): boolean;
}

/**
 * Verifies a certificate client assertion the way Entra does for msal-node: PS256 with `x5t#S256`
 * or RS256 with `x5t`, a registered certificate, a valid signature, then audience, issuer and times.
 * Returns the failure, or undefined when the assertion is good.
 */
export function verifyClientAssertion(assertion: string, context: AssertionContext): AadError | undefined {
  const jwt = decodeJwt(assertion);
  if (!jwt) return aadError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
  const { header, payload } = jwt;
  const credential = findCredential(context.tenant, header);
  if (typeof credential === 'string') {
    return aadError(
      401,
      'invalid_client',
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${credential}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${context.clientId}'.]`,
    );
  }
  if (!verifyJwtSignature(jwt, credential.publicKey)) {
    return aadError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
  }
  const nowSec = Math.floor(context.nowMs / 1000);
  const exp = payload['exp'];
  const nbf = payload['nbf'];
  if (typeof exp !== 'number' || exp + SKEW_SEC <= nowSec || (typeof nbf === 'number' && nbf - SKEW_SEC > nowSec)) {
    return aadError(
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${new Date(context.nowMs).toISOString()}, expiry time of assertion ${typeof exp === 'number' ? new Date(exp * 1000).toISOString() : 'missing'}.`,
    );
  }
  if (typeof payload['aud'] !== 'string' || !context.audienceMatches(payload['aud'])) {
    return aadError(401, 'invalid_client', 50012, 'Client assertion audience claim does not match Realm issuer.');
  }
  const clientId = context.clientId.toLowerCase();
  if (String(payload['iss']).toLowerCase() !== clientId || String(payload['sub']).toLowerCase() !== clientId) {
    return aadError(401, 'invalid_client', 700021, "Client assertion application identifier doesn't match 'client_id' parameter.");
  }
  return undefined;
}

/** The registered credential the header names, or the thumbprint (hex) that matched nothing. */
function findCredential(tenant: TenantRecord, header: Record<string, unknown>): RegisteredCredential | string {
  const alg = header['alg'];
  const sha256 = header['x5t#S256'];
  const sha1 = header['x5t'];
  let found: RegisteredCredential | undefined;
  let shown = '';
  if (alg === 'PS256' && typeof sha256 === 'string') {
    found = tenant.credentials.find((credential) => credential.x5tS256 === sha256);
    shown = sha256;
  } else if (alg === 'RS256' && typeof sha1 === 'string') {
    found = tenant.credentials.find((credential) => credential.x5t === sha1);
    shown = sha1;
  } else if (alg === 'RS256' && typeof sha256 === 'string') {
    found = tenant.credentials.find((credential) => credential.x5tS256 === sha256);
    shown = sha256;
  }
  return found ?? Buffer.from(shown, 'base64url').toString('hex').toUpperCase();
}
