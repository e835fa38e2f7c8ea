import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sleep } from '../../../src/core/time.js';
import { startSimulator, type ProvisionedTenant, type Simulator } from '@exorun/simulator';
import { acquireToken, cmdlet, control, decodePayload, EXO, invoke, invokeUrl, trustingAgent } from './helpers.js';

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

async function tenantWithToken(
  organization: string,
  settings: Parameters<Simulator['provisionTenant']>[0] = { organization },
): Promise<{ tenant: ProvisionedTenant; token: string; url: string }> {
  const tenant = await sim.provisionTenant({ mailboxCount: 30, ...settings, organization });
  return { tenant, token: await acquireToken(sim, agent, tenant, EXO), url: invokeUrl(sim.urls.exo, tenant.tenantId) };
}

describe('per-tenant concurrency cap', () => {
  it('refuses requests beyond the cap with the plain-text message and counts arrivals', async () => {
    const { tenant, token, url } = await tenantWithToken('capped.onmicrosoft.com', {
      organization: 'capped.onmicrosoft.com',
      concurrencyCap: 2,
      // Long enough that the three later requests arrive while the first two are held, even on a
      // busy machine: they are sent only once the server holds the first two.
      latencyMs: 5_000,
    });
    const call = (): ReturnType<typeof invoke> => invoke(agent, url, { token, body: cmdlet('Get-OrganizationConfig') });
    const first = [call(), call()];
    await vi.waitFor(() => expect(sim.recorder.stats(tenant.organization, 'exo').inFlight).toBe(2), { timeout: 20_000, interval: 20 });
    const replies = await Promise.all([...first, call(), call(), call()]);
    const refused = replies.filter((reply) => reply.status === 429);
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(2);
    expect(refused).toHaveLength(3);
    for (const reply of refused) {
      expect(reply.headers['content-type']).toBe('text/plain');
      expect(reply.text).toBe('You have reached the maximum number of concurrent requests per tenant. Please wait and try again.');
      expect(reply.headers['retry-after']).toBeUndefined();
    }
    // The server records a call when its response has been handed off, which can trail the client by a tick.
    await vi.waitFor(() =>
      expect(sim.recorder.stats(tenant.organization, 'exo')).toMatchObject({
        peakInFlight: 5,
        refusedConcurrency: 3,
        requests: 5,
        inFlight: 0,
        byStatus: { '200': 2, '429': 3 },
      }),
    );
    expect(sim.recorder.stats(tenant.tenantId)).toMatchObject({ peakInFlight: 5 });
  });

  it('applies latency to every response', async () => {
    const { tenant, url, token } = await tenantWithToken('slow.onmicrosoft.com', { organization: 'slow.onmicrosoft.com', latencyMs: 300 });
    const started = Date.now();
    const reply = await invoke(agent, url, { token, body: cmdlet('Get-AcceptedDomain') });
    expect(reply.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const call = await vi.waitFor(() => {
      const found = sim.recorder.calls().find((record) => record.tenantId === tenant.tenantId);
      if (!found) throw new Error('not recorded yet');
      return found;
    });
    expect(call.endedAt - call.at).toBeGreaterThanOrEqual(290);
  });
});

describe('fault injection', () => {
  it('throttles with Retry-After and counts retries that come too early', async () => {
    const { tenant, token, url } = await tenantWithToken('throttled.onmicrosoft.com');
    sim.configure({ faults: { throttleRate: 1, retryAfterSec: 0.4, seed: 9 } }, tenant.organization);
    const first = await invoke(agent, url, { token, body: cmdlet('Get-Mailbox') });
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('0.4');
    expect(first.json().error.code).toBe('TooManyRequests');
    const early = await invoke(agent, url, { token, body: cmdlet('Get-Mailbox') });
    expect(early.status).toBe(429);
    sim.configure({ faults: { throttleRate: 0 } }, tenant.organization);
    await sleep(450);
    const polite = await invoke(agent, url, { token, body: cmdlet('Get-Mailbox') });
    expect(polite.status).toBe(200);
    await vi.waitFor(() =>
      expect(sim.recorder.stats(tenant.organization, 'exo')).toMatchObject({ throttled: 2, earlyRetries: 1, byStatus: { '429': 2, '200': 1 } }),
    );
  });

  it('answers 503 with an HTML body and an HTTP-date Retry-After', async () => {
    const { tenant, token, url } = await tenantWithToken('down.onmicrosoft.com');
    sim.configure({ faults: { unavailableRate: 1, retryAfterSec: 2, retryAfterFormat: 'http-date' } }, tenant.organization);
    const reply = await invoke(agent, url, { token, body: cmdlet('Get-Mailbox') });
    expect(reply.status).toBe(503);
    expect(reply.headers['content-type']).toMatch(/^text\/html/);
    expect(reply.text).toMatch(/Service Unavailable/);
    const when = Date.parse(String(reply.headers['retry-after']));
    expect(when).toBeGreaterThan(Date.now());
    expect(when).toBeLessThanOrEqual(Date.now() + 3000);
    sim.configure({ faults: { unavailableRate: 0 } }, tenant.organization);
  });

  it('injects the plain-text concurrency refusal at a rate, counted apart from real cap refusals', async () => {
    const { tenant, token, url } = await tenantWithToken('refusing.onmicrosoft.com');
    sim.configure({ faults: { concurrencyRefusalRate: 1, seed: 3 } }, tenant.organization);
    const reply = await invoke(agent, url, { token, body: cmdlet('Get-Mailbox') });
    expect(reply.status).toBe(429);
    expect(reply.headers['content-type']).toBe('text/plain');
    expect(reply.text).toBe('You have reached the maximum number of concurrent requests per tenant. Please wait and try again.');
    expect(reply.headers['retry-after']).toBeUndefined();
    sim.configure({ faults: { concurrencyRefusalRate: 0.5, seed: 3 } }, tenant.organization);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await invoke(agent, url, { token, body: cmdlet('Get-AcceptedDomain') })).status);
    expect(new Set(statuses)).toEqual(new Set([200, 429]));
    sim.configure({ faults: { concurrencyRefusalRate: 0 } }, tenant.organization);
    const refused = 1 + statuses.filter((status) => status === 429).length;
    await vi.waitFor(() => expect(sim.recorder.stats(tenant.organization, 'exo')).toMatchObject({ injectedRefusals: refused, refusedConcurrency: 0 }));
  });

  it('writes fractional Retry-After seconds as such', async () => {
    const { tenant, token, url } = await tenantWithToken('fraction.onmicrosoft.com');
    sim.configure({ faults: { throttleRate: 1, retryAfterSec: 0.5 } }, tenant.organization);
    expect((await invoke(agent, url, { token, body: cmdlet('Get-Mailbox') })).headers['retry-after']).toBe('0.5');
    sim.configure({ faults: { retryAfterSec: 1.25, retryAfterFormat: 'seconds' } }, tenant.organization);
    expect((await invoke(agent, url, { token, body: cmdlet('Get-Mailbox') })).headers['retry-after']).toBe('1.25');
    sim.configure({ faults: { throttleRate: 0 } }, tenant.organization);
  });

  it('makes the same decisions for the same seed', async () => {
    const { tenant, token, url } = await tenantWithToken('flaky.onmicrosoft.com');
    const run = async (): Promise<number[]> => {
      sim.configure({ faults: { throttleRate: 0.3, unavailableRate: 0.2, retryAfterSec: 0, seed: 42 } }, tenant.organization);
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await invoke(agent, url, { token, body: cmdlet('Get-AcceptedDomain') })).status);
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(1);
    sim.configure({ faults: { throttleRate: 0, unavailableRate: 0 } }, tenant.organization);
  });
});

