import { gunzipSync } from 'node:zlib';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MORE_RESULTS_WARNING, startSimulator, stripAnnotations, type ProvisionedTenant, type Simulator } from '@exorun/simulator';
import { acquireToken, cmdlet, EXO, invoke, invokeUrl, IPPS, trustingAgent, type Reply } from './helpers.js';

let sim: Simulator;
let agent: Agent;
let tenant: ProvisionedTenant;
let other: ProvisionedTenant;
let exoToken: string;
let ippsToken: string;

beforeAll(async () => {
  sim = await startSimulator();
  agent = trustingAgent(sim);
  tenant = await sim.provisionTenant({ organization: 'contoso.onmicrosoft.com', mailboxCount: 50, seed: 4 });
  other = await sim.provisionTenant({ organization: 'big.onmicrosoft.com', mailboxCount: 1200 });
  exoToken = await acquireToken(sim, agent, tenant, EXO);
  ippsToken = await acquireToken(sim, agent, tenant, IPPS);
});

afterAll(async () => {
  await agent.close();
  await sim.close();
});

const exoUrl = (segment = tenant.tenantId): string => invokeUrl(sim.urls.exo, segment);
const ippsRegionalUrl = (): string => invokeUrl(sim.urls.ippsRegional, tenant.tenantId);
const detail = (reply: Reply): string => String(reply.json().error.details[0]?.message);

describe('authentication', () => {
  it('asks for Basic without a bearer', async () => {
    const reply = await invoke(agent, exoUrl(), { body: cmdlet('Get-Mailbox') });
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe('Basic Realm=""');
  });

  it('refuses a token for the wrong audience with a Bearer challenge', async () => {
    const reply = await invoke(agent, exoUrl(), { token: ippsToken, body: cmdlet('Get-Mailbox') });
    expect(reply.status).toBe(401);
    const challenge = String(reply.headers['www-authenticate']);
    expect(challenge).toMatch(
      /^Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@\*", token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="https:\/\/127\.0\.0\.1:\d+\/common\/oauth2\/authorize", error="invalid_token"/,
    );
    const ipps = await invoke(agent, ippsRegionalUrl(), { token: exoToken, body: cmdlet('Get-RetentionCompliancePolicy') });
    expect(ipps.status).toBe(401);
    expect(ipps.headers['www-authenticate']).toMatch(/client_id="00000007-0000-0ff1-ce00-000000000000"/);
  });

  it('treats tokens it did not sign as EXO 401 and IPPS 500 (unparsable) or 401 (parsable)', async () => {
    expect((await invoke(agent, exoUrl(), { token: 'garbage', body: cmdlet('Get-Mailbox') })).status).toBe(401);
    const unparsable = await invoke(agent, ippsRegionalUrl(), { token: 'garbage', body: cmdlet('Get-RetentionCompliancePolicy') });
    expect(unparsable.status).toBe(500);
    expect(unparsable.headers['www-authenticate']).toBeUndefined();
    const [head, body] = ippsToken.split('.');
    const forged = await invoke(agent, ippsRegionalUrl(), { token: `${head}.${body}.AAAA`, body: cmdlet('Get-RetentionCompliancePolicy') });
    expect(forged.status).toBe(401);
    expect(forged.headers['www-authenticate']).toMatch(/^Bearer client_id="00000007-0000-0ff1-ce00-000000000000"/);
  });

  it("refuses another tenant's token", async () => {
    const reply = await invoke(agent, invokeUrl(sim.urls.exo, other.tenantId), { token: exoToken, body: cmdlet('Get-Mailbox') });
    expect(reply.status).toBe(401);
  });
});

