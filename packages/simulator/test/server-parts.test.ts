import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCursorStore } from '../src/admin-api/cursors.js';
import { envelopeResponse, gatewayErrorResponse, paginationError, serverErrorResponse } from '../src/admin-api/envelope.js';
import { createFaultInjector, retryAfter } from '../src/admin-api/faults.js';
import { maxPageSize } from '../src/admin-api/invoke.js';
import { notFoundError } from '../src/cmdlets/cmdlet-error.js';
import { annotate, selectProperties, stripAnnotations } from '../src/data/property-types.js';
import { formatByteQuantity, formatDateTime } from '../src/data/format.js';
import { createTokenSigner } from '../src/jwt.js';
import { createRecorder } from '../src/recorder.js';
import { effectiveSettings, parseTenantSettings } from '../src/settings.js';

describe('error envelopes', () => {
  const error = notFoundError('nobody', 'XYZP123A001DC01.NAMPRD01.PROD.OUTLOOK.COM');

  it('writes format A', () => {
    const response = envelopeResponse(error, 'A');
    expect(response.status).toBe(404);
    const body = JSON.parse(String(response.body));
    expect(body.error.code).toBe('NotFound');
    expect(body.error.message).toBe('Error executing cmdlet');
    expect(body.error.details[0].message).toBe(
      "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'nobody' couldn't be found on 'XYZP123A001DC01.NAMPRD01.PROD.OUTLOOK.COM'.",
    );
    expect(body.error.innererror.type).toBe('Microsoft.Exchange.Admin.OData.Core.ODataServiceException');
    expect(body.error.innererror.internalexception.message).toMatch(/couldn't be found/);
  });

  it('writes format B as a JSON string', () => {
    const body = JSON.parse(String(envelopeResponse(error, 'B').body)) as { error: { details: { message: string }[] } };
    expect(JSON.parse(body.error.details[0]!.message)).toEqual({
      Message: error.text,
      TypeName: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
      StackTrace: null,
      InnerError: null,
    });
  });

  it('has the pagination text', () => {
    expect(paginationError().text).toBe('Expired or Invalid pagination request. Default Expiry time is 00:30:00');
  });
});

describe('annotations', () => {
  it('annotates by kind, skips nulls, and strips back to the plain object', () => {
    const plain = { A: ['x'], G: '8c1d…', D: '2022-09-21T08:07:47.0000000+00:00', I: 5, S: 'text', N: null };
    const wire = annotate(plain, { A: 'strings', G: 'guid', D: 'datetime', I: 'int32', N: 'guid' });
    expect(wire).toEqual({
      'A@odata.type': '#Collection(String)',
      A: ['x'],
      'G@data.type': 'System.Guid',
      'G@odata.type': '#Guid',
      G: '8c1d…',
      'D@data.type': 'System.DateTime',
      D: plain.D,
      'I@data.type': 'System.Int32',
      I: 5,
      S: 'text',
      N: null,
    });
    expect(Object.keys(wire).indexOf('A@odata.type')).toBeLessThan(Object.keys(wire).indexOf('A'));
    expect(stripAnnotations(wire)).toEqual(plain);
    expect(selectProperties(plain, new Set(['a', 's']))).toEqual({ A: ['x'], S: 'text' });
  });

  it('formats Exchange values', () => {
    expect(formatByteQuantity(99 * 1024 ** 3)).toBe('99 GB (106,300,440,576 bytes)');
    expect(formatByteQuantity(49.5 * 1024 ** 3)).toBe('49.5 GB (53,150,220,288 bytes)');
    expect(formatDateTime(Date.UTC(2022, 8, 21, 8, 7, 47))).toBe('2022-09-21T08:07:47.0000000+00:00');
    expect(formatDateTime(Date.UTC(2022, 8, 21, 8, 7, 47), 'utc')).toBe('2022-09-21T08:07:47.0000000Z');
  });
});

describe('paging parts', () => {
  it('reads Prefer: odata.maxpagesize', () => {
    expect(maxPageSize(undefined)).toBe(1000);
    expect(maxPageSize('odata.maxpagesize=7')).toBe(7);
    expect(maxPageSize('odata.include-annotations="*", odata.maxpagesize=1')).toBe(1);
    expect(maxPageSize('odata.maxpagesize=5000')).toBe(1000);
    expect(maxPageSize('odata.maxpagesize=0')).toBe(1000);
  });

  it('lets a cursor be read any number of times until it expires (no short replay window)', () => {
    let now = 0;
    const store = createCursorStore({ ttlMs: 1_800_000, now: () => now });
    const state = { tenantId: 't', service: 'ipps' as const, bodyHash: 'h', position: 3, emitted: 3, page: 2 };
    const token = store.create(state);
    for (const at of [0, 1, 60_000, 61_000, 1_799_999]) {
      now = at;
      expect(store.use(token, { tenantId: 't', service: 'ipps', bodyHash: 'h' })).toEqual(state);
    }
    now = 1_800_000;
    expect(store.use(token, { tenantId: 't', service: 'ipps', bodyHash: 'h' })).toBeUndefined();
  });

  it('keeps cursors per tenant, service and body, expires and evicts them', () => {
    let now = 1_000;
    const store = createCursorStore({ ttlMs: 100, maxEntries: 3, now: () => now });
    const state = { tenantId: 't', service: 'exo' as const, bodyHash: 'h', position: 7, emitted: 7, page: 2 };
    const token = store.create(state);
    expect(store.use(token, { tenantId: 't', service: 'exo', bodyHash: 'other' })).toBeUndefined();
    expect(store.use(token, { tenantId: 't', service: 'ipps', bodyHash: 'h' })).toBeUndefined();
    expect(store.use(token, { tenantId: 't', service: 'exo', bodyHash: 'h' })).toEqual(state);
    now += 99;
    // Reading does not use a cursor up: it can be re-posted until it expires.
    expect(store.use(token, { tenantId: 't', service: 'exo', bodyHash: 'h' })).toEqual(state);
    now += 1;
    expect(store.use(token, { tenantId: 't', service: 'exo', bodyHash: 'h' })).toBeUndefined();
    for (let i = 0; i < 10; i++) store.create(state);
    expect(store.size).toBe(3);
    expect(store.use('made-up', { tenantId: 't', service: 'exo', bodyHash: 'h' })).toBeUndefined();
  });
});

describe('faults', () => {
  it('are deterministic for a seed', () => {
    const decide = (seed: number): string[] => {
      const injector = createFaultInjector();
      return Array.from({ length: 50 }, () => String(injector.decide('k', { throttleRate: 0.3, unavailableRate: 0.2, seed })?.kind));
    };
    expect(decide(1)).toEqual(decide(1));
    expect(decide(1)).not.toEqual(decide(2));
    expect(decide(1)).toContain('throttle');
    expect(decide(1)).toContain('unavailable');
    expect(createFaultInjector().decide('k', {})).toBeUndefined();
  });

  it('injects concurrency refusals at their rate, after throttling and unavailability', () => {
    const injector = createFaultInjector();
    const decisions = Array.from({ length: 400 }, () => injector.decide('k', { concurrencyRefusalRate: 0.25, seed: 5 })?.kind);
    const refused = decisions.filter((decision) => decision === 'refuse').length;
    expect(refused).toBeGreaterThan(60);
    expect(refused).toBeLessThan(140);
    expect(new Set(decisions)).toEqual(new Set(['refuse', undefined]));
    expect(createFaultInjector().decide('k', { concurrencyRefusalRate: 1 })?.kind).toBe('refuse');
  });

  it('injects server and gateway errors at their rates, deterministically per seed, after the other kinds', () => {
    const decide = (seed: number): (string | undefined)[] => {
      const injector = createFaultInjector();
      return Array.from({ length: 1000 }, () => injector.decide('k', { serverErrorRate: 0.1, gatewayErrorRate: 0.2, seed })?.kind);
    };
    const decisions = decide(9);
    expect(decide(9)).toEqual(decisions);
    expect(decide(10)).not.toEqual(decisions);
    const count = (kind: string): number => decisions.filter((decision) => decision === kind).length;
    expect(count('server-error')).toBeGreaterThan(60);
    expect(count('server-error')).toBeLessThan(140);
    expect(count('gateway-error')).toBeGreaterThan(150);
    expect(count('gateway-error')).toBeLessThan(250);
    expect(new Set(decisions)).toEqual(new Set(['server-error', 'gateway-error', undefined]));
    // Adding the new kinds at rate 0 leaves the existing sequences as they were.
    const before = createFaultInjector();
    const after = createFaultInjector();
    for (let i = 0; i < 100; i++) {
      expect(after.decide('k', { throttleRate: 0.3, serverErrorRate: 0, gatewayErrorRate: 0, seed: 4 })).toEqual(
        before.decide('k', { throttleRate: 0.3, seed: 4 }),
      );
    }
  });

  it('numbers the occurrences of each kind per key, so bodies can take turns', () => {
    const injector = createFaultInjector();
    const faults = { serverErrorRate: 1 };
    expect([0, 1, 2].map(() => injector.decide('a', faults))).toEqual([0, 1, 2].map((occurrence) => ({ kind: 'server-error', occurrence })));
    expect(injector.decide('b', faults)).toEqual({ kind: 'server-error', occurrence: 0 });
    injector.reset();
    expect(injector.decide('a', faults)).toEqual({ kind: 'server-error', occurrence: 0 });
  });

  it('writes 500s as an HTML page or plain text, and 502/504 as HTML or nothing, never with Retry-After', () => {
    const html = serverErrorResponse(0);
    expect(html).toMatchObject({ status: 500, headers: { 'Content-Type': 'text/html' } });
    expect(String(html.body)).toContain('<title>500 - Internal server error.</title>');
    expect(String(html.body)).toContain('<h2>500 - Internal server error.</h2>');
    const text = serverErrorResponse(1);
    expect(text).toMatchObject({ status: 500, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
    expect(String(text.body)).not.toMatch(/[<{]/);
    expect(serverErrorResponse(2).headers['Content-Type']).toBe('text/html');

    const gateway = [0, 1, 2, 3].map(gatewayErrorResponse);
    expect(gateway.map((response) => [response.status, response.body === undefined ? 'empty' : response.headers['Content-Type']])).toEqual([
      [502, 'text/html'],
      [504, 'empty'],
      [504, 'text/html'],
      [502, 'empty'],
    ]);
    expect(String(gateway[0]!.body)).toContain('502 - Web server received an invalid response while acting as a gateway or proxy server.');
    expect(String(gateway[2]!.body)).toContain('504 - Gateway Timeout');
    for (const response of [html, text, ...gateway]) expect(response.headers['Retry-After']).toBeUndefined();
  });

  it('checks the new settings', () => {
    expect(parseTenantSettings({ faults: { serverErrorRate: 0.25, gatewayErrorRate: 0 } })).toEqual({ faults: { serverErrorRate: 0.25, gatewayErrorRate: 0 } });
    expect(() => parseTenantSettings({ faults: { serverErrorRate: 1.5 } })).toThrow(/faults.serverErrorRate must be a number from 0 to 1/);
    expect(() => parseTenantSettings({ faults: { gatewayErrorRate: '0.1' } })).toThrow(/faults.gatewayErrorRate/);
    expect(() => parseTenantSettings({ faults: { internalErrorRate: 0.1 } })).toThrow(/unknown fault setting 'internalErrorRate'/);
    expect(parseTenantSettings({ tokenLifetimeSec: 120, faults: { concurrencyRefusalRate: 0.5 } })).toEqual({
      tokenLifetimeSec: 120,
      faults: { concurrencyRefusalRate: 0.5 },
    });
    expect(() => parseTenantSettings({ tokenLifetimeSec: 0 })).toThrow(/tokenLifetimeSec/);
    expect(() => parseTenantSettings({ tokenLifetimeSec: 1.5 })).toThrow(/integer/);
    expect(() => parseTenantSettings({ faults: { concurrencyRefusalRate: 2 } })).toThrow(/concurrencyRefusalRate/);
    expect(effectiveSettings({ tokenLifetimeSec: 600 }, { tokenLifetimeSec: 60 }).tokenLifetimeSec).toBe(60);
    expect(effectiveSettings({}, undefined).tokenLifetimeSec).toBe(3600);
  });

  it('writes Retry-After as seconds or an HTTP date', () => {
    expect(retryAfter({ retryAfterSec: 0.5 }, 10_000)).toEqual({ value: '0.5', untilMs: 10_500 });
    expect(retryAfter({ retryAfterSec: 2.25 }, 0)).toEqual({ value: '2.25', untilMs: 2250 });
    expect(retryAfter({}, 0)).toEqual({ value: '1', untilMs: 1000 });
    const mixed = [0, 1, 2, 3].map((sequence) => retryAfter({ retryAfterSec: 1, retryAfterFormat: 'mixed' }, Date.UTC(2026, 0, 1), sequence).value);
    expect(mixed).toEqual(['1', '1.25', 'Thu, 01 Jan 2026 00:00:01 GMT', '1']);
    const date = retryAfter({ retryAfterSec: 2, retryAfterFormat: 'http-date' }, Date.UTC(2026, 0, 1, 0, 0, 0, 300));
    expect(date.value).toBe('Thu, 01 Jan 2026 00:00:03 GMT');
    expect(date.untilMs).toBe(Date.UTC(2026, 0, 1, 0, 0, 3));
  });
});

describe('recorder', () => {
  it('tracks in-flight peaks per service and combined, and resets counters', () => {
    let now = 0;
    const recorder = createRecorder({ resolveTenant: (name) => (name === 'contoso.onmicrosoft.com' ? 'tid' : undefined), now: () => now });
    const a = recorder.begin('tid', 'exo', { inFlight: true, known: true });
    const b = recorder.begin('tid', 'ipps', { inFlight: true, known: true });
    const c = recorder.begin('tid', 'exo', { inFlight: true, known: true });
    expect(c.inFlightAtArrival).toBe(2);
    c.mark('refusedConcurrency');
    const ids = { cmdlet: 'Get-Mailbox', page: 1, expiredToken: false, requestId: 'r' };
    a.finish({ ...ids, status: 200 });
    a.finish({ ...ids, status: 200 });
    c.finish({ ...ids, status: 429 });
    expect(recorder.stats('contoso.onmicrosoft.com', 'exo')).toMatchObject({
      inFlight: 0,
      peakInFlight: 2,
      requests: 2,
      byStatus: { '200': 1, '429': 1 },
      refusedConcurrency: 1,
    });
    expect(recorder.stats('tid')).toMatchObject({ inFlight: 1, peakInFlight: 3, requests: 3 });
    recorder.noteRetryAfter('tid', 'exo', 100);
    now = 50;
    recorder.begin('tid', 'exo', { inFlight: true, known: true }).finish({ ...ids, status: 200 });
    now = 100;
    recorder.begin('tid', 'exo', { inFlight: true, known: true }).finish({ ...ids, status: 200 });
    expect(recorder.stats('tid', 'exo').earlyRetries).toBe(1);
    expect(recorder.calls()).toHaveLength(4);
    expect(Object.keys(recorder.snapshot())).toEqual(['tid']);
    recorder.reset();
    expect(recorder.stats('tid')).toMatchObject({ inFlight: 1, peakInFlight: 1, requests: 0, byStatus: {}, caeChallenges: 0, injectedRefusals: 0 });
    expect(recorder.calls()).toHaveLength(0);
    b.finish({ ...ids, status: 200 });
    expect(recorder.stats('tid', 'ipps').inFlight).toBe(0);
  });

  it('counts CAE challenges, injected refusals and token endpoint events, and resets them', () => {
    const recorder = createRecorder({ resolveTenant: (name) => (name === 'contoso.onmicrosoft.com' ? 'tid' : undefined) });
    const call = recorder.begin('tid', 'exo', { inFlight: true, known: true });
    call.mark('caeChallenges');
    call.mark('injectedRefusals');
    call.finish({ cmdlet: 'x', page: 0, expiredToken: false, requestId: 'r', status: 401, callerKind: 'user', caller: 'a@b.c', anchorMailbox: 'UPN:a@b.c' });
    expect(recorder.stats('tid', 'exo')).toMatchObject({ caeChallenges: 1, injectedRefusals: 1, refusedConcurrency: 0 });
    expect(recorder.calls()[0]).toMatchObject({ callerKind: 'user', caller: 'a@b.c', anchorMailbox: 'UPN:a@b.c' });
    recorder.countEntra('tid', 'rotations');
    recorder.countEntra(undefined, 'deviceCodesIssued');
    expect(recorder.entra('contoso.onmicrosoft.com')).toMatchObject({ rotations: 1, deviceCodesIssued: 0 });
    expect(recorder.entra()).toMatchObject({ rotations: 1, deviceCodesIssued: 1 });
    recorder.reset();
    expect(recorder.entra()).toMatchObject({ rotations: 0, deviceCodesIssued: 0 });
    expect(recorder.stats('tid', 'exo').caeChallenges).toBe(0);
  });

  it('keeps only the last calls', () => {
    const recorder = createRecorder({ resolveTenant: () => 'tid', capacity: 3 });
    for (let page = 1; page <= 5; page++) {
      recorder.begin('tid', 'exo', { inFlight: true, known: true }).finish({ cmdlet: 'x', page, expiredToken: false, requestId: 'r', status: 200 });
    }
    expect(recorder.calls().map((call) => call.page)).toEqual([3, 4, 5]);
  });
});

describe('token signer', () => {
  it('verifies its own tokens only', () => {
    const keys = () => {
      const pair = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      return { publicPem: pair.publicKey, privatePem: pair.privateKey };
    };
    const signer = createTokenSigner(keys());
    const other = createTokenSigner(keys());
    const token = signer.sign({ aud: 'x', exp: 1 });
    expect(signer.verify(token)?.payload).toEqual({ aud: 'x', exp: 1 });
    expect(signer.verify(other.sign({ aud: 'x' }))).toBeUndefined();
    const [head, , sig] = token.split('.');
    expect(signer.verify(`${head}.${Buffer.from('{"aud":"y","exp":1}').toString('base64url')}.${sig}`)).toBeUndefined();
    expect(signer.verify('not a token')).toBeUndefined();
    expect(signer.jwks().keys[0]).toMatchObject({ kty: 'RSA', kid: signer.kid });
  });
});
