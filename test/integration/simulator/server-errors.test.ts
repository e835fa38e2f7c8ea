import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, stripAnnotations, type ProvisionedTenant, type Simulator } from '@exorun/simulator';
import { acquireToken, cmdlet, control, EXO, invoke, invokeUrl, IPPS, trustingAgent, type Reply } from './helpers.js';

// Transient 500/502/504 answers (faults.serverErrorRate, faults.gatewayErrorRate) over real TLS,
// and re-posting a nextLink after such a failure.

let sim: Simulator;
let agent: Agent;

beforeAll(async () => {
  sim = await startSimulator();
  agent = trustingAgent(sim);
});

afterAll(async () => {
  await agent.close();
  await sim.close();
});

async function tenantWithToken(organization: string): Promise<{ tenant: ProvisionedTenant; token: string; url: string }> {
  const tenant = await sim.provisionTenant({ organization, mailboxCount: 30 });
  return { tenant, token: await acquireToken(sim, agent, tenant, EXO), url: invokeUrl(sim.urls.exo, tenant.tenantId) };
}

const mailboxes = cmdlet('Get-Mailbox', { ResultSize: 'Unlimited' });
const pageOf = (size: number) => ({ prefer: `odata.maxpagesize=${size}` });
const names = (reply: Reply): unknown[] => reply.json().value.map((row) => stripAnnotations(row)['UserPrincipalName']);

describe('injected server errors', () => {
  it('answers 500 with the HTML error page, then plain text, in turn, without Retry-After', async () => {
    const { tenant, token, url } = await tenantWithToken('server-errors.onmicrosoft.com');
    sim.configure({ faults: { serverErrorRate: 1 } }, tenant.organization);
    const replies: Reply[] = [];
    for (let i = 0; i < 3; i++) replies.push(await invoke(agent, url, { token, body: mailboxes, headers: { 'accept-encoding': 'gzip' } }));
    expect(replies.map((reply) => [reply.status, reply.headers['content-type']])).toEqual([
      [500, 'text/html'],
      [500, 'text/plain; charset=utf-8'],
      [500, 'text/html'],
    ]);
    expect(replies[0]!.text).toContain('<title>500 - Internal server error.</title>');
    expect(replies[1]!.text).not.toContain('<');
    for (const reply of replies) {
      expect(reply.headers['retry-after']).toBeUndefined();
      // Not gzipped: only JSON bodies are, like the service's.
      expect(reply.headers['content-encoding']).toBeUndefined();
      expect(() => reply.json()).toThrow();
    }
    expect(sim.recorder.stats(tenant.organization, 'exo')).toMatchObject({ injectedServerErrors: 3, throttled: 0, byStatus: { '500': 3 } });

    sim.configure({ faults: { serverErrorRate: 0 } }, tenant.organization);
    expect((await invoke(agent, url, { token, body: mailboxes })).status).toBe(200);
  });

  it('answers 502 and 504 with an HTML page or an empty body, without Retry-After', async () => {
    const { tenant, token, url } = await tenantWithToken('gateway-errors.onmicrosoft.com');
    sim.configure({ faults: { gatewayErrorRate: 1 } }, tenant.organization);
    const replies: Reply[] = [];
    for (let i = 0; i < 4; i++) replies.push(await invoke(agent, url, { token, body: mailboxes }));
    expect(replies.map((reply) => [reply.status, reply.raw.length === 0 ? 'empty' : reply.headers['content-type']])).toEqual([
      [502, 'text/html'],
      [504, 'empty'],
      [504, 'text/html'],
      [502, 'empty'],
    ]);
    expect(replies[0]!.text).toContain('502 - Web server received an invalid response while acting as a gateway or proxy server.');
    expect(replies[2]!.text).toContain('504 - Gateway Timeout');
    for (const reply of replies) expect(reply.headers['retry-after']).toBeUndefined();
    expect(sim.recorder.stats(tenant.organization, 'exo').injectedServerErrors).toBe(4);
    sim.configure({ faults: { gatewayErrorRate: 0 } }, tenant.organization);
  });

  it('injects them at their rates, the same sequence again for the same seed (set over the control API)', async () => {
    const { tenant, token, url } = await tenantWithToken('error-rates.onmicrosoft.com');
    const statuses = async (): Promise<number[]> => {
      const settings = await control(sim, agent, 'PUT', 'settings', {
        organization: tenant.organization,
        faults: { serverErrorRate: 0.25, gatewayErrorRate: 0.25, seed: 17 },
      });
      expect(settings.status).toBe(200);
      const seen: number[] = [];
      for (let i = 0; i < 40; i++) seen.push((await invoke(agent, url, { token, body: cmdlet('Get-OrganizationConfig') })).status);
      return seen;
    };
    const first = await statuses();
    expect(await statuses()).toEqual(first);
    const failed = first.filter((status) => status !== 200);
    expect(failed.length).toBeGreaterThan(8);
    expect(failed.length).toBeLessThan(32);
    expect(failed.every((status) => [500, 502, 504].includes(status))).toBe(true);
    expect(failed).toContain(500);
    expect(failed.some((status) => status === 502 || status === 504)).toBe(true);
    expect(first.filter((status) => status === 200).length).toBe(40 - failed.length);
    sim.configure({ faults: { serverErrorRate: 0, gatewayErrorRate: 0 } }, tenant.organization);
  });

  it('refuses rates outside 0..1 over the control API', async () => {
    const refused = await control(sim, agent, 'PUT', 'settings', { faults: { gatewayErrorRate: 2 } });
    expect(refused.status).toBe(400);
  });
});

