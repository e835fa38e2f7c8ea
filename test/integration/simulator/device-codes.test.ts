import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXO_POWERSHELL_CLIENT_ID, startSimulator, type ProvisionedTenant, type Simulator } from '@exorun/simulator';
import { cachedRefreshTokens, control, EXO, postForm, publicClient, trustingAgent } from './helpers.js';

const SCOPE = `${EXO}/.default openid profile offline_access`;

/** The raw protocol, as a client without msal would speak it. */
function endpoints(sim: Simulator, tenant: ProvisionedTenant): { deviceCode: string; token: string } {
  const base = `${sim.urls.login}/${tenant.organization}/oauth2/v2.0`;
  return { deviceCode: `${base}/devicecode`, token: `${base}/token` };
}

async function requestCode(sim: Simulator, agent: Agent, tenant: ProvisionedTenant): Promise<{ device_code: string; user_code: string }> {
  const issued = await postForm(agent, endpoints(sim, tenant).deviceCode, { client_id: EXO_POWERSHELL_CLIENT_ID, scope: SCOPE });
  expect(issued.status).toBe(200);
  return issued.body as { device_code: string; user_code: string };
}

function poll(sim: Simulator, agent: Agent, tenant: ProvisionedTenant, deviceCode: string, grantType = 'device_code') {
  return postForm(agent, endpoints(sim, tenant).token, {
    grant_type: grantType,
    client_id: EXO_POWERSHELL_CLIENT_ID,
    device_code: deviceCode,
    client_info: '1',
  });
}

