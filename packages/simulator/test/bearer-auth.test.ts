import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authenticate, type AuthContext } from '../src/admin-api/bearer-auth.js';
import { createTokenSigner } from '../src/jwt.js';
import { createServiceResources } from '../src/resources.js';

const pair = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const signer = createTokenSigner({ publicPem: pair.publicKey, privatePem: pair.privateKey });
const now = Date.UTC(2026, 0, 1);
// The simulator's own public origins: a client whose token resource follows its endpoint uses these.
const resources = createServiceResources(() => ({ exo: 'https://sim.localhost:4431', ipps: 'https://sim.localhost:4432' }));
const context: AuthContext = { service: 'exo', tenantId: 'tid', signer, resources, loginOrigin: 'https://127.0.0.1:1', nowMs: now };
const claims = {
  aud: 'https://outlook.office365.com',
  tid: 'tid',
  idtyp: 'app',
  roles: ['Exchange.ManageAsApp'],
  nbf: now / 1000 - 10,
  exp: now / 1000 + 3600,
};
const bearer = (overrides: Record<string, unknown> = {}): string => `Bearer ${signer.sign({ ...claims, ...overrides })}`;

describe('bearer authentication', () => {
  it('accepts a good app token, also with the outlook.office.com audience', () => {
    expect(authenticate(bearer(), context).ok).toBe(true);
    expect(authenticate(bearer({ aud: 'https://outlook.office.com/' }), context).ok).toBe(true);
    expect(authenticate(bearer({ aud: 'https://ps.compliance.protection.outlook.com' }), { ...context, service: 'ipps' }).ok).toBe(true);
  });

  it('accepts the canonical resource or its own public origin as audience, for its own service only', () => {
    const ipps = { ...context, service: 'ipps' as const };
    expect(authenticate(bearer({ aud: 'https://sim.localhost:4431' }), context).ok).toBe(true);
    expect(authenticate(bearer({ aud: 'https://SIM.localhost:4431/' }), context).ok).toBe(true);
    expect(authenticate(bearer({ aud: 'https://sim.localhost:4432' }), ipps).ok).toBe(true);
    expect(authenticate(bearer({ aud: 'https://sim.localhost:4432' }), context).ok).toBe(false);
    expect(authenticate(bearer({ aud: 'https://sim.localhost:4431' }), ipps).ok).toBe(false);
    expect(authenticate(bearer({ aud: 'https://outlook.office365.com' }), ipps).ok).toBe(false);
    // The regional host is reached only through the redirect; it is nobody's token resource.
    expect(authenticate(bearer({ aud: 'https://nam12b.sim.localhost:4432' }), ipps).ok).toBe(false);
  });

  it.each([
    ['wrong audience', { aud: 'https://graph.microsoft.com' }],
    ['another host at the same port', { aud: 'https://other.localhost:4431' }],
    ['its own host at another port', { aud: 'https://sim.localhost:4433' }],
    ['its own origin with a path', { aud: 'https://sim.localhost:4431/powershell-liveid' }],
    ['no audience', { aud: undefined }],
    ['another tenant', { tid: 'other' }],
    ['no Exchange.ManageAsApp role', { roles: ['Mail.Read'] }],
    ['not valid yet', { nbf: now / 1000 + 3600 }],
  ])('refuses %s with a Bearer challenge', (_, overrides) => {
    const result = authenticate(bearer(overrides), context);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.response.status).toBe(401);
    expect(result.response.headers['WWW-Authenticate']).toMatch(/^Bearer client_id="00000002-0000-0ff1-ce00-000000000000".*error="invalid_token"$/);
    expect(result.expired).toBe(false);
  });

  it('says when a token has expired', () => {
    const result = authenticate(bearer({ exp: now / 1000 }), context);
    expect(result).toMatchObject({ ok: false, expired: true });
    if (result.ok) return;
    expect(result.response.headers['WWW-Authenticate']).toMatch(/error="invalid_token", error_description="The token has expired"$/);
  });

  it('asks for Basic without a bearer, and IPPS answers 500 to an unparsable token', () => {
    for (const header of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const result = authenticate(header, context);
      expect(result.ok ? undefined : result.response.headers['WWW-Authenticate']).toBe('Basic Realm=""');
    }
    const ipps = authenticate('Bearer not-a-jwt', { ...context, service: 'ipps' });
    expect(ipps.ok ? 0 : ipps.response.status).toBe(500);
    const exo = authenticate('Bearer not-a-jwt', context);
    expect(exo.ok ? 0 : exo.response.status).toBe(401);
  });
});

describe('delegated tokens and CAE', () => {
  const user = {
    ...claims,
    idtyp: 'user',
    roles: undefined,
    scp: 'AdminApi.AccessAsUser.All FfoPowerShell.AccessAsUser.All',
    upn: 'ops@contoso.onmicrosoft.com',
  };

  it('accepts a user token with AdminApi.AccessAsUser.All', () => {
    expect(authenticate(bearer(user), context)).toMatchObject({ ok: true, claims: { upn: 'ops@contoso.onmicrosoft.com' } });
    expect(authenticate(bearer({ ...user, scp: 'Mail.Read' }), context).ok).toBe(false);
  });

  it('challenges tokens issued before the moment, by the precise issue time', () => {
    const since = (moment: number | undefined) => ({ ...context, claimsRequiredSince: () => moment });
    const token = bearer({ ...user, xms_sim_iat_ms: now - 1 });
    const refused = authenticate(token, since(now));
    expect(refused).toMatchObject({ ok: false, cae: true, expired: false, claims: { upn: 'ops@contoso.onmicrosoft.com' } });
    if (refused.ok) throw new Error('expected a refusal');
    expect(refused.response.headers['WWW-Authenticate']).toMatch(
      /^Bearer realm="", authorization_uri="https:\/\/127\.0\.0\.1:1\/common\/oauth2\/authorize", client_id="00000002-0000-0ff1-ce00-000000000000", error="insufficient_claims", claims="[\w+/=]+"$/,
    );
    expect(authenticate(bearer({ ...user, xms_sim_iat_ms: now }), since(now)).ok).toBe(true);
    expect(authenticate(token, since(undefined)).ok).toBe(true);
  });

  it('names the caller of an expired token', () => {
    const expired = authenticate(bearer({ ...user, exp: now / 1000 - 1 }), context);
    expect(expired).toMatchObject({ ok: false, expired: true, claims: { upn: 'ops@contoso.onmicrosoft.com' } });
  });
});
