import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialFromPem, loadCertificateCredential } from '../../../src/auth/certificate.js';
import { createCertificateTokenProvider } from '../../../src/auth/certificate-token-provider.js';
import { createDelegatedTokenProvider } from '../../../src/auth/delegated-token-provider.js';
import { importRefreshToken, loginWithDeviceCode, type LoginOptions } from '../../../src/auth/login.js';
import { createSessionStore, type SessionStore } from '../../../src/auth/session-store.js';
import type { HttpTransport, TokenProvider } from '../../../src/core/ports.js';
import { sleep } from '../../../src/core/time.js';
import { createExchangeClient } from '../../../src/exchange/exchange-client.js';
import { createHttpTransport } from '../../../src/exchange/http-transport.js';
import { startSimulator, type ProvisionedTenant, type Simulator } from '@exorun/simulator';
import { simulatedEndpoints } from '../../../src/worker/simulated-cloud.js';
import { makeTestCertificate } from '../../support/certificates.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

const EXO = 'https://outlook.office365.com';
const organization = 'delegated.onmicrosoft.com';
const account = `admin@${organization}`;

let simulator: Simulator;
let transport: HttpTransport;
let tenant: ProvisionedTenant;
let redis: Redis;
let dir: string;
const secretKey = randomBytes(32);

beforeAll(async () => {
  // Tokens live 2 s, so every test that waits a little sees a renewal.
  simulator = await startSimulator({ tokenLifetimeSec: 2, deviceCodeIntervalSec: 1 });
  transport = createHttpTransport({ extraCaPem: [simulator.caCertPem] });
  tenant = await simulator.provisionTenant({ organization, mailboxCount: 30 });
  redis = new Redis(testRedisUrl());
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-auth-'));
});

afterAll(async () => {
  redis.disconnect();
  await transport.close();
  await simulator.close();
  await rm(dir, { recursive: true, force: true });
});

function loginOptions(overrides: Partial<LoginOptions> = {}): LoginOptions {
  return {
    authorityHost: simulator.urls.login,
    tenant: organization,
    tenantName: 'fabrikam',
    clientId: 'fb78d390-0c51-40cd-8e17-fdbfab77341b',
    account,
    scopes: [`${EXO}/.default`],
    transport,
    ...overrides,
  };
}

function delegatedProvider(store: SessionStore): TokenProvider {
  return createDelegatedTokenProvider({
    authorityHost: simulator.urls.login,
    tenant: organization,
    organization,
    tenantName: 'fabrikam',
    cloud: 'simulated',
    clientId: 'fb78d390-0c51-40cd-8e17-fdbfab77341b',
    account,
    store,
    transport,
  });
}

async function signIn(store: SessionStore): Promise<void> {
  const result = await loginWithDeviceCode(loginOptions(), (prompt) => {
    expect(prompt.verificationUri).toContain('/devicelogin');
    expect(simulator.approveDeviceCode(prompt.userCode)).toBe(true);
  });
  await store.save({ organization, account: result.account }, result.cache, {
    tenant: 'fabrikam',
    cloud: 'simulated',
    clientId: 'fb78d390-0c51-40cd-8e17-fdbfab77341b',
    refreshed: false,
  });
}