describe('re-posting a nextLink', () => {
  it('returns the same page twice in a row', async () => {
    const { token, url } = await tenantWithToken('repost.onmicrosoft.com');
    const first = await invoke(agent, url, { token, body: mailboxes, headers: pageOf(10) });
    const next = String(first.json()['@odata.nextLink']);
    const again = await invoke(agent, next, { token, body: mailboxes, headers: pageOf(10) });
    const twice = await invoke(agent, next, { token, body: mailboxes, headers: pageOf(10) });
    expect([again.status, twice.status]).toEqual([200, 200]);
    expect(names(again)).toHaveLength(10);
    expect(names(twice)).toEqual(names(again));
    expect(names(again)).not.toEqual(names(first));
  });

  it('after a 500 or a 502, the same cursor gives the page it would have given', async () => {
    const { tenant, token, url } = await tenantWithToken('repost-after-error.onmicrosoft.com');
    const expected = [...sim.tenantData(tenant.organization)!.results('Get-Mailbox', { ResultSize: 'Unlimited' })].map((row) => row['UserPrincipalName']);
    const first = await invoke(agent, url, { token, body: mailboxes, headers: pageOf(10) });
    expect(names(first)).toEqual(expected.slice(0, 10));
    const next = String(first.json()['@odata.nextLink']);

    sim.configure({ faults: { serverErrorRate: 1 } }, tenant.organization);
    expect((await invoke(agent, next, { token, body: mailboxes, headers: pageOf(10) })).status).toBe(500);
    sim.configure({ faults: { serverErrorRate: 0, gatewayErrorRate: 1 } }, tenant.organization);
    expect((await invoke(agent, next, { token, body: mailboxes, headers: pageOf(10) })).status).toBe(502);
    sim.configure({ faults: { gatewayErrorRate: 0 } }, tenant.organization);

    const second = await invoke(agent, next, { token, body: mailboxes, headers: pageOf(10) });
    expect(second.status).toBe(200);
    expect(names(second)).toEqual(expected.slice(10, 20));
    // Following on from the re-posted page carries on where it should.
    const third = await invoke(agent, String(second.json()['@odata.nextLink']), { token, body: mailboxes, headers: pageOf(10) });
    expect(names(third)).toEqual(expected.slice(20, 30));
    expect(third.json()['@odata.nextLink']).toBeUndefined();
  });

  it('still refuses a cursor re-posted with another body', async () => {
    const { token, url } = await tenantWithToken('repost-other-body.onmicrosoft.com');
    const first = await invoke(agent, url, { token, body: mailboxes, headers: pageOf(10) });
    const other = await invoke(agent, String(first.json()['@odata.nextLink']), { token, body: cmdlet('Get-Mailbox', { ResultSize: 25 }), headers: pageOf(10) });
    expect(other.status).toBe(400);
    expect(other.json().error.details[0]?.message).toMatch(/Expired or Invalid pagination request/);
  });

  it('works the same on the IPPS regional host', async () => {
    const tenant = await sim.provisionTenant({ organization: 'repost-ipps.onmicrosoft.com' });
    const token = await acquireToken(sim, agent, tenant, IPPS);
    const body = cmdlet('Get-RetentionCompliancePolicy');
    const regional = invokeUrl(sim.urls.ippsRegional, tenant.tenantId);
    const first = await invoke(agent, regional, { token, body, headers: pageOf(1) });
    const next = String(first.json()['@odata.nextLink']);
    sim.configure({ faults: { gatewayErrorRate: 1 } }, tenant.organization);
    expect((await invoke(agent, next, { token, body, headers: pageOf(1) })).status).toBe(502);
    sim.configure({ faults: { gatewayErrorRate: 0 } }, tenant.organization);
    const again = await invoke(agent, next, { token, body, headers: pageOf(1) });
    const twice = await invoke(agent, next, { token, body, headers: pageOf(1) });
    expect(again.status).toBe(200);
    expect(twice.json().value).toEqual(again.json().value);
    expect(again.json().value).not.toEqual(first.json().value);
  });
});