describe('device code state machine over HTTP', () => {
  let sim: Simulator;
  let agent: Agent;
  let tenant: ProvisionedTenant;

  beforeAll(async () => {
    sim = await startSimulator({ deviceCodeIntervalSec: 1, deviceCodeLifetimeSec: 1 });
    agent = trustingAgent(sim);
    tenant = await sim.provisionTenant({ organization: 'contoso.onmicrosoft.com', mailboxCount: 2, users: ['jane@contoso.onmicrosoft.com'] });
  });

  afterAll(async () => {
    await agent.close();
    await sim.close();
  });

  it('pending → approved → redeemed once (both grant_type spellings)', async () => {
    const code = await requestCode(sim, agent, tenant);
    expect(await poll(sim, agent, tenant, code.device_code)).toMatchObject({
      status: 400,
      body: { error: 'authorization_pending', error_codes: [70016] },
    });
    expect(sim.approveDeviceCode(code.user_code.toLowerCase())).toBe(true);
    expect(sim.approveDeviceCode(code.user_code)).toBe(false);
    const redeemed = await poll(sim, agent, tenant, code.device_code, 'urn:ietf:params:oauth:grant-type:device_code');
    expect(redeemed.status).toBe(200);
    expect(redeemed.body).toMatchObject({ token_type: 'Bearer', scope: SCOPE, refresh_token: expect.any(String), id_token: expect.any(String) });
    expect(await poll(sim, agent, tenant, code.device_code)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('declined and expired codes', async () => {
    const declined = await requestCode(sim, agent, tenant);
    expect(sim.declineDeviceCode(declined.user_code)).toBe(true);
    expect(await poll(sim, agent, tenant, declined.device_code)).toMatchObject({ status: 400, body: { error: 'authorization_declined' } });

    const expired = await requestCode(sim, agent, tenant);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(sim.approveDeviceCode(expired.user_code)).toBe(false);
    expect(await poll(sim, agent, tenant, expired.device_code)).toMatchObject({
      status: 400,
      body: { error: 'expired_token', error_codes: [70020] },
    });
    expect(await poll(sim, agent, tenant, 'no-such-code')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('the control API lists, approves and declines codes', async () => {
    const first = await requestCode(sim, agent, tenant);
    const second = await requestCode(sim, agent, tenant);
    const listed = await control(sim, agent, 'GET', 'device-codes');
    expect(listed.status).toBe(200);
    expect(listed.body).toContainEqual({
      userCode: first.user_code,
      tenant: tenant.organization,
      tenantId: tenant.tenantId,
      clientId: EXO_POWERSHELL_CLIENT_ID,
      scope: SCOPE,
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(await control(sim, agent, 'POST', `device-codes/${first.user_code}/approve`, { upn: 'nobody@contoso.onmicrosoft.com' })).toMatchObject({
      status: 400,
    });
    expect(await control(sim, agent, 'POST', `device-codes/${first.user_code}/approve`, { upn: 'jane@contoso.onmicrosoft.com' })).toMatchObject({
      status: 200,
    });
    expect(await control(sim, agent, 'POST', `device-codes/${first.user_code}/approve`)).toMatchObject({ status: 404 });
    expect(await control(sim, agent, 'POST', `device-codes/${second.user_code}/decline`)).toMatchObject({ status: 200 });
    const redeemed = await poll(sim, agent, tenant, first.device_code);
    expect(JSON.parse(Buffer.from(String(redeemed.body['access_token']).split('.')[1]!, 'base64url').toString())).toMatchObject({
      upn: 'jane@contoso.onmicrosoft.com',
    });
    expect(await control(sim, agent, 'POST', 'users/jane@contoso.onmicrosoft.com/revoke')).toMatchObject({
      status: 200,
      body: { ok: true, revokedFamilies: 1 },
    });
    expect(await control(sim, agent, 'POST', 'users/nobody@contoso.onmicrosoft.com/revoke')).toMatchObject({ status: 404 });
    const stats = await control(sim, agent, 'GET', `stats/entra?tenant=${tenant.organization}`);
    expect(stats.body).toMatchObject({ deviceCodesApproved: expect.any(Number), deviceCodesDeclined: expect.any(Number), revocations: 1 });
  });

  it('refuses unknown clients and scopes at the device code endpoint', async () => {
    const url = endpoints(sim, tenant).deviceCode;
    expect(await postForm(agent, url, { client_id: '11111111-2222-4333-8444-555555555555', scope: SCOPE })).toMatchObject({
      status: 400,
      body: { error: 'unauthorized_client', error_codes: [700016] },
    });
    expect(await postForm(agent, url, { client_id: EXO_POWERSHELL_CLIENT_ID, scope: 'https://graph.microsoft.com/.default' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_resource', error_codes: [500011] },
    });
    expect(
      await postForm(agent, url, { client_id: EXO_POWERSHELL_CLIENT_ID, scope: `${EXO}/.default https://ps.compliance.protection.outlook.com/.default` }),
    ).toMatchObject({ status: 400, body: { error: 'invalid_scope', error_codes: [28000] } });
    expect(
      await postForm(agent, `${sim.urls.login}/nobody.onmicrosoft.com/oauth2/v2.0/devicecode`, { client_id: EXO_POWERSHELL_CLIENT_ID, scope: SCOPE }),
    ).toMatchObject({
      status: 400,
      body: { error_codes: [90002] },
    });
  });
});

describe('automatic approval, reuse allowed, refresh token expiry', () => {
  let sim: Simulator;
  let agent: Agent;
  let tenant: ProvisionedTenant;

  beforeAll(async () => {
    sim = await startSimulator({ deviceCodeIntervalSec: 1, deviceCodeAutoApproveMs: 0, refreshTokenReuse: 'allow', refreshTokenLifetimeSec: 2 });
    agent = trustingAgent(sim);
    tenant = await sim.provisionTenant({ organization: 'fabrikam.onmicrosoft.com', mailboxCount: 2 });
  });

  afterAll(async () => {
    await agent.close();
    await sim.close();
  });

  it('approves as admin@<organization> without anyone acting', async () => {
    const app = publicClient(sim, agent, tenant);
    const result = await app.acquireTokenByDeviceCode({ scopes: [`${EXO}/.default`], deviceCodeCallback: () => undefined });
    expect(result?.account?.username).toBe('admin@fabrikam.onmicrosoft.com');
    expect(sim.pendingDeviceCodes()).toEqual([]);
    expect(sim.entraStats().deviceCodesApproved).toBeGreaterThanOrEqual(1);
  });

  it("lets an old refresh token work again in 'allow' mode, counting the reuse; then it expires", async () => {
    const app = publicClient(sim, agent, tenant);
    await app.acquireTokenByDeviceCode({ scopes: [`${EXO}/.default`], deviceCodeCallback: () => undefined });
    const [token] = cachedRefreshTokens(app);
    const url = `${sim.urls.login}/${tenant.tenantId}/oauth2/v2.0/token`;
    const form = { grant_type: 'refresh_token', client_id: EXO_POWERSHELL_CLIENT_ID, scope: `${EXO}/.default offline_access`, refresh_token: token! };
    const before = sim.entraStats(tenant.tenantId);
    expect((await postForm(agent, url, form)).status).toBe(200);
    expect((await postForm(agent, url, form)).status).toBe(200);
    expect(sim.entraStats(tenant.tenantId).reuseDetections - before.reuseDetections).toBe(1);
    expect(sim.entraStats(tenant.tenantId).revocations - before.revocations).toBe(0);

    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await postForm(agent, url, form)).toMatchObject({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_codes: [700082],
        error_description: expect.stringMatching(/^AADSTS700082: The refresh token has expired due to inactivity\./),
      },
    });
  });
});