const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('delegated sessions (msal-node public client against the simulator)', () => {
  it('signs in with a device code, stores the session encrypted and renews it silently after expiry', async () => {
    const prefix = uniquePrefix('auth');
    const store = createSessionStore({ redis, prefix, secretKey });
    await signIn(store);

    // What Redis holds is unreadable without the key, and carries no token in clear.
    const keys = await redis.keys(`${prefix}:*`);
    const sealed = await redis.get(keys.find((key) => key.endsWith(':cache'))!);
    expect(sealed).toMatch(/^v1\./);
    // No cache JSON and no JWT (header.payload, both base64url JSON). A bare "eyJ" is not enough:
    // random base64url ciphertext of this length contains it by chance a few times in a hundred.
    expect(sealed).not.toMatch(/RefreshToken|AccessToken|eyJ[\w-]+\.eyJ/);
    await expect(createSessionStore({ redis, prefix, secretKey: randomBytes(32) }).load({ organization, account })).rejects.toMatchObject({
      code: 'AUTH_SECRET_KEY',
    });

    const tokens = delegatedProvider(store);
    const first = await tokens.getToken({ resource: EXO });
    expect(claimsOf(first.token)).toMatchObject({ aud: EXO, upn: account, tid: tenant.tenantId });
    expect(String(claimsOf(first.token)['scp'])).toContain('AdminApi.AccessAsUser.All');
    expect((await tokens.getToken({ resource: EXO })).token).toBe(first.token);

    const before = simulator.entraStats(organization).rotations;
    await sleep(2_100);
    const renewed = await tokens.getToken({ resource: EXO });
    expect(renewed.token).not.toBe(first.token);
    expect(simulator.entraStats(organization).rotations).toBe(before + 1);
    // Two renewals: msal treats the sign-in's 2-second token as due at once (its margin is 5 min).
    const [session] = await store.list();
    expect(session).toMatchObject({ tenant: 'fabrikam', account, cloud: 'simulated', refreshCount: 2 });
    expect(JSON.stringify(session)).not.toMatch(/eyJ|secret/i);
  });

  it('imports an existing refresh token and keeps the rotated one', async () => {
    const store = createSessionStore({ redis, prefix: uniquePrefix('auth'), secretKey });
    await signIn(store);
    const cache = JSON.parse((await store.load({ organization, account }))!) as { RefreshToken: Record<string, { secret: string }> };
    const refreshToken = Object.values(cache.RefreshToken)[0]!.secret;

    const imported = await importRefreshToken(loginOptions(), refreshToken);
    expect(imported.account).toBe(account);
    const importedCache = JSON.parse(imported.cache) as { RefreshToken: Record<string, { secret: string }> };
    expect(Object.values(importedCache.RefreshToken)[0]!.secret).not.toBe(refreshToken);

    // The same token again has been redeemed already: the strict simulator revokes the family.
    await expect(importRefreshToken(loginOptions(), refreshToken)).rejects.toMatchObject({ code: 'AUTH_REAUTH_REQUIRED' });
  });

  it('refuses a sign-in as another account than the one jobs.yaml names', async () => {
    await simulator.provisionTenant({ organization, mailboxCount: 30, users: [`helpdesk@${organization}`] });
    await expect(
      loginWithDeviceCode(loginOptions(), (prompt) => void simulator.approveDeviceCode(prompt.userCode, `helpdesk@${organization}`)),
    ).rejects.toMatchObject({ code: 'AUTH_FAILED', message: expect.stringContaining(`jobs.yaml expects ${account}`) });
  });

  it('fails without retry, naming `exorun login`, once the session is revoked', async () => {
    const store = createSessionStore({ redis, prefix: uniquePrefix('auth'), secretKey });
    await signIn(store);
    const tokens = delegatedProvider(store);
    await tokens.getToken({ resource: EXO });
    simulator.revokeUser(account);
    await expect(tokens.getToken({ resource: EXO, forceRefresh: true })).rejects.toMatchObject({
      code: 'AUTH_REAUTH_REQUIRED',
      retryable: false,
      message: expect.stringContaining('exorun login fabrikam'),
    });
  });

  it('reports a missing session and refuses to store one without a key', async () => {
    const noSession = delegatedProvider(createSessionStore({ redis, prefix: uniquePrefix('auth'), secretKey }));
    await expect(noSession.getToken({ resource: EXO })).rejects.toMatchObject({
      code: 'AUTH_REAUTH_REQUIRED',
      message: expect.stringContaining('has not been created'),
    });
    const keyless = createSessionStore({ redis, prefix: uniquePrefix('auth'), secretKey: undefined });
    await expect(keyless.save({ organization, account }, '{}', { tenant: 'x', cloud: 'simulated', clientId: 'c', refreshed: false })).rejects.toMatchObject({
      code: 'AUTH_SECRET_KEY',
    });
  });

  it('anchors delegated calls to the admin mailbox and app-only calls to the system mailbox', async () => {
    const store = createSessionStore({ redis, prefix: uniquePrefix('auth'), secretKey });
    await signIn(store);
    const endpoints = simulatedEndpoints(simulator.urls);
    const appOnly = createCertificateTokenProvider({
      authorityHost: simulator.urls.login,
      tenant: organization,
      clientId: tenant.clientId,
      credential: credentialFromPem(tenant.certificatePem, tenant.privateKeyPem),
      transport,
    });
    simulator.recorder.reset();
    for (const tokens of [delegatedProvider(store), appOnly]) {
      const client = createExchangeClient({ endpoints, tokens, transport });
      for await (const page of client.invoke({ tenant: organization, service: 'exo', cmdlet: 'Get-AcceptedDomain', parameters: {} })) {
        expect(page.objects.length).toBeGreaterThan(0);
      }
    }
    const anchors = simulator.recorder.calls().map((call) => [call.callerKind, call.anchorMailbox]);
    expect(anchors).toEqual([
      ['user', `UPN:${account}`],
      ['app', `APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@${tenant.tenantId}`],
    ]);
  });

  it('answers a CAE claims challenge with a new token carrying the claims, for both modes', async () => {
    const store = createSessionStore({ redis, prefix: uniquePrefix('auth'), secretKey });
    await signIn(store);
    const endpoints = simulatedEndpoints(simulator.urls);
    const providers = [
      delegatedProvider(store),
      createCertificateTokenProvider({
        authorityHost: simulator.urls.login,
        tenant: organization,
        clientId: tenant.clientId,
        credential: credentialFromPem(tenant.certificatePem, tenant.privateKeyPem),
        transport,
      }),
    ];
    for (const tokens of providers) {
      const client = createExchangeClient({ endpoints, tokens, transport });
      const warmUp = async (): Promise<number> => {
        let objects = 0;
        for await (const page of client.invoke({ tenant: organization, service: 'exo', cmdlet: 'Get-AcceptedDomain', parameters: {} })) {
          objects += page.objects.length;
        }
        return objects;
      };
      await warmUp();
      simulator.recorder.reset();
      simulator.requireClaims({ organizationOrId: organization });
      expect(await warmUp()).toBeGreaterThan(0);
      expect(simulator.recorder.calls().map((call) => call.status)).toEqual([401, 200]);
      expect(simulator.recorder.stats(organization, 'exo').caeChallenges).toBe(1);
    }
  });
});

describe('certificate files end to end (msal-node confidential client against the simulator)', () => {
  it('signs in with a PEM file and with a password-protected PFX file', async () => {
    const certificate = makeTestCertificate({ commonName: 'exorun file cert' });
    const pem = path.join(dir, 'app.pem');
    const pfx = path.join(dir, 'app.pfx');
    await writeFile(pem, certificate.certificatePem + certificate.privateKeyPem);
    await writeFile(pfx, certificate.pfx('pfx-password'));
    const registered = await simulator.provisionTenant({ organization, mailboxCount: 30, certificatePem: certificate.certificatePem });

    for (const credential of [
      await loadCertificateCredential({ certificatePath: pem }),
      await loadCertificateCredential({ certificatePath: pfx, password: 'pfx-password' }),
    ]) {
      const tokens = createCertificateTokenProvider({
        authorityHost: simulator.urls.login,
        tenant: organization,
        clientId: registered.clientId,
        credential,
        transport,
      });
      const token = await tokens.getToken({ resource: EXO });
      expect(claimsOf(token.token)).toMatchObject({ appid: registered.clientId, roles: ['Exchange.ManageAsApp'] });
    }
  });
});
