import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, stripAnnotations, type ProvisionedTenant, type Simulator, type TenantData } from '@exorun/simulator';
import { acquireToken, cmdlet, EXO, invoke, invokeUrl, trustingAgent, type Reply } from './helpers.js';

let sim: Simulator;
let agent: Agent;
let tenant: ProvisionedTenant;
let token: string;
let data: TenantData;

beforeAll(async () => {
  sim = await startSimulator();
  agent = trustingAgent(sim);
  tenant = await sim.provisionTenant({ organization: 'contoso.onmicrosoft.com', mailboxCount: 40, seed: 7, auditRecordsPerHour: 120 });
  token = await acquireToken(sim, agent, tenant, EXO);
  data = sim.tenantData(tenant.organization)!;
});

afterAll(async () => {
  await agent.close();
  await sim.close();
});

const url = (): string => invokeUrl(sim.urls.exo, tenant.tenantId);

/** Every object of one call, following nextLinks. */
async function all(name: string, parameters: Record<string, unknown>, pageSize = 1000): Promise<{ objects: Record<string, unknown>[]; pages: number }> {
  const body = cmdlet(name, parameters);
  const objects: Record<string, unknown>[] = [];
  let next: string | undefined = url();
  let pages = 0;
  while (next) {
    const reply: Reply = await invoke(agent, next, { token, body, headers: { prefer: `odata.maxpagesize=${pageSize}` } });
    expect(reply.status, reply.text).toBe(200);
    const page = reply.json();
    objects.push(...page.value.map(stripAnnotations));
    next = page['@odata.nextLink'];
    pages++;
  }
  return { objects, pages };
}

const identities = (objects: Record<string, unknown>[]): string[] => objects.map((object) => String(object['Identity']));

describe('Search-UnifiedAuditLog', () => {
  it('returns exactly what TenantData computes, over all nextLink pages, oldest first', async () => {
    const window = { StartDate: '2026-02-10T00:00:00Z', EndDate: '2026-02-11T06:00:00Z', ResultSize: 5000 };
    const { objects, pages } = await all('Search-UnifiedAuditLog', window);
    expect(pages).toBe(4);
    expect(objects).toHaveLength(30 * 120);
    expect(objects).toEqual([...data.results('Search-UnifiedAuditLog', window)]);
    expect(objects.map((object) => object['ResultIndex'])).toEqual(objects.map((_, index) => index + 1));
    expect(new Set(objects.map((object) => object['ResultCount']))).toEqual(new Set([3600]));
    const times = objects.map((object) => Date.parse(String(object['CreationDate'])));
    expect(times.every((time, index) => index === 0 || time > times[index - 1]!)).toBe(true);
    expect(times[0]).toBeGreaterThanOrEqual(Date.parse(window.StartDate));
    expect(times.at(-1)).toBeLessThan(Date.parse(window.EndDate));
    const first = objects[0]!;
    expect(Object.keys(first)).toEqual([
      'RecordType',
      'CreationDate',
      'UserIds',
      'Operations',
      'AuditData',
      'ResultIndex',
      'ResultCount',
      'Identity',
      'IsValid',
      'ObjectState',
    ]);
    expect(JSON.parse(String(first['AuditData']))).toMatchObject({ Id: first['Identity'], Operation: first['Operations'], UserId: first['UserIds'] });
  });

  it('annotates CreationDate and the counters on the wire', async () => {
    const reply = await invoke(agent, url(), {
      token,
      body: cmdlet('Search-UnifiedAuditLog', { StartDate: '2026-02-10', EndDate: '2026-02-10T01:00:00', ResultSize: 1 }),
    });
    expect(reply.json().value[0]).toMatchObject({ 'CreationDate@data.type': 'System.DateTime', 'ResultIndex@data.type': 'System.Int32', ResultCount: 120 });
    expect(reply.json()['@adminapi.warnings']).toEqual([]);
  });

  it('selects [a, b) and [b, a record instant c) disjointly, and together exactly [a, c)', async () => {
    const a = '2026-03-05T10:00:00Z';
    const c = '2026-03-05T14:00:00Z';
    const whole = (await all('Search-UnifiedAuditLog', { StartDate: a, EndDate: c, ResultSize: 5000 })).objects;
    // b is exactly the instant of a record, written as .NET writes DateTime: that record belongs to [b, c) only.
    const b = String(whole[200]!['CreationDate']);
    expect(b).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    const before = (await all('Search-UnifiedAuditLog', { StartDate: a, EndDate: b, ResultSize: 5000 })).objects;
    const after = (await all('Search-UnifiedAuditLog', { StartDate: b, EndDate: c, ResultSize: 5000 })).objects;
    expect(before).toHaveLength(200);
    expect(after[0]!['Identity']).toBe(whole[200]!['Identity']);
    const overlap = identities(before).filter((identity) => identities(after).includes(identity));
    expect(overlap).toEqual([]);
    expect([...identities(before), ...identities(after)]).toEqual(identities(whole));
  });

  it('continues a SessionId across calls (ReturnLargeSet) and ends with an empty result', async () => {
    const query = {
      StartDate: '2026-04-01T00:00:00Z',
      EndDate: '2026-04-01T20:00:00Z',
      SessionId: 'export-1',
      SessionCommand: 'ReturnLargeSet',
      ResultSize: 1000,
    };
    const expected = [...data.results('Search-UnifiedAuditLog', { StartDate: query.StartDate, EndDate: query.EndDate, ResultSize: 5000 })];
    const collected: Record<string, unknown>[] = [];
    const sizes: number[] = [];
    for (let call = 0; call < 5; call++) {
      // Each session call is itself paged with nextLinks; the session moves once per call.
      const { objects } = await all('Search-UnifiedAuditLog', query, 300);
      sizes.push(objects.length);
      collected.push(...objects);
    }
    expect(sizes).toEqual([1000, 1000, 400, 0, 0]);
    expect(collected).toEqual(expected);
    // Another session id starts from the beginning.
    const other = await all('Search-UnifiedAuditLog', { ...query, SessionId: 'export-2' });
    expect(identities(other.objects)).toEqual(identities(expected.slice(0, 1000)));
  });

  it('filters by RecordType, Operations and UserIds, and formats AuditData on request', async () => {
    const window = { StartDate: '2026-02-01T00:00:00Z', EndDate: '2026-02-03T00:00:00Z', ResultSize: 5000 };
    const admin = (await all('Search-UnifiedAuditLog', { ...window, RecordType: 'ExchangeAdmin', Formatted: true })).objects;
    expect(admin.length).toBeGreaterThan(0);
    expect(admin.every((object) => object['RecordType'] === 'ExchangeAdmin')).toBe(true);
    expect(JSON.parse(String(admin[0]!['AuditData']))).toMatchObject({ RecordType: 'ExchangeAdmin', UserType: expect.any(String) });
    const logins = (await all('Search-UnifiedAuditLog', { ...window, Operations: ['mailboxlogin', 'UserLoggedIn'] })).objects;
    expect(new Set(logins.map((object) => object['Operations']))).toEqual(new Set(['MailboxLogin', 'UserLoggedIn']));
    const user = String(logins[0]!['UserIds']);
    const mine = (await all('Search-UnifiedAuditLog', { ...window, UserIds: [user.toUpperCase()] })).objects;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((object) => object['UserIds'] === user)).toBe(true);
    expect(mine).toEqual([...data.results('Search-UnifiedAuditLog', { ...window, UserIds: [user] })]);
  });

  it('validates dates, ResultSize and mandatory parameters like the service', async () => {
    const ask = (parameters: Record<string, unknown>): Promise<Reply> => invoke(agent, url(), { token, body: cmdlet('Search-UnifiedAuditLog', parameters) });
    const inverted = await ask({ StartDate: '2026-02-02', EndDate: '2026-02-01' });
    expect(inverted.status).toBe(400);
    expect(inverted.json().error.details[0]?.message).toMatch(/StartDate value must be earlier than the EndDate/);
    expect((await ask({ StartDate: '2026-02-02', EndDate: '2026-02-02' })).status).toBe(400);
    const missing = await ask({ StartDate: '2026-02-02' });
    expect(missing.json().error.details[0]?.message).toMatch(/missing mandatory parameters: EndDate/);
    const tooMany = await ask({ StartDate: '2026-02-01', EndDate: '2026-02-02', ResultSize: 5001 });
    expect(tooMany.json().error.details[0]?.message).toMatch(/The 5001 argument is greater than the maximum allowed range of 5000/);
    const garbage = await ask({ StartDate: 'yesterday', EndDate: '2026-02-02' });
    expect(garbage.json().error.details[0]?.message).toMatch(/Cannot convert value "yesterday" to type "Microsoft\.Exchange\.ExchangeSystem\.ExDateTime"/);
    const usStyle = await ask({ StartDate: '2/1/2026', EndDate: '2/1/2026 1:00 AM', ResultSize: 5000 });
    expect(usStyle.json().value).toHaveLength(120);
    expect((await ask({ StartDate: '2026-02-01', EndDate: '2026-02-02', SessionCommand: 'ReturnEverything' })).status).toBe(400);
  });
});

