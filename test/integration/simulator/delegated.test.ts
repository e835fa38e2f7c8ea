import type { AccountInfo, PublicClientApplication } from '@azure/msal-node';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXO_POWERSHELL_CLIENT_ID, startSimulator, type ProvisionedTenant, type Simulator } from '@exorun/simulator';
import {
  acquireToken,
  cachedRefreshTokens,
  cmdlet,
  confidentialClient,
  control,
  decodePayload,
  EXO,
  invoke,
  invokeUrl,
  IPPS,
  postForm,
  publicClient,
  trustingAgent,
} from './helpers.js';

let sim: Simulator;
let agent: Agent;
let tenant: ProvisionedTenant;

beforeAll(async () => {
  sim = await startSimulator({ deviceCodeIntervalSec: 1 });
  agent = trustingAgent(sim);
  tenant = await sim.provisionTenant({ organization: 'contoso.onmicrosoft.com', mailboxCount: 20, users: ['Jane.Doe@contoso.onmicrosoft.com'] });
});

afterAll(async () => {
  await agent.close();
  await sim.close();
});

const admin = (): string => `admin@${tenant.organization}`;

/** A device-code sign-in through msal-node; the callback plays the user at once. */
async function signIn(app: PublicClientApplication, options: { upn?: string; scopes?: string[] } = {}): Promise<AccountInfo> {
  const result = await app.acquireTokenByDeviceCode({
    scopes: options.scopes ?? [`${EXO}/.default`],
    deviceCodeCallback: (response) => {
      if (!sim.approveDeviceCode(response.userCode, options.upn)) throw new Error(`could not approve ${response.userCode}`);
    },
  });
  if (!result?.account) throw new Error('no account');
  return result.account;
}

