import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/core/errors.js';
import type {
  AccessToken,
  CloudEndpoints,
  HttpRequest,
  HttpResponse,
  HttpTransport,
  RequestGate,
  TokenProvider,
  TokenRequest,
} from '../../../src/core/ports.js';
import { RETRY_LIMITS } from '../../../src/core/retry-policy.js';
import { createExchangeClient } from '../../../src/exchange/exchange-client.js';

const endpoints: Pick<CloudEndpoints, 'exo' | 'ipps'> = {
  exo: { baseUrl: 'https://outlook.office365.com', resource: 'https://outlook.office365.com', trustedHosts: ['outlook.office365.com'] },
  ipps: {
    baseUrl: 'https://ps.compliance.protection.outlook.com',
    resource: 'https://ps.compliance.protection.outlook.com',
    trustedHosts: ['ps.compliance.protection.outlook.com', '*.ps.compliance.protection.outlook.com'],
  },
};
const tenantId = '6f1c2d3e-0000-4000-8000-0000000000e0';

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': 'application/json', 'request-id': `r-${Math.random()}`, ...headers }, body: Buffer.from(JSON.stringify(body)) };
}

/** A transport that answers from a script and records what was sent where. */
function scriptedTransport(answer: (request: HttpRequest, index: number) => HttpResponse | Error): HttpTransport & { sent: HttpRequest[] } {
  const sent: HttpRequest[] = [];
  return {
    sent,
    async request(request) {
      sent.push(request);
      const result = answer(request, sent.length - 1);
      if (result instanceof Error) throw result;
      return result;
    },
    async close() {},
  };
}

function tokens(): TokenProvider & { requests: TokenRequest[] } {
  const requests: TokenRequest[] = [];
  let counter = 0;
  return {
    mode: 'app-only',
    requests,
    async getToken(request): Promise<AccessToken> {
      requests.push(request);
      // Like the real providers: the same token until a renewal is forced.
      if (counter === 0 || request.forceRefresh) counter += 1;
      return { token: `token-${counter}`, expiresOnMs: Date.now() + 3_600_000, tenantId };
    },
  };
}

const noSleep = async (): Promise<void> => {};

/** A request gate that records what it was asked and told; `admit` may throw to refuse. */
function fakeGate(onAdmit: () => void = () => undefined): RequestGate & { admits: { maxWaitMs: number }[]; throttles: number[] } {
  const admits: { maxWaitMs: number }[] = [];
  const throttles: number[] = [];
  return {
    admits,
    throttles,
    async admit(options) {
      admits.push({ maxWaitMs: options.maxWaitMs });
      onAdmit();
    },
    throttled(waitMs) {
      throttles.push(waitMs);
    },
  };
}
const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
};