describe('Search-AdminAuditLog', () => {
  it('returns the ExchangeAdmin records as admin audit entries, equal to TenantData', async () => {
    const window = { StartDate: '2026-02-01T00:00:00Z', EndDate: '2026-02-03T00:00:00Z' };
    const { objects } = await all('Search-AdminAuditLog', window, 100);
    // Under the default ResultSize of 1000, so this is the whole window.
    expect(objects.length).toBeGreaterThan(100);
    expect(objects.length).toBeLessThan(1000);
    expect(objects).toEqual([...data.results('Search-AdminAuditLog', window)]);
    const unified = (await all('Search-UnifiedAuditLog', { ...window, RecordType: 'ExchangeAdmin', ResultSize: 5000 })).objects;
    expect(identities(objects)).toEqual(identities(unified));
    const entry = objects[0]!;
    expect(entry).toMatchObject({
      CmdletName: unified[0]!['Operations'],
      Caller: unified[0]!['UserIds'],
      RunDate: unified[0]!['CreationDate'],
      Succeeded: expect.any(Boolean),
      CmdletParameters: expect.arrayContaining([expect.stringMatching(/^\w+=/)]),
    });
    const skipped = (await all('Search-AdminAuditLog', { ...window, StartIndex: 10, ResultSize: 5 })).objects;
    expect(identities(skipped)).toEqual(identities(objects.slice(10, 15)));
    const failures = (await all('Search-AdminAuditLog', { ...window, IsSuccess: false })).objects;
    expect(failures.every((object) => object['Succeeded'] === false && String(object['Error']).length > 0)).toBe(true);
    const setMailbox = (await all('Search-AdminAuditLog', { ...window, Cmdlets: ['set-mailbox'] })).objects;
    expect(setMailbox.length).toBeGreaterThan(0);
    expect(setMailbox.every((object) => object['CmdletName'] === 'Set-Mailbox')).toBe(true);
  });
});
