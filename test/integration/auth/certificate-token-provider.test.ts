import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialFromPem } from '../../../src/auth/certificate.js';
import { createCertificateTokenProvider } from '../../../src/auth/certificate-token-provider.js';
import type { HttpTransport } from '../../../src/core/ports.js';
import { createHttpTransport } from '../../../src/exchange/http-transport.js';
import { createSelfSignedCertificate, startSimulator, type ProvisionedTenant, type Simulator } from '@exorun/simulator';

const EXO = 'https://outlook.office365.com';
let simulator: Simulator;
let transport: HttpTransport;
let tenant: ProvisionedTenant;

beforeAll(async () => {
  simulator = await startSimulator({ tokenLifetimeSec: 3600 });
  transport = createHttpTransport({ extraCaPem: [simulator.caCertPem] });
  tenant = await simulator.provisionTenant({ organization: 'tokens.onmicrosoft.com' });
});
afterAll(async () => {
  await transport.close();
  await simulator.close();
});

const provider = (overrides: { clientId?: string; certificatePem?: string; privateKeyPem?: string; tenant?: string } = {}) =>
  createCertificateTokenProvider({
    authorityHost: simulator.urls.login,
    tenant: overrides.tenant ?? tenant.organization,
    clientId: overrides.clientId ?? tenant.clientId,
    credential: credentialFromPem(overrides.certificatePem ?? tenant.certificatePem, overrides.privateKeyPem ?? tenant.privateKeyPem),
    transport,
  });

describe('certificate token provider (msal-node against the simulator over TLS)', () => {
  it('gets an app-only token for the resource, reads the tenant id from it and serves repeats from cache', async () => {
    const tokens = provider();
    const first = await tokens.getToken({ resource: EXO });
    expect(first.tenantId).toBe(tenant.tenantId);
    expect(first.expiresOnMs).toBeGreaterThan(Date.now() + 3_000_000);
    const claims = JSON.parse(Buffer.from(first.token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ aud: EXO, tid: tenant.tenantId, appid: tenant.clientId, roles: ['Exchange.ManageAsApp'] });
    expect((await tokens.getToken({ resource: EXO })).token).toBe(first.token);
    expect((await tokens.getToken({ resource: EXO, forceRefresh: true })).token).not.toBe(first.token);
  });

  it('shares one token request between callers asking at the same moment', async () => {
    const tokens = provider();
    const results = await Promise.all(Array.from({ length: 5 }, () => tokens.getToken({ resource: EXO })));
    expect(new Set(results.map((result) => result.token)).size).toBe(1);
  });

  it('reports an assertion signed by another key as AUTH_CLIENT_REJECTED with the thumbprint', async () => {
    const stranger = createSelfSignedCertificate({ commonName: 'not registered' });
    await expect(
      provider({ certificatePem: stranger.certificatePem, privateKeyPem: stranger.privateKeyPem }).getToken({ resource: EXO }),
    ).rejects.toMatchObject({
      code: 'AUTH_CLIENT_REJECTED',
      message: expect.stringMatching(/upload this certificate/),
      details: expect.objectContaining({ aadsts: 'AADSTS700027' }),
    });
  });

  it('reports an unknown application and an unknown tenant with their own codes', async () => {
    await expect(provider({ clientId: '11111111-2222-4333-8444-555555555555' }).getToken({ resource: EXO })).rejects.toMatchObject({
      code: 'AUTH_CLIENT_REJECTED',
    });
    await expect(provider({ tenant: 'nobody.onmicrosoft.com' }).getToken({ resource: EXO })).rejects.toMatchObject({ code: 'AUTH_TENANT_NOT_FOUND' });
  });
});
