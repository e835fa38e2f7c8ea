import { constants, createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';

/** A JWT split into its parts; `signingInput` is what the signature covers. */
export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

export function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Parses without verifying; undefined when `token` is not three base64url parts of JSON objects. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [head, body, signature] = parts as [string, string, string];
  const header = parseJsonObject(head);
  const payload = parseJsonObject(body);
  if (!header || !payload || !/^[A-Za-z0-9_-]*$/.test(signature)) return undefined;
  return { header, payload, signingInput: `${head}.${body}`, signature: Buffer.from(signature, 'base64url') };
}

function parseJsonObject(part: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** RS256 or PS256 signature check (PS256 as msal-node signs: PSS, salt length = digest length). */
export function verifyJwtSignature(jwt: DecodedJwt, key: KeyObject): boolean {
  const alg = jwt.header['alg'];
  const data = Buffer.from(jwt.signingInput);
  try {
    if (alg === 'RS256') return verify('sha256', data, key, jwt.signature);
    if (alg === 'PS256') {
      return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, jwt.signature);
    }
  } catch {
    return false;
  }
  return false;
}

/** The simulator's token-signing key: RS256, published as a JWKS. */
export interface TokenSigner {
  readonly kid: string;
  sign(payload: Record<string, unknown>): string;
  /** The decoded token when it is a JWT signed by this key, else undefined. */
  verify(token: string): DecodedJwt | undefined;
  jwks(): { keys: Record<string, unknown>[] };
}

export function createTokenSigner(keys: { publicPem: string; privatePem: string }): TokenSigner {
  const privateKey = createPrivateKey(keys.privatePem);
  const publicKey = createPublicKey(keys.publicPem);
  const kid = randomUUID().replace(/-/g, '').slice(0, 27);
  return {
    kid,
    sign(payload) {
      const signingInput = `${base64UrlJson({ typ: 'JWT', alg: 'RS256', x5t: kid, kid })}.${base64UrlJson(payload)}`;
      return `${signingInput}.${sign('sha256', Buffer.from(signingInput), privateKey).toString('base64url')}`;
    },
    verify(token) {
      const jwt = decodeJwt(token);
      if (!jwt || jwt.header['alg'] !== 'RS256' || jwt.header['kid'] !== kid) return undefined;
      return verifyJwtSignature(jwt, publicKey) ? jwt : undefined;
    },
    jwks() {
      const jwk = publicKey.export({ format: 'jwk' });
      return { keys: [{ kty: 'RSA', use: 'sig', kid, x5t: kid, n: jwk.n, e: jwk.e, issuer: 'https://sts.windows.net/{tenantid}/' }] };
    },
  };
}
