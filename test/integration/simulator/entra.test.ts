import { createPublicKey, verify } from 'node:crypto';
import type { Agent } from 'undici';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate, startSimulator, type ProvisionedTenant, type Simulator } from '@exorun/simulator';
import { acquireToken, confidentialClient, decodePayload, EXO, handAssertion, IPPS, postForm, trustingAgent } from './helpers.js';

let sim: Simulator;
let agent: Agent;
let tenant: ProvisionedTenant;

beforeAll(async () => {
  sim = await startSimulator();
  agent = trustingAgent(sim);
  tenant = await sim.provisionTenant({ organization: 'contoso.onmicrosoft.com', mailboxCount: 20 });
});

afterAll(async () => {
  await agent.close();
  await sim.close();
});

describe('msal-node against the simulated Entra', () => {
  it.each(['domain', 'tenant id'])('gets an EXO token with the provisioned certificate (authority by %s)', async (by) => {
    const seen: string[] = [];
    const bodies: string[] = [];
    const authorityTenant = by === 'domain' ? tenant.organization : tenant.tenantId;
    const token = await acquireToken(sim, agent, tenant, EXO, { authorityTenant, seen, bodies });
    const form = new URLSearchParams(bodies.at(-1));
    const assertionHeader = JSON.parse(Buffer.from(String(form.get('client_assertion')).split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    expect(assertionHeader).toMatchObject({ alg: 'PS256', 'x5t#S256': expect.any(String) });
    expect(form.get('grant_type')).toBe('client_credentials');
    const claims = decodePayload(token);
    expect(claims).toMatchObject({
      aud: EXO,
      iss: `https://sts.windows.net/${tenant.tenantId}/`,
      tid: tenant.tenantId,
      appid: tenant.clientId,
      idtyp: 'app',
      roles: ['Exchange.ManageAsApp'],
      ver: '1.0',
    });
    expect(typeof claims['uti']).toBe('string');
    expect(Number(claims['exp']) - Number(claims['iat'])).toBe(3600);
    // Discovery and the token call, both on the simulator: nothing went to the internet.
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.every((url) => url.startsWith(`${sim.urls.login}/`))).toBe(true);
    expect(seen.some((url) => url.includes('/v2.0/.well-known/openid-configuration'))).toBe(true);
  });

  it('works with a localhost authority too (issuer follows the Host used)', async () => {
    const loginOrigin = sim.urls.login.replace('127.0.0.1', 'localhost');
    const token = await acquireToken(sim, agent, tenant, IPPS, { loginOrigin });
    expect(decodePayload(token)['aud']).toBe(IPPS);
  });

  it('accepts the deprecated SHA-1 thumbprint (RS256 with x5t)', async () => {
    const token = await acquireToken(sim, agent, tenant, EXO, { sha1: true });
    expect(decodePayload(token)['aud']).toBe(EXO);
  });

  it('signs tokens with the key published in the JWKS, not the TLS key', async () => {
    const token = await acquireToken(sim, agent, tenant, EXO);
    const [head, body, signature] = token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { kid: string; alg: string };
    expect(header.alg).toBe('RS256');
    const jwks = (await (await request(`${sim.urls.login}/${tenant.tenantId}/discovery/v2.0/keys`, { dispatcher: agent })).body.json()) as {
      keys: { kid: string }[];
    };
    const jwk = jwks.keys.find((key) => key.kid === header.kid);
    expect(jwk).toBeDefined();
    const key = createPublicKey({ key: jwk as never, format: 'jwk' });
    expect(verify('sha256', Buffer.from(`${head}.${body}`), key, Buffer.from(signature, 'base64url'))).toBe(true);
  });

  it('provisioning a tenant again returns its one app certificate, which keeps working', async () => {
    const again = await sim.provisionTenant({ organization: 'CONTOSO.onmicrosoft.com', mailboxCount: 20 });
    expect(again.tenantId).toBe(tenant.tenantId);
    expect(again.clientId).toBe(tenant.clientId);
    // One generated certificate per tenant: every worker that provisions it signs in with the same app.
    expect(again.certificatePem).toBe(tenant.certificatePem);
    await expect(acquireToken(sim, agent, again)).resolves.toBeTruthy();
    await expect(acquireToken(sim, agent, tenant)).resolves.toBeTruthy();
    await expect(sim.provisionTenant({ organization: 'contoso.onmicrosoft.com', mailboxCount: 21 })).rejects.toThrow(/already provisioned/);
  });

  it('rejects an assertion signed by a key that is not registered', async () => {
    const stranger = createSelfSignedCertificate({ commonName: 'stranger' });
    const app = confidentialClient(sim, agent, tenant, { certificatePem: stranger.certificatePem, privateKeyPem: stranger.privateKeyPem });
    await expect(app.acquireTokenByClientCredential({ scopes: [`${EXO}/.default`] })).rejects.toMatchObject({
      errorCode: 'invalid_client',
      errorMessage: expect.stringMatching(/AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application/),
    });
  });

  it('rejects an assertion whose signature does not match the registered certificate', async () => {
    const stranger = createSelfSignedCertificate({ commonName: 'stranger' });
    // The header names the registered certificate, but a different key signs.
    const app = confidentialClient(sim, agent, tenant, { privateKeyPem: stranger.privateKeyPem });
    await expect(app.acquireTokenByClientCredential({ scopes: [`${EXO}/.default`] })).rejects.toMatchObject({
      errorCode: 'invalid_client',
      errorMessage: expect.stringMatching(/AADSTS700027: Client assertion failed signature validation/),
    });
  });

  it('rejects an unknown client id and an unknown resource', async () => {
    const app = confidentialClient(sim, agent, tenant, { clientId: '11111111-2222-4333-8444-555555555555' });
    await expect(app.acquireTokenByClientCredential({ scopes: [`${EXO}/.default`] })).rejects.toMatchObject({
      errorCode: 'unauthorized_client',
      errorMessage: expect.stringMatching(/AADSTS700016: Application with identifier '11111111-2222-4333-8444-555555555555' was not found in the directory/),
    });
    await expect(
      confidentialClient(sim, agent, tenant).acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] }),
    ).rejects.toMatchObject({
      errorCode: 'invalid_resource',
      errorMessage: expect.stringMatching(/AADSTS500011: The resource principal named https:\/\/graph\.microsoft\.com was not found in the tenant/),
    });
  });

  it('answers unknown tenants like Entra', async () => {
    const discovery = await request(`${sim.urls.login}/nobody.onmicrosoft.com/v2.0/.well-known/openid-configuration`, { dispatcher: agent });
    expect(discovery.statusCode).toBe(400);
    expect(await discovery.body.json()).toMatchObject({
      error: 'invalid_tenant',
      error_description: expect.stringMatching(/^AADSTS90002: Tenant 'nobody.onmicrosoft.com' not found/),
    });
    const token = await postForm(agent, `${sim.urls.login}/nobody.onmicrosoft.com/oauth2/v2.0/token`, { grant_type: 'client_credentials' });
    expect(token.status).toBe(400);
    expect(token.body).toMatchObject({ error: 'invalid_request', error_codes: [90002] });
  });

  it('serves multi-tenant discovery with a {tenantid} issuer', async () => {
    const response = await request(`${sim.urls.login}/organizations/v2.0/.well-known/openid-configuration`, { dispatcher: agent });
    const body = (await response.body.json()) as Record<string, string>;
    expect(body['issuer']).toBe(`${sim.urls.login}/{tenantid}/v2.0`);
    expect(body['token_endpoint']).toBe(`${sim.urls.login}/organizations/oauth2/v2.0/token`);
  });

  it('checks assertion times, audience and grant type', async () => {
    const endpoint = `${sim.urls.login}/${tenant.tenantId}/oauth2/v2.0/token`;
    const form = (assertion: string, extra: Record<string, string> = {}) => ({
      grant_type: 'client_credentials',
      client_id: tenant.clientId,
      scope: `${EXO}/.default`,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
      ...extra,
    });
    const good = handAssertion({ ...tenant, aud: endpoint });
    const ok = await postForm(agent, `${endpoint}?client-request-id=abc`, form(good));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600 });

    const byDomain = handAssertion({ ...tenant, aud: `${sim.urls.login}/${tenant.organization}/oauth2/v2.0/token` });
    expect((await postForm(agent, endpoint, form(byDomain))).status).toBe(200);

    const expired = handAssertion({ ...tenant, aud: endpoint, expSec: Math.floor(Date.now() / 1000) - 600 });
    const late = await postForm(agent, endpoint, form(expired));
    expect(late).toMatchObject({ status: 401, body: { error: 'invalid_client', error_codes: [700024] } });

    const elsewhere = handAssertion({ ...tenant, aud: 'https://login.microsoftonline.com/common/oauth2/v2.0/token' });
    expect(await postForm(agent, endpoint, form(elsewhere))).toMatchObject({ status: 401, body: { error: 'invalid_client', error_codes: [50012] } });

    const unsupported = await postForm(agent, endpoint, form(good, { grant_type: 'password' }));
    expect(unsupported).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    const twoScopes = await postForm(agent, endpoint, form(good, { scope: `${EXO}/.default ${IPPS}/.default` }));
    expect(twoScopes).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    expect(String(late.body.error_description)).toMatch(/^AADSTS700024: .* Trace ID: .* Correlation ID: .* Timestamp: /);
    expect(ok.body.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });
});