describe('device code flow with msal-node', () => {
  it('signs the admin in with the Exchange Online PowerShell client and polls while pending', async () => {
    const before = sim.entraStats(tenant.organization);
    const bodies: string[] = [];
    const seen: string[] = [];
    const app = publicClient(sim, agent, tenant, { bodies, seen });
    let prompt: { userCode: string; verificationUri: string; message: string; interval: number; expiresIn: number } | undefined;
    const result = await app.acquireTokenByDeviceCode({
      scopes: [`${EXO}/.default`],
      deviceCodeCallback: (response) => {
        prompt = response;
        expect(sim.pendingDeviceCodes()).toContainEqual(
          expect.objectContaining({ userCode: response.userCode, tenant: tenant.organization, tenantId: tenant.tenantId, clientId: EXO_POWERSHELL_CLIENT_ID }),
        );
        // Late enough for at least one authorization_pending answer.
        setTimeout(() => expect(sim.approveDeviceCode(response.userCode)).toBe(true), 1500);
      },
    });
    expect(prompt).toMatchObject({ verificationUri: `${sim.urls.login}/devicelogin`, interval: 1, expiresIn: 900 });
    expect(prompt?.userCode).toMatch(/^[A-Z0-9]{9}$/);
    expect(prompt?.message).toBe(
      `To sign in, use a web browser to open the page ${sim.urls.login}/devicelogin and enter the code ${prompt?.userCode} to authenticate.`,
    );
    expect(seen.some((url) => url.includes('/oauth2/v2.0/devicecode'))).toBe(true);
    expect(new URLSearchParams(bodies.at(-1)).get('grant_type')).toBe('device_code');

    expect(result?.account?.username).toBe(admin());
    expect(result?.account?.name).toBe('Simulated Admin');
    expect(result?.account?.tenantId).toBe(tenant.tenantId);
    const adminUser = tenant.users.find((user) => user.upn === admin());
    expect(result?.account?.localAccountId).toBe(adminUser?.oid);
    const claims = decodePayload(String(result?.accessToken));
    expect(claims).toMatchObject({
      aud: EXO,
      iss: `https://sts.windows.net/${tenant.tenantId}/`,
      tid: tenant.tenantId,
      oid: adminUser?.oid,
      upn: admin(),
      unique_name: admin(),
      name: 'Simulated Admin',
      appid: EXO_POWERSHELL_CLIENT_ID,
      idtyp: 'user',
      ver: '1.0',
    });
    expect(String(claims['scp']).split(' ')).toContain('AdminApi.AccessAsUser.All');
    expect(Number(claims['exp']) - Number(claims['iat'])).toBe(3600);
    expect(decodePayload(String(result?.idToken))).toMatchObject({ aud: EXO_POWERSHELL_CLIENT_ID, preferred_username: admin(), tid: tenant.tenantId });
    expect(cachedRefreshTokens(app)).toHaveLength(1);

    const after = sim.entraStats(tenant.organization);
    expect(after.deviceCodesIssued - before.deviceCodesIssued).toBe(1);
    expect(after.deviceCodesApproved - before.deviceCodesApproved).toBe(1);
    expect(after.deviceCodesRedeemed - before.deviceCodesRedeemed).toBe(1);
    expect(after.deviceCodePendingPolls - before.deviceCodePendingPolls).toBeGreaterThanOrEqual(1);
    expect(sim.pendingDeviceCodes().some((code) => code.userCode === prompt?.userCode)).toBe(false);

    // Served from msal's cache: the token lives an hour.
    const [account] = await app.getAllAccounts();
    const silent = await app.acquireTokenSilent({ account: account!, scopes: [`${EXO}/.default`] });
    expect(silent.fromCache).toBe(true);
    expect(silent.accessToken).toBe(result?.accessToken);
  });

  it('signs in a listed user, also with the tenant’s own app as public client', async () => {
    const app = publicClient(sim, agent, tenant, { clientId: tenant.clientId });
    const account = await signIn(app, { upn: 'jane.doe@contoso.onmicrosoft.com' });
    expect(account.username).toBe('jane.doe@contoso.onmicrosoft.com');
    expect(account.name).toBe('Jane Doe');
    const token = await app.acquireTokenSilent({ account, scopes: [`${EXO}/.default`] });
    expect(decodePayload(token.accessToken)).toMatchObject({ appid: tenant.clientId, upn: 'jane.doe@contoso.onmicrosoft.com' });
  });

  it('signs in at /organizations: the approving user picks the tenant', async () => {
    const app = publicClient(sim, agent, tenant, { authorityTenant: 'organizations' });
    const account = await signIn(app, { upn: admin() });
    expect(account.tenantId).toBe(tenant.tenantId);
    const ipps = await app.acquireTokenSilent({ account, scopes: [`${IPPS}/.default`] });
    expect(decodePayload(ipps.accessToken)).toMatchObject({ aud: IPPS, tid: tenant.tenantId });
  });
});