describe('exchange client', () => {
  it('sends the documented request and follows nextLinks with the identical body', async () => {
    const transport = scriptedTransport((request, index) =>
      index === 0
        ? json(200, {
            value: [{ Name: 'a' }],
            '@adminapi.warnings': [],
            '@odata.nextLink': `https://outlook.office365.com/adminapi/beta/${tenantId}/InvokeCommand?$skiptoken=x`,
          })
        : json(200, { value: [{ Name: 'b' }], '@adminapi.warnings': ['careful'] }),
    );
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    const pages = await collect(
      client.invoke({
        tenant: 'contoso.onmicrosoft.com',
        service: 'exo',
        cmdlet: 'Get-Mailbox',
        parameters: { ResultSize: 'Unlimited' },
        select: ['Name'],
        pageSize: 500,
      }),
    );
    expect(pages.map((page) => page.objects)).toEqual([[{ Name: 'a' }], [{ Name: 'b' }]]);
    expect(pages[1]!.warnings).toEqual(['careful']);
    const [first, second] = transport.sent;
    expect(first!.url).toBe(`https://outlook.office365.com/adminapi/beta/${tenantId}/InvokeCommand?$select=Name`);
    expect(first!.method).toBe('POST');
    expect(JSON.parse(first!.body!)).toEqual({ CmdletInput: { CmdletName: 'Get-Mailbox', Parameters: { ResultSize: 'Unlimited' } } });
    expect(first!.headers).toMatchObject({
      authorization: 'Bearer token-1',
      prefer: 'odata.maxpagesize=500',
      'x-anchormailbox': `APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@${tenantId}`,
      'x-cmdletname': 'Get-Mailbox',
    });
    expect(second!.body).toBe(first!.body);
    expect(second!.headers!['connection-id']).toBe(first!.headers!['connection-id']);
    expect(second!.headers!['client-request-id']).not.toBe(first!.headers!['client-request-id']);
  });

  it('asks for a token before every page, so expiry is handled between pages', async () => {
    const provider = tokens();
    const transport = scriptedTransport((_request, index) =>
      json(200, {
        value: [{ i: index }],
        ...(index < 2 ? { '@odata.nextLink': `https://outlook.office365.com/adminapi/beta/t/InvokeCommand?$skiptoken=${index}` } : {}),
      }),
    );
    const client = createExchangeClient({ endpoints, tokens: provider, transport, sleep: noSleep });
    await collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }));
    // One to learn the tenant id, then one before each of the three requests.
    expect(transport.sent.length).toBe(3);
    expect(provider.requests.length).toBe(4);
    expect(provider.requests.every((request) => !request.forceRefresh)).toBe(true);
  });

  it('never sends the token to a nextLink outside the tenant’s cloud', async () => {
    const transport = scriptedTransport(() => json(200, { value: [], '@odata.nextLink': 'https://attacker.example/adminapi/beta/t/InvokeCommand' }));
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    await expect(collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }))).rejects.toMatchObject({
      code: 'EXO_UNTRUSTED_HOST',
    });
    expect(transport.sent.map((request) => new URL(request.url).host)).toEqual(['outlook.office365.com']);
  });

  it('follows the IPPS redirect to the regional host once and remembers it', async () => {
    const transport = scriptedTransport((request) =>
      new URL(request.url).host === 'ps.compliance.protection.outlook.com'
        ? {
            status: 302,
            headers: { location: `https://nam12b.ps.compliance.protection.outlook.com/adminapi/beta/${tenantId}/InvokeCommand` },
            body: Buffer.alloc(0),
          }
        : json(200, { value: [{ Name: 'policy' }] }),
    );
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    const request = { tenant: 't', service: 'ipps' as const, cmdlet: 'Get-RetentionCompliancePolicy', parameters: {} };
    expect((await collect(client.invoke(request)))[0]!.objects).toEqual([{ Name: 'policy' }]);
    await collect(client.invoke(request));
    expect(transport.sent.map((sent) => new URL(sent.url).host)).toEqual([
      'ps.compliance.protection.outlook.com',
      'nam12b.ps.compliance.protection.outlook.com',
      'nam12b.ps.compliance.protection.outlook.com',
    ]);
    expect(transport.sent[1]!.headers!['authorization']).toBe('Bearer token-1');
  });

  it('gives up on a chain of redirects within the cloud, saying so', async () => {
    const transport = scriptedTransport(() => ({
      status: 302,
      headers: { location: 'https://nam12b.ps.compliance.protection.outlook.com/adminapi/beta/t/InvokeCommand' },
      body: Buffer.alloc(0),
    }));
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    await expect(collect(client.invoke({ tenant: 't', service: 'ipps', cmdlet: 'Get-DlpCompliancePolicy', parameters: {} }))).rejects.toMatchObject({
      code: 'EXO_BAD_RESPONSE',
      retryable: false,
      message: expect.stringContaining('kept redirecting'),
    });
    expect(transport.sent).toHaveLength(4);
  });

  it('does not repeat a request the service answered with a status the protocol does not have', async () => {
    const transport = scriptedTransport(() => json(409, { error: { code: 'Conflict', message: 'conflict' } }));
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    await expect(collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }))).rejects.toMatchObject({
      code: 'EXO_BAD_RESPONSE',
      retryable: false,
    });
    expect(transport.sent).toHaveLength(1);
  });

  it('gives the cmdlets the module lets run longer their longer timeout', async () => {
    const transport = scriptedTransport(() => json(200, { value: [] }));
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    await collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-DistributionGroupMember', parameters: { Identity: 'g' } }));
    await collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }));
    expect(transport.sent.map((request) => request.timeoutMs)).toEqual([3_660_000, 960_000]);
  });

  it('refuses a redirect outside the cloud without sending the token there', async () => {
    const transport = scriptedTransport(() => ({ status: 302, headers: { location: 'https://evil.example/x' }, body: Buffer.alloc(0) }));
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    await expect(collect(client.invoke({ tenant: 't', service: 'ipps', cmdlet: 'Get-DlpCompliancePolicy', parameters: {} }))).rejects.toMatchObject({
      code: 'EXO_UNTRUSTED_HOST',
    });
    expect(transport.sent).toHaveLength(1);
  });

  it('refreshes the token once after a 401, passing a CAE claims challenge, then gives up', async () => {
    const claims = '{"access_token":{"nbf":{"essential":true,"value":"1"}}}';
    const provider = tokens();
    const challenge = { 'www-authenticate': `Bearer error="insufficient_claims", claims="${Buffer.from(claims).toString('base64')}"` };
    const transport = scriptedTransport((_request, index) => (index === 0 ? json(401, {}, challenge) : json(200, { value: [{ ok: true }] })));
    const client = createExchangeClient({ endpoints, tokens: provider, transport, sleep: noSleep });
    expect((await collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} })))[0]!.objects).toEqual([{ ok: true }]);
    expect(provider.requests[2]).toMatchObject({ forceRefresh: true, claims });
    expect(transport.sent[1]!.headers!['authorization']).toBe('Bearer token-2');

    const always401 = createExchangeClient({ endpoints, tokens: tokens(), transport: scriptedTransport(() => json(401, {})), sleep: noSleep });
    await expect(collect(always401.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }))).rejects.toMatchObject({
      code: 'EXO_UNAUTHORIZED',
      retryable: false,
    });
  });

  it('without a gate, waits as long as Retry-After says (plus a spread) in place, and hands longer waits back', async () => {
    const waits: number[] = [];
    const throttles: number[] = [];
    const sleep = async (ms: number): Promise<void> => void waits.push(ms);
    const transport = scriptedTransport((_request, index) =>
      index < 2 ? json(429, { error: { code: 'TooManyRequests', message: 'slow' } }, { 'retry-after': '1.5' }) : json(200, { value: [] }),
    );
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep, onThrottle: (event) => void throttles.push(event.waitMs) });
    await collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }));
    expect(waits).toHaveLength(2);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(1500);
    expect(throttles).toEqual([1500, 1500]);

    const long = createExchangeClient({ endpoints, tokens: tokens(), transport: scriptedTransport(() => json(429, {}, { 'retry-after': '120' })), sleep });
    await expect(collect(long.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }))).rejects.toMatchObject({
      code: 'EXO_THROTTLED',
      retryAfterMs: 120_000,
    });
  });

  it('retries a page that failed with an HTML or plain-text 5xx in place, re-posting the same cursor', async () => {
    const nextLink = `https://outlook.office365.com/adminapi/beta/${tenantId}/InvokeCommand?$skiptoken=page2`;
    const html = (status: number): HttpResponse => ({
      status,
      headers: { 'content-type': 'text/html' },
      body: Buffer.from(`<html><body><h2>${status} - Internal server error.</h2></body></html>`),
    });
    const answers: (HttpResponse | Error)[] = [
      json(200, { value: [{ i: 1 }], '@odata.nextLink': nextLink }),
      html(500),
      { status: 502, headers: {}, body: Buffer.alloc(0) },
      { status: 200, headers: { 'content-type': 'text/html' }, body: Buffer.from('<html>not json</html>') },
      json(200, { value: [{ i: 2 }] }),
    ];
    const waits: number[] = [];
    const transport = scriptedTransport((_request, index) => answers[index] ?? new Error('unexpected request'));
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: async (ms) => void waits.push(ms) });
    const pages = await collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }));
    expect(pages.flatMap((page) => page.objects)).toEqual([{ i: 1 }, { i: 2 }]);
    expect(transport.sent.map((request) => request.url)).toEqual([transport.sent[0]!.url, nextLink, nextLink, nextLink, nextLink]);
    expect(new Set(transport.sent.map((request) => request.body)).size).toBe(1);
    // Backoff with jitter, growing: 1 s, 2 s, 4 s (+ up to 20 %).
    expect(waits).toHaveLength(3);
    expect(waits[0]).toBeGreaterThanOrEqual(1_000);
    expect(waits[1]).toBeGreaterThanOrEqual(2_000);
    expect(waits[2]).toBeGreaterThanOrEqual(4_000);
  });

  it('gives up on a page after the policy’s transient retries, with the service’s error', async () => {
    const transport = scriptedTransport(() => ({ status: 500, headers: {}, body: Buffer.from('Internal Server Error') }));
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    await expect(collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }))).rejects.toMatchObject({
      code: 'EXO_SERVER_ERROR',
    });
    expect(transport.sent).toHaveLength(1 + RETRY_LIMITS.requestRetries);
  });

  it('does not send a write again after a 5xx that may have reached the service', async () => {
    const transport = scriptedTransport(() => ({ status: 500, headers: {}, body: Buffer.from('Internal Server Error') }));
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    await expect(collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Set-Mailbox', parameters: { Identity: 'x' } }))).rejects.toMatchObject({
      code: 'EXO_SERVER_ERROR',
    });
    expect(transport.sent).toHaveLength(1);
  });

  it('asks the gate before every request and tells it about throttling; nothing is sent when it refuses', async () => {
    const nextLink = `https://outlook.office365.com/adminapi/beta/${tenantId}/InvokeCommand?$skiptoken=2`;
    const transport = scriptedTransport((_request, index) =>
      index === 0
        ? json(200, { value: [{ i: 1 }], '@odata.nextLink': nextLink })
        : index === 1
          ? json(429, {}, { 'retry-after': '2' })
          : index === 2
            ? { status: 503, headers: { 'retry-after': 'Wed, 21 Oct 2099 07:28:00 GMT' }, body: Buffer.from('busy') }
            : json(200, { value: [{ i: 2 }] }),
    );
    const gate = fakeGate();
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    const pages = await collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }, { gate }));
    expect(pages.flatMap((page) => page.objects)).toEqual([{ i: 1 }, { i: 2 }]);
    expect(gate.admits).toHaveLength(transport.sent.length);
    expect(gate.throttles[0]).toBe(2_000);
    expect(gate.throttles[1]).toBeGreaterThan(1_000_000);
    // A live cursor is worth waiting for: the limit of the in-place wait grows beyond the first page's.
    expect(gate.admits[0]!.maxWaitMs).toBe(RETRY_LIMITS.maxInPlaceWaitMs);
    expect(gate.admits.at(-1)!.maxWaitMs).toBeGreaterThan(RETRY_LIMITS.maxInPlaceWaitMs);

    const refusing = fakeGate(() => {
      throw new AppError('EXO_THROTTLED', 'cooling down', { retryAfterMs: 60_000 });
    });
    const idle = scriptedTransport(() => json(200, { value: [] }));
    await expect(
      collect(
        createExchangeClient({ endpoints, tokens: tokens(), transport: idle, sleep: noSleep }).invoke(
          { tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} },
          { gate: refusing },
        ),
      ),
    ).rejects.toMatchObject({ code: 'EXO_THROTTLED', retryAfterMs: 60_000 });
    expect(idle.sent).toHaveLength(0);
  });

  it('keeps waiting on a next page while its cursor lives, beyond the refusals a first page gets', async () => {
    const nextLink = `https://outlook.office365.com/adminapi/beta/${tenantId}/InvokeCommand?$skiptoken=2`;
    const refusals = RETRY_LIMITS.firstPageThrottleRetries + 3;
    const transport = scriptedTransport((_request, index) =>
      index === 0
        ? json(200, { value: [{ i: 1 }], '@odata.nextLink': nextLink })
        : index <= refusals
          ? json(429, {}, { 'retry-after': '1' })
          : json(200, { value: [{ i: 2 }] }),
    );
    const gate = fakeGate();
    const pages = await collect(
      createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep }).invoke(
        { tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} },
        { gate },
      ),
    );
    expect(pages.flatMap((page) => page.objects)).toEqual([{ i: 1 }, { i: 2 }]);
    // The first page was never asked for again: nothing was served twice.
    expect(transport.sent.filter((request) => request.url !== nextLink)).toHaveLength(1);

    const firstPage = scriptedTransport(() => json(429, {}, { 'retry-after': '1' }));
    await expect(
      collect(
        createExchangeClient({ endpoints, tokens: tokens(), transport: firstPage, sleep: noSleep }).invoke(
          { tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} },
          { gate: fakeGate() },
        ),
      ),
    ).rejects.toMatchObject({ code: 'EXO_THROTTLED' });
    expect(firstPage.sent).toHaveLength(1 + RETRY_LIMITS.firstPageThrottleRetries);
  });

  it('retries reads after network failures but never re-sends a write', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'UND_ERR_SOCKET' });
    const reads = scriptedTransport((_request, index) => (index === 0 ? reset : json(200, { value: [] })));
    await collect(
      createExchangeClient({ endpoints, tokens: tokens(), transport: reads, sleep: noSleep }).invoke({
        tenant: 't',
        service: 'exo',
        cmdlet: 'Get-Mailbox',
        parameters: {},
      }),
    );
    expect(reads.sent).toHaveLength(2);

    const writes = scriptedTransport(() => reset);
    await expect(
      collect(
        createExchangeClient({ endpoints, tokens: tokens(), transport: writes, sleep: noSleep }).invoke({
          tenant: 't',
          service: 'exo',
          cmdlet: 'Set-Mailbox',
          parameters: { Identity: 'x' },
        }),
      ),
    ).rejects.toMatchObject({ code: 'EXO_UNAVAILABLE' });
    expect(writes.sent).toHaveLength(1);
  });

  it('enforces a numeric ResultSize itself and stops paging', async () => {
    const transport = scriptedTransport(() => json(200, { value: [{ i: 1 }, { i: 2 }, { i: 3 }], '@odata.nextLink': 'https://outlook.office365.com/next' }));
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    const pages = await collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: { ResultSize: 2 } }));
    expect(pages.flatMap((page) => page.objects)).toEqual([{ i: 1 }, { i: 2 }]);
    expect(transport.sent).toHaveLength(1);
  });

  it('stops as soon as the gate says the slot is lost', async () => {
    let allowed = 2;
    const transport = scriptedTransport(() => json(200, { value: [{}], '@odata.nextLink': 'https://outlook.office365.com/next' }));
    const client = createExchangeClient({ endpoints, tokens: tokens(), transport, sleep: noSleep });
    const gate = fakeGate(() => {
      if (allowed-- <= 0) throw new AppError('LIMIT_LEASE_LOST', 'lost');
    });
    await expect(collect(client.invoke({ tenant: 't', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {} }, { gate }))).rejects.toMatchObject({
      code: 'LIMIT_LEASE_LOST',
    });
    expect(transport.sent).toHaveLength(2);
  });
});