describe('control API', () => {
  it('needs the admin key except for health', async () => {
    const health = await request(`${sim.urls.login}/_simulator/health`, { dispatcher: agent });
    expect(await health.body.json()).toEqual({ ok: true });
    const anonymous = await request(`${sim.urls.login}/_simulator/stats`, { dispatcher: agent });
    await anonymous.body.dump();
    expect(anonymous.statusCode).toBe(401);
    const wrong = await request(`${sim.urls.login}/_simulator/stats`, { dispatcher: agent, headers: { authorization: 'Bearer nope' } });
    await wrong.body.dump();
    expect(wrong.statusCode).toBe(401);
  });

  it('provisions, configures, reports and resets', async () => {
    const auth = { authorization: `Bearer ${sim.adminKey}`, 'content-type': 'application/json' };
    const provision = await request(`${sim.urls.login}/_simulator/tenants`, {
      method: 'POST',
      dispatcher: agent,
      headers: auth,
      body: JSON.stringify({ organization: 'fabrikam.onmicrosoft.com', mailboxCount: 5, seed: 3, latencyMs: 0 }),
    });
    const provisioned = (await provision.body.json()) as ProvisionedTenant;
    expect(provision.statusCode).toBe(200);
    expect(provisioned).toMatchObject({ organization: 'fabrikam.onmicrosoft.com', tenantId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(provisioned.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(sim.tenantData('fabrikam.onmicrosoft.com')?.seed).toBe(3);

    const bad = await request(`${sim.urls.login}/_simulator/tenants`, {
      method: 'POST',
      dispatcher: agent,
      headers: auth,
      body: JSON.stringify({ organization: 'not a domain' }),
    });
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();

    const settings = await request(`${sim.urls.login}/_simulator/settings`, {
      method: 'PUT',
      dispatcher: agent,
      headers: auth,
      body: JSON.stringify({ organization: 'fabrikam.onmicrosoft.com', concurrencyCap: 7, faults: { throttleRate: 0 } }),
    });
    expect(settings.statusCode).toBe(200);
    await settings.body.dump();
    const invalid = await request(`${sim.urls.login}/_simulator/settings`, {
      method: 'PUT',
      dispatcher: agent,
      headers: auth,
      body: JSON.stringify({ concurrencyCap: -1 }),
    });
    expect(invalid.statusCode).toBe(400);
    await invalid.body.dump();

    const stats = await request(`${sim.urls.login}/_simulator/stats?tenant=fabrikam.onmicrosoft.com&service=exo`, { dispatcher: agent, headers: auth });
    expect(await stats.body.json()).toMatchObject({ inFlight: 0, requests: 0, peakInFlight: 0 });
    const all = await request(`${sim.urls.login}/_simulator/stats`, { dispatcher: agent, headers: auth });
    expect(all.statusCode).toBe(200);
    await all.body.dump();
    const reset = await request(`${sim.urls.login}/_simulator/stats/reset`, { method: 'POST', dispatcher: agent, headers: auth });
    expect(await reset.body.json()).toEqual({ ok: true });
  });
});
