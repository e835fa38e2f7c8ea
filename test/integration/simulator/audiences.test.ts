import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type ProvisionedTenant, type Simulator } from '@exorun/simulator';
import { acquireToken, cmdlet, confidentialClient, decodePayload, EXO, invoke, invokeUrl, IPPS, postForm, trustingAgent } from './helpers.js';

// A client whose token resource follows the endpoint it is configured with (as the
// ExchangeOnlineManagement module does per environment) asks the simulator for tokens for the
// simulator's own origins; the canonical resources keep working.

let sim: Simulator;
let agent: Agent;
let tenant: ProvisionedTenant;

beforeAll(async () => {
  sim = await startSimulator();
  agent = trustingAgent(sim);
  tenant = await sim.provisionTenant({ organization: 'audiences.onmicrosoft.com', mailboxCount: 5 });
});

afterAll(async () => {
  await agent.close();
  await sim.close();
});

/** Follows the IPPS global host's redirect by hand, as a client must, and posts again there. */
async function invokeIpps(token: string): Promise<{ redirect: number; status: number; headers: Record<string, unknown> }> {
  const body = cmdlet('Get-RetentionCompliancePolicy');
  const first = await invoke(agent, invokeUrl(sim.urls.ipps, tenant.tenantId), { token, body });
  const location = String(first.headers['location']);
  const second = await invoke(agent, location, { token, body });
  return { redirect: first.status, status: second.status, headers: second.headers };
}

describe('token audiences follow the address', () => {
  it("issues an EXO token for the EXO listener's own origin, which EXO accepts and IPPS refuses", async () => {
    const token = await acquireToken(sim, agent, tenant, sim.urls.exo);
    expect(decodePayload(token)).toMatchObject({ aud: sim.urls.exo, roles: ['Exchange.ManageAsApp'] });
    const exo = await invoke(agent, invokeUrl(sim.urls.exo, tenant.tenantId), { token, body: cmdlet('Get-Mailbox', { ResultSize: 1 }) });
    expect(exo.status).toBe(200);
    expect(exo.json().value).toHaveLength(1);
    const ipps = await invokeIpps(token);
    expect(ipps).toMatchObject({ redirect: 302, status: 401 });
    expect(String(ipps.headers['www-authenticate'])).toMatch(/client_id="00000007-0000-0ff1-ce00-000000000000"/);
  });

  it('issues an IPPS token for the global IPPS origin, which the regional host accepts and EXO refuses', async () => {
    // With a trailing slash: the audience is the origin as a URL client writes it.
    const token = await acquireToken(sim, agent, tenant, `${sim.urls.ipps}/`);
    expect(decodePayload(token)['aud']).toBe(sim.urls.ipps);
    expect(await invokeIpps(token)).toMatchObject({ redirect: 302, status: 200 });
    const exo = await invoke(agent, invokeUrl(sim.urls.exo, tenant.tenantId), { token, body: cmdlet('Get-Mailbox', { ResultSize: 1 }) });
    expect(exo.status).toBe(401);
    expect(String(exo.headers['www-authenticate'])).toMatch(/^Bearer client_id="00000002-0000-0ff1-ce00-000000000000".*authorization_uri="/);
  });

  it('still issues and accepts tokens for the canonical resources', async () => {
    const exoToken = await acquireToken(sim, agent, tenant, EXO);
    const ippsToken = await acquireToken(sim, agent, tenant, IPPS);
    expect((await invoke(agent, invokeUrl(sim.urls.exo, tenant.tenantId), { token: exoToken, body: cmdlet('Get-Mailbox', { ResultSize: 1 }) })).status).toBe(
      200,
    );
    expect(await invokeIpps(ippsToken)).toMatchObject({ status: 200 });
  });

  it.each([
    ['the regional IPPS host', () => sim.urls.ippsRegional],
    ['the login host', () => sim.urls.login],
    ['an origin with a path', () => `${sim.urls.exo}/powershell-liveid`],
    ['another host', () => 'https://graph.microsoft.com'],
  ])('answers a token request for %s like Entra does for an unknown resource', async (_, resource) => {
    await expect(confidentialClient(sim, agent, tenant).acquireTokenByClientCredential({ scopes: [`${resource()}/.default`] })).rejects.toMatchObject({
      errorCode: 'invalid_resource',
      errorMessage: expect.stringMatching(/AADSTS500011: The resource principal named /),
    });
  });

  it('refuses an unknown resource on the delegated device-code endpoint with the same error', async () => {
    const reply = await postForm(agent, `${sim.urls.login}/${tenant.organization}/oauth2/v2.0/devicecode`, {
      client_id: tenant.clientId,
      scope: `${sim.urls.ippsRegional}/.default offline_access`,
    });
    expect(reply).toMatchObject({ status: 400, body: { error: 'invalid_resource', error_codes: [500011] } });
    const accepted = await postForm(agent, `${sim.urls.login}/${tenant.organization}/oauth2/v2.0/devicecode`, {
      client_id: tenant.clientId,
      scope: `${sim.urls.exo}/.default offline_access`,
    });
    expect(accepted).toMatchObject({ status: 200, body: { user_code: expect.any(String) } });
  });
});