describe('token lifetime at run time', () => {
  it('applies a new tokenLifetimeSec to tokens issued afterwards (configure and PUT /_simulator/settings)', async () => {
    const tenant = await sim.provisionTenant({ organization: 'lifetime.onmicrosoft.com', mailboxCount: 1 });
    const lifetime = (token: string): number => {
      const claims = decodePayload(token);
      return Number(claims['exp']) - Number(claims['iat']);
    };
    expect(lifetime(await acquireToken(sim, agent, tenant, EXO))).toBe(3600);
    sim.configure({ tokenLifetimeSec: 120 }, tenant.organization);
    expect(lifetime(await acquireToken(sim, agent, tenant, EXO))).toBe(120);
    const put = await control(sim, agent, 'PUT', 'settings', { tokenLifetimeSec: 600 });
    expect(put.status).toBe(200);
    // The tenant's own value still wins over the new server default.
    expect(lifetime(await acquireToken(sim, agent, tenant, EXO))).toBe(120);
    const other = await sim.provisionTenant({ organization: 'lifetime2.onmicrosoft.com', mailboxCount: 1 });
    expect(lifetime(await acquireToken(sim, agent, other, EXO))).toBe(600);
    expect(await control(sim, agent, 'PUT', 'settings', { tokenLifetimeSec: 0 })).toMatchObject({ status: 400 });
    sim.configure({ tokenLifetimeSec: 3600 });
  });
});

describe('expiry', () => {
  let short: Simulator;
  let shortAgent: Agent;

  beforeAll(async () => {
    short = await startSimulator({ cursorTtlMs: 200, tokenLifetimeSec: 1 });
    shortAgent = trustingAgent(short);
  });

  afterAll(async () => {
    await shortAgent.close();
    await short.close();
  });

  it('refuses an expired token and counts it', async () => {
    const tenant = await short.provisionTenant({ organization: 'expiry.onmicrosoft.com', mailboxCount: 5 });
    const token = await acquireToken(short, shortAgent, tenant, EXO);
    const url = invokeUrl(short.urls.exo, tenant.tenantId);
    await sleep(1100);
    const reply = await invoke(shortAgent, url, { token, body: cmdlet('Get-Mailbox') });
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token", error_description="The token has expired"$/);
    await vi.waitFor(() => expect(short.recorder.stats(tenant.organization, 'exo').expiredTokenUses).toBe(1));
    expect(short.recorder.calls().at(-1)).toMatchObject({ tenantId: tenant.tenantId, status: 401, expiredToken: true, cmdlet: 'Get-Mailbox' });
  });

  it('expires paging cursors', async () => {
    const tenant = await short.provisionTenant({ organization: 'cursor.onmicrosoft.com', mailboxCount: 30 });
    const body = cmdlet('Get-Mailbox');
    const url = invokeUrl(short.urls.exo, tenant.tenantId);
    const first = await invoke(shortAgent, url, {
      token: await acquireToken(short, shortAgent, tenant, EXO),
      body,
      headers: { prefer: 'odata.maxpagesize=5' },
    });
    const next = first.json()['@odata.nextLink'] as string;
    await sleep(250);
    const late = await invoke(shortAgent, next, {
      token: await acquireToken(short, shortAgent, tenant, EXO),
      body,
      headers: { prefer: 'odata.maxpagesize=5' },
    });
    expect(late.status).toBe(400);
    expect(late.json().error.details[0]?.message).toMatch(
      /\|Microsoft\.Exchange\.Admin\.OData\.Core\.ODataServiceException\|Expired or Invalid pagination request\. Default Expiry time is 00:30:00$/,
    );
  });
});