describe('refresh tokens', () => {
  let shortLived: ProvisionedTenant;

  beforeAll(async () => {
    // Any lifetime under 300 s makes msal-node refresh over the network on every silent call.
    shortLived = await sim.provisionTenant({ organization: 'fabrikam.onmicrosoft.com', mailboxCount: 5, tokenLifetimeSec: 2 });
  });

  it('rotates on every refresh; msal keeps the newest refresh token', async () => {
    const app = publicClient(sim, agent, shortLived);
    const account = await signIn(app);
    const first = cachedRefreshTokens(app);
    const before = sim.entraStats(shortLived.organization);
    const refreshed = await app.acquireTokenSilent({ account, scopes: [`${EXO}/.default`] });
    expect(refreshed.fromCache).toBe(false);
    expect(Number(decodePayload(refreshed.accessToken)['exp']) - Number(decodePayload(refreshed.accessToken)['iat'])).toBe(2);
    const second = cachedRefreshTokens(app);
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    await app.acquireTokenSilent({ account, scopes: [`${EXO}/.default`] });
    expect(cachedRefreshTokens(app)[0]).not.toBe(second[0]);
    const after = sim.entraStats(shortLived.organization);
    expect(after.refreshRedemptions - before.refreshRedemptions).toBe(2);
    expect(after.rotations - before.rotations).toBe(2);
    expect(after.reuseDetections - before.reuseDetections).toBe(0);
  });

  it('mints EXO and IPPS tokens from one refresh token', async () => {
    const app = publicClient(sim, agent, shortLived);
    const account = await signIn(app);
    const exo = await app.acquireTokenSilent({ account, scopes: [`${EXO}/.default`] });
    const ipps = await app.acquireTokenSilent({ account, scopes: [`${IPPS}/.default`] });
    expect(decodePayload(exo.accessToken)['aud']).toBe(EXO);
    expect(decodePayload(ipps.accessToken)['aud']).toBe(IPPS);
  });

  it('imports a refresh token; redeeming a rotated-away token revokes the whole family', async () => {
    const original = publicClient(sim, agent, shortLived);
    const account = await signIn(original);
    const [rotatedAway] = cachedRefreshTokens(original);

    const imported = publicClient(sim, agent, shortLived);
    const result = await imported.acquireTokenByRefreshToken({ refreshToken: rotatedAway!, scopes: [`${EXO}/.default`], forceCache: true });
    expect(result?.account?.username).toBe(`admin@${shortLived.organization}`);
    const [importedAccount] = await imported.getAllAccounts();
    expect(cachedRefreshTokens(imported)[0]).not.toBe(rotatedAway);

    const before = sim.entraStats(shortLived.organization);
    // The original app still holds the token that was just redeemed elsewhere.
    await expect(original.acquireTokenSilent({ account, scopes: [`${EXO}/.default`] })).rejects.toMatchObject({
      errorCode: 'invalid_grant',
      errorMessage: expect.stringMatching(/AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed/),
    });
    // Strict mode: the newest token of the family is dead too.
    await expect(imported.acquireTokenSilent({ account: importedAccount!, scopes: [`${EXO}/.default`] })).rejects.toMatchObject({ errorCode: 'invalid_grant' });
    const after = sim.entraStats(shortLived.organization);
    expect(after.reuseDetections - before.reuseDetections).toBe(1);
    expect(after.revocations - before.revocations).toBe(1);
    expect(after.refreshRefusals - before.refreshRefusals).toBe(2);
  });

  it('refuses every token of a revoked user until the user signs in again', async () => {
    const app = publicClient(sim, agent, shortLived);
    const account = await signIn(app);
    expect(sim.revokeUser(`ADMIN@${shortLived.organization}`)).toBeGreaterThanOrEqual(1);
    await expect(app.acquireTokenSilent({ account, scopes: [`${EXO}/.default`] })).rejects.toMatchObject({
      errorCode: 'invalid_grant',
      errorMessage: expect.stringMatching(/AADSTS50173: .*The user might have changed or reset their password/),
    });
    const fresh = publicClient(sim, agent, shortLived);
    const again = await signIn(fresh);
    await expect(fresh.acquireTokenSilent({ account: again, scopes: [`${EXO}/.default`] })).resolves.toMatchObject({ fromCache: false });
  });

  it('answers garbage, a wrong client and a missing token like Entra', async () => {
    const endpoint = `${sim.urls.login}/${shortLived.tenantId}/oauth2/v2.0/token`;
    const form = { grant_type: 'refresh_token', client_id: EXO_POWERSHELL_CLIENT_ID, scope: `${EXO}/.default offline_access` };
    expect(await postForm(agent, endpoint, { ...form, refresh_token: 'garbage' })).toMatchObject({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_codes: [9002313],
        error_description: expect.stringMatching(/^AADSTS9002313: Invalid request\. Request is malformed or invalid\./),
      },
    });
    expect(await postForm(agent, endpoint, form)).toMatchObject({ status: 400, body: { error: 'invalid_request', error_codes: [900144] } });
    const app = publicClient(sim, agent, shortLived);
    await signIn(app);
    const [token] = cachedRefreshTokens(app);
    expect(await postForm(agent, endpoint, { ...form, client_id: shortLived.clientId, refresh_token: token! })).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant', error_codes: [70000] },
    });
    expect(await postForm(agent, endpoint, { ...form, refresh_token: token!, client_assertion_type: 'x', client_assertion: 'y' })).toMatchObject({
      status: 401,
      body: { error: 'invalid_client', error_codes: [700025] },
    });
    // The refused attempts above did not use the token up.
    const ok = await postForm(agent, endpoint, { ...form, refresh_token: token!, client_info: '1', scope: `${IPPS}/.default openid profile offline_access` });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: 'Bearer', scope: `${IPPS}/.default openid profile offline_access`, expires_in: 2 });
    expect(JSON.parse(Buffer.from(String(ok.body['client_info']), 'base64url').toString())).toEqual({
      uid: shortLived.users[0]?.oid,
      utid: shortLived.tenantId,
    });
    expect(ok.body['refresh_token']).not.toBe(token);
  });
});