describe('InvokeCommand', () => {
  it('answers with the service headers and annotated objects', async () => {
    const reply = await invoke(agent, exoUrl(), {
      token: exoToken,
      body: cmdlet('Get-Mailbox', { ResultSize: 2 }),
      headers: { 'client-request-id': 'abc-123' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8');
    expect(reply.headers['odata-version']).toBe('4.0');
    expect(reply.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(reply.headers['client-request-id']).toBe('abc-123');
    expect(reply.headers['rate-limit-limit']).toBe('30000');
    expect(Number(reply.headers['rate-limit-remaining'])).toBeLessThan(30000);
    expect(new Date(String(reply.headers['rate-limit-reset'])).getTime()).toBeGreaterThan(Date.now() - 1000);
    expect(reply.headers['x-concurrencycount']).toBe('0');
    expect(reply.headers['cache-control']).toBe('no-cache');
    const body = reply.json();
    expect(body['@odata.context']).toBe(`${sim.urls.exo}/adminapi/beta/${tenant.tenantId}/$metadata#Collection(Exchange.GenericHashTable)`);
    expect(body['adminapi.warnings@odata.type']).toBe('#Collection(String)');
    expect(body['@adminapi.warnings']).toEqual([]);
    expect(body['@odata.nextLink']).toBeUndefined();
    const first = body.value[0]!;
    expect(first['EmailAddresses@odata.type']).toBe('#Collection(String)');
    expect(first['ExchangeGuid@data.type']).toBe('System.Guid');
    expect(first['ExchangeGuid@odata.type']).toBe('#Guid');
    expect(first['WhenCreated@data.type']).toBe('System.DateTime');
    expect(first['WhenCreated']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$/);
    expect(first['WhenChangedUTC']).toMatch(/\.\d{7}Z$/);
    expect(first['ProhibitSendQuota']).toMatch(/^[\d.]+ GB \([\d,]+ bytes\)$/);
    const expected = [...sim.tenantData(tenant.organization)!.results('Get-Mailbox', { ResultSize: 2 })];
    expect(body.value.map(stripAnnotations)).toEqual(expected);
  });

  it('accepts the tenant as domain, case-insensitive names and a missing Parameters', async () => {
    const reply = await invoke(agent, exoUrl('Contoso.OnMicrosoft.com'), { token: exoToken, body: { CmdletInput: { CmdletName: 'get-organizationconfig' } } });
    expect(reply.status).toBe(200);
    expect(reply.json().value).toHaveLength(1);
    expect(reply.json()['@odata.context']).toContain('/adminapi/beta/Contoso.OnMicrosoft.com/$metadata');
  });

  it('pages with maxpagesize 7 over 50 mailboxes and returns exactly the expected objects', async () => {
    const body = cmdlet('Get-Mailbox', { ResultSize: 'Unlimited' });
    const objects: Record<string, unknown>[] = [];
    let url: string | undefined = exoUrl();
    let pages = 0;
    while (url) {
      const reply = await invoke(agent, url, { token: exoToken, body, headers: { prefer: 'odata.maxpagesize=7' } });
      expect(reply.status).toBe(200);
      const page = reply.json();
      expect(page['@adminapi.warnings']).toEqual([]);
      expect(page.value.length).toBeLessThanOrEqual(7);
      objects.push(...page.value.map(stripAnnotations));
      url = page['@odata.nextLink'];
      if (url) {
        expect(new URL(url).origin).toBe(sim.urls.exo);
        expect(url).toMatch(/\/adminapi\/beta\/[^/]+\/InvokeCommand\?\$skiptoken=[\w-]+$/);
      }
      pages++;
    }
    expect(pages).toBe(8);
    expect(objects).toEqual([...sim.tenantData(tenant.tenantId)!.results('Get-Mailbox', { ResultSize: 'Unlimited' })]);
    const calls = sim.recorder
      .calls()
      .filter((call) => call.cmdlet === 'Get-Mailbox' && call.status === 200)
      .slice(-8);
    expect(calls.map((call) => call.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('refuses a nextLink with a different body', async () => {
    const first = await invoke(agent, exoUrl(), { token: exoToken, body: cmdlet('Get-Mailbox'), headers: { prefer: 'odata.maxpagesize=10' } });
    const next = first.json()['@odata.nextLink'] as string;
    const changed = await invoke(agent, next, {
      token: exoToken,
      body: cmdlet('Get-Mailbox', { ResultSize: 'Unlimited' }),
      headers: { prefer: 'odata.maxpagesize=10' },
    });
    expect(changed.status).toBe(400);
    expect(detail(changed)).toBe(
      'Ex' +
        detail(changed).slice(2, 8) +
        '|Microsoft.Exchange.Admin.OData.Core.ODataServiceException|Expired or Invalid pagination request. Default Expiry time is 00:30:00',
    );
    const made = await invoke(agent, `${exoUrl()}?$skiptoken=made-up`, { token: exoToken, body: cmdlet('Get-Mailbox') });
    expect(made.status).toBe(400);
  });

  it('keeps $select across pages and trims objects', async () => {
    const body = cmdlet('Get-Mailbox', { ResultSize: 10 });
    const first = await invoke(agent, `${exoUrl()}?$select=UserPrincipalName,emailaddresses`, {
      token: exoToken,
      body,
      headers: { prefer: 'odata.maxpagesize=6' },
    });
    const page = first.json();
    expect(Object.keys(page.value[0]!)).toEqual(['UserPrincipalName', 'EmailAddresses@odata.type', 'EmailAddresses']);
    const next = page['@odata.nextLink'] as string;
    expect(next).toContain('$select=UserPrincipalName,emailaddresses&$skiptoken=');
    const second = (await invoke(agent, next, { token: exoToken, body, headers: { prefer: 'odata.maxpagesize=6' } })).json();
    expect(second.value).toHaveLength(4);
    expect(second['@odata.nextLink']).toBeUndefined();
    expect(Object.keys(second.value[0]!)).toHaveLength(3);
  });

  it('caps list cmdlets at 1000 without ResultSize and warns on the last page', async () => {
    const token = await acquireToken(sim, agent, other, EXO);
    const body = cmdlet('Get-Mailbox');
    const one = (await invoke(agent, invokeUrl(sim.urls.exo, other.tenantId), { token, body })).json();
    expect(one.value).toHaveLength(1000);
    expect(one['@odata.nextLink']).toBeUndefined();
    expect(one['@adminapi.warnings']).toEqual([MORE_RESULTS_WARNING]);
    const first = (await invoke(agent, invokeUrl(sim.urls.exo, other.tenantId), { token, body, headers: { prefer: 'odata.maxpagesize=600' } })).json();
    expect(first['@adminapi.warnings']).toEqual([]);
    const second = (await invoke(agent, first['@odata.nextLink']!, { token, body, headers: { prefer: 'odata.maxpagesize=600' } })).json();
    expect(second.value).toHaveLength(400);
    expect(second['@adminapi.warnings']).toEqual([MORE_RESULTS_WARNING]);
    expect(second['@odata.nextLink']).toBeUndefined();
    const unlimited = (
      await invoke(agent, invokeUrl(sim.urls.exo, other.tenantId), { token, body: cmdlet('Get-Mailbox', { ResultSize: 'Unlimited' }) })
    ).json();
    expect(unlimited['@odata.nextLink']).toBeDefined();
  });

  it('gzips for clients that accept it', async () => {
    const reply = await invoke(agent, exoUrl(), { token: exoToken, body: cmdlet('Get-AcceptedDomain'), headers: { 'accept-encoding': 'gzip' } });
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(reply.raw).toString('utf8')).value).toHaveLength(3);
  });
});

describe('errors', () => {
  it('EXO: unknown cmdlet is 403 with NUL bytes under a false gzip label', async () => {
    for (const name of ['Get-Foo', 'Get-RetentionCompliancePolicy']) {
      const reply = await invoke(agent, exoUrl(), { token: exoToken, body: cmdlet(name) });
      expect(reply.status).toBe(403);
      expect(reply.headers['content-encoding']).toBe('gzip');
      expect(reply.raw.length).toBeGreaterThan(0);
      expect([...reply.raw].every((byte) => byte === 0)).toBe(true);
      expect(() => gunzipSync(reply.raw)).toThrow();
    }
  });

  it('IPPS: unknown cmdlet is 403 JSON naming it', async () => {
    const reply = await invoke(agent, ippsRegionalUrl(), { token: ippsToken, body: cmdlet('Get-Mailbox') });
    expect(reply.status).toBe(403);
    expect(reply.json().error.code).toBe('Forbidden');
    expect(reply.json().error.message).toMatch(/^The term 'Get-Mailbox' is not recognized as a name of a cmdlet/);
    expect(detail(reply)).toMatch(/\|System\.Management\.Automation\.CommandNotFoundException\|The term 'Get-Mailbox'/);
  });

  it('unknown parameter is 400 in format A, or B when configured', async () => {
    const reply = await invoke(agent, exoUrl(), { token: exoToken, body: cmdlet('Get-Mailbox', { Foo: 'x' }) });
    expect(reply.status).toBe(400);
    expect(reply.json().error).toMatchObject({ code: 'BadRequest', message: 'Error executing cmdlet' });
    expect(detail(reply)).toBe(
      "Ex2F5D1A|System.Management.Automation.ParameterBindingException|A parameter cannot be found that matches parameter name 'Foo'.",
    );
    expect(reply.json().error.innererror).toBeDefined();
    sim.configure({ errorFormat: 'B' }, tenant.organization);
    try {
      const b = await invoke(agent, exoUrl(), { token: exoToken, body: cmdlet('Get-Mailbox', { Foo: 'x' }) });
      expect(JSON.parse(detail(b))).toEqual({
        Message: "A parameter cannot be found that matches parameter name 'Foo'.",
        TypeName: 'System.Management.Automation.ParameterBindingException',
        StackTrace: null,
        InnerError: null,
      });
    } finally {
      sim.configure({ errorFormat: 'A' }, tenant.organization);
    }
  });

  it('missing object is 404', async () => {
    const reply = await invoke(agent, exoUrl(), { token: exoToken, body: cmdlet('Get-Mailbox', { Identity: 'nobody' }) });
    expect(reply.status).toBe(404);
    expect(reply.json().error.code).toBe('NotFound');
    expect(detail(reply)).toMatch(
      /^Ex6F9304\|Microsoft\.Exchange\.Configuration\.Tasks\.ManagementObjectNotFoundException\|The operation couldn't be performed because object 'nobody' couldn't be found on '.+\.PROD\.OUTLOOK\.COM'\.$/,
    );
  });

  it('bad bodies are 400 envelopes', async () => {
    expect((await invoke(agent, exoUrl(), { token: exoToken, rawBody: '{not json' })).status).toBe(400);
    expect((await invoke(agent, exoUrl(), { token: exoToken, body: { Cmdlet: 'x' } })).json().error.code).toBe('BadRequest');
  });

  it('only beta answers InvokeCommand', async () => {
    const v1 = await invoke(agent, `${sim.urls.exo}/adminapi/v1.0/${tenant.tenantId}/InvokeCommand`, { token: exoToken, body: cmdlet('Get-Mailbox') });
    expect(v1.status).toBe(405);
    expect((await invoke(agent, `${sim.urls.exo}/somewhere`, { token: exoToken })).status).toBe(404);
    expect((await invoke(agent, exoUrl(), { token: exoToken, method: 'GET' })).status).toBe(405);
  });
});

describe('IPPS', () => {
  it('redirects the global host to the regional one, which serves the cmdlets', async () => {
    const global = `${invokeUrl(sim.urls.ipps, tenant.tenantId)}?$select=Name`;
    const anonymous = await invoke(agent, global, { body: cmdlet('Get-RetentionCompliancePolicy') });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic/);
    const redirect = await invoke(agent, global, { token: ippsToken, body: cmdlet('Get-RetentionCompliancePolicy') });
    expect(redirect.status).toBe(302);
    const location = String(redirect.headers['location']);
    expect(location).toBe(`${sim.urls.ippsRegional}/adminapi/beta/${tenant.tenantId}/InvokeCommand?$select=Name`);
    const reply = await invoke(agent, location, { token: ippsToken, body: cmdlet('Get-RetentionCompliancePolicy') });
    expect(reply.status).toBe(200);
    const expected = [...sim.tenantData(tenant.organization)!.results('Get-RetentionCompliancePolicy')].map((policy) => ({ Name: policy['Name'] }));
    expect(reply.json().value).toEqual(expected);
    expect(sim.recorder.stats(tenant.tenantId, 'ipps').byStatus['302']).toBeGreaterThanOrEqual(1);
    const full = await invoke(agent, ippsRegionalUrl(), { token: ippsToken, body: cmdlet('Get-DlpCompliancePolicy') });
    expect(full.json().value[0]?.['Guid@odata.type']).toBe('#Guid');
  });
});