describe('delegated tokens at the admin API', () => {
  it('are accepted by EXO and IPPS, and the call log names the user and the anchor mailbox', async () => {
    const app = publicClient(sim, agent, tenant);
    const account = await signIn(app);
    const exo = await app.acquireTokenSilent({ account, scopes: [`${EXO}/.default`] });
    const ipps = await app.acquireTokenSilent({ account, scopes: [`${IPPS}/.default`] });
    const anchor = `UPN:${admin()}`;
    const reply = await invoke(agent, invokeUrl(sim.urls.exo, tenant.tenantId), {
      token: exo.accessToken,
      body: cmdlet('Get-Mailbox', { ResultSize: 1 }),
      headers: { 'X-AnchorMailbox': anchor, 'client-request-id': 'delegated-1' },
    });
    expect(reply.status).toBe(200);
    const ippsReply = await invoke(agent, invokeUrl(sim.urls.ippsRegional, tenant.tenantId), {
      token: ipps.accessToken,
      body: cmdlet('Get-RetentionCompliancePolicy'),
    });
    expect(ippsReply.status).toBe(200);
    const record = sim.recorder.calls().find((call) => call.clientRequestId === 'delegated-1');
    const claims = decodePayload(exo.accessToken);
    expect(record).toMatchObject({
      callerKind: 'user',
      caller: admin(),
      anchorMailbox: anchor,
      tokenIssuedAt: expect.any(Number),
      tokenExpiresAt: Number(claims['exp']) * 1000,
    });
    expect(Math.floor(Number(record?.tokenIssuedAt) / 1000)).toBe(claims['iat']);

    const appToken = await acquireToken(sim, agent, tenant, EXO);
    await invoke(agent, invokeUrl(sim.urls.exo, tenant.tenantId), {
      token: appToken,
      body: cmdlet('Get-AcceptedDomain'),
      headers: { 'client-request-id': 'app-1' },
    });
    const appRecord = sim.recorder.calls().find((call) => call.clientRequestId === 'app-1');
    expect(appRecord).toMatchObject({ callerKind: 'app', caller: tenant.clientId, status: 200 });
    expect(appRecord?.anchorMailbox).toBeUndefined();
  });
});

describe('CAE claims challenges', () => {
  it('challenges older tokens of the tenant; msal comes back with the claims and a fresh token', async () => {
    const caeTenant = await sim.provisionTenant({ organization: 'northwind.onmicrosoft.com', mailboxCount: 3 });
    const app = publicClient(sim, agent, caeTenant);
    const account = await signIn(app);
    const old = await app.acquireTokenSilent({ account, scopes: [`${EXO}/.default`] });
    const url = invokeUrl(sim.urls.exo, caeTenant.tenantId);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const claims = sim.requireClaims({ organizationOrId: caeTenant.organization });

    const refused = await invoke(agent, url, { token: old.accessToken, body: cmdlet('Get-AcceptedDomain') });
    expect(refused.status).toBe(401);
    const challenge = String(refused.headers['www-authenticate']);
    expect(challenge).toBe(
      `Bearer realm="", authorization_uri="${sim.urls.login}/common/oauth2/authorize", client_id="00000002-0000-0ff1-ce00-000000000000", error="insufficient_claims", claims="${claims}"`,
    );
    const decoded = JSON.parse(Buffer.from(claims, 'base64').toString()) as { access_token: { nbf: { essential: boolean; value: string } } };
    expect(decoded.access_token.nbf.essential).toBe(true);
    expect(Number(decoded.access_token.nbf.value)).toBeGreaterThanOrEqual(Number(decodePayload(old.accessToken)['iat']));

    const renewed = await app.acquireTokenSilent({ account, scopes: [`${EXO}/.default`], claims: JSON.stringify(decoded) });
    expect(renewed.fromCache).toBe(false);
    expect((await invoke(agent, url, { token: renewed.accessToken, body: cmdlet('Get-AcceptedDomain') })).status).toBe(200);
    expect(sim.recorder.stats(caeTenant.organization, 'exo').caeChallenges).toBe(1);
  });

  it('challenges app tokens too; the confidential client asks again with claims and gets a fresh token', async () => {
    const caeTenant = await sim.provisionTenant({ organization: 'adatum.onmicrosoft.com', mailboxCount: 3 });
    const app = confidentialClient(sim, agent, caeTenant);
    const old = await app.acquireTokenByClientCredential({ scopes: [`${EXO}/.default`] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const claims = sim.requireClaims({ organizationOrId: caeTenant.tenantId });
    const url = invokeUrl(sim.urls.exo, caeTenant.tenantId);
    expect((await invoke(agent, url, { token: old!.accessToken, body: cmdlet('Get-AcceptedDomain') })).status).toBe(401);
    const cached = await app.acquireTokenByClientCredential({ scopes: [`${EXO}/.default`] });
    expect(cached?.accessToken).toBe(old?.accessToken);
    const bodies: string[] = [];
    const renewed = await confidentialClient(sim, agent, caeTenant, { bodies }).acquireTokenByClientCredential({
      scopes: [`${EXO}/.default`],
      claims: Buffer.from(claims, 'base64').toString(),
    });
    expect(new URLSearchParams(bodies.at(-1)).get('claims')).toContain('"nbf"');
    expect((await invoke(agent, url, { token: renewed!.accessToken, body: cmdlet('Get-AcceptedDomain') })).status).toBe(200);
  });

  it('can target one user, and the control API sets it too', async () => {
    const caeTenant = await sim.provisionTenant({ organization: 'tailspin.onmicrosoft.com', mailboxCount: 3, users: ['ops@tailspin.onmicrosoft.com'] });
    const adminApp = publicClient(sim, agent, caeTenant);
    const opsApp = publicClient(sim, agent, caeTenant);
    const adminToken = (await adminApp.acquireTokenSilent({ account: await signIn(adminApp), scopes: [`${IPPS}/.default`] })).accessToken;
    const opsToken = (await opsApp.acquireTokenSilent({ account: await signIn(opsApp, { upn: 'ops@tailspin.onmicrosoft.com' }), scopes: [`${IPPS}/.default`] }))
      .accessToken;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const set = await control(sim, agent, 'POST', 'cae', { organization: caeTenant.organization, upn: 'ops@tailspin.onmicrosoft.com' });
    expect(set).toMatchObject({ status: 200, body: { ok: true, claims: expect.any(String) } });
    const url = invokeUrl(sim.urls.ippsRegional, caeTenant.tenantId);
    const ops = await invoke(agent, url, { token: opsToken, body: cmdlet('Get-RetentionCompliancePolicy') });
    expect(ops.status).toBe(401);
    expect(ops.headers['www-authenticate']).toMatch(/client_id="00000007-0000-0ff1-ce00-000000000000", error="insufficient_claims", claims="/);
    expect((await invoke(agent, url, { token: adminToken, body: cmdlet('Get-RetentionCompliancePolicy') })).status).toBe(200);
    expect(await control(sim, agent, 'POST', 'cae', { organization: 'nobody.onmicrosoft.com' })).toMatchObject({ status: 400 });
  });
});
