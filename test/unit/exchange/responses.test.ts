import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBody, parseFailure, type ServiceFailure } from '../../../src/exchange/error-body.js';
import { failureToError } from '../../../src/exchange/map-error.js';
import { retryClassOf } from '../../../src/core/retry-policy.js';
import { parsePage } from '../../../src/exchange/page.js';
import { parseRetryAfterMs } from '../../../src/exchange/retry-after.js';
import { isTrustedUrl } from '../../../src/exchange/trusted-hosts.js';

const context = { cmdlet: 'Get-Mailbox', serviceLabel: 'Exchange Online', clientRequestId: 'c-1' };

describe('error bodies', () => {
  it('reads format A: the reason is in details[0].message as Id|Type|Text', () => {
    const body = Buffer.from(
      JSON.stringify({
        error: {
          code: 'NotFound',
          message: 'Error executing cmdlet',
          details: [
            {
              code: 'Context',
              target: '',
              message:
                "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found on 'DC001'.",
            },
          ],
          innererror: { message: 'Error executing cmdlet', type: 'Microsoft.Exchange.Admin.OData.Core.ODataServiceException' },
        },
      }),
    );
    expect(parseFailure(body)).toEqual({
      serviceCode: 'NotFound',
      errorId: 'Ex6F9304',
      exceptionType: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
      text: "The operation couldn't be performed because object 'x' couldn't be found on 'DC001'.",
      empty: false,
    });
  });

  it('reads format B: details[0].message is a JSON string', () => {
    const inner = JSON.stringify({
      Message: "A parameter cannot be found that matches parameter name 'Foo'.",
      TypeName: 'System.Management.Automation.ParameterBindingException',
      StackTrace: null,
      InnerError: null,
    });
    const body = Buffer.from(
      JSON.stringify({ error: { code: 'BadRequest', message: 'Error executing cmdlet', details: [{ code: 'Client', message: inner }] } }),
    );
    const failure = parseFailure(body);
    expect(failure.text).toBe("A parameter cannot be found that matches parameter name 'Foo'.");
    expect(failure.exceptionType).toBe('System.Management.Automation.ParameterBindingException');
    expect(failureToError(failure, { ...context, status: 400 }).code).toBe('EXO_BAD_REQUEST');
  });

  it('falls back to innererror.internalexception, then to the top-level message', () => {
    const inner = Buffer.from(
      JSON.stringify({
        error: { code: 'InternalServerError', message: 'Error executing cmdlet', innererror: { internalexception: { message: 'Database is offline' } } },
      }),
    );
    expect(parseFailure(inner).text).toBe('Database is offline');
    const plain = Buffer.from(JSON.stringify({ error: { code: 'X', message: 'Invalid Operation' } }));
    expect(parseFailure(plain).text).toBe('Invalid Operation');
  });

  it('treats the EXO unknown-cmdlet answer (NUL bytes labelled gzip) as an unknown cmdlet', () => {
    const nul = Buffer.alloc(24);
    const decoded = decodeBody(nul, 'gzip');
    expect(decoded).toEqual(nul);
    const failure = parseFailure(decoded);
    expect(failure.empty).toBe(true);
    expect(failureToError(failure, { ...context, cmdlet: 'Get-Nothing', status: 403 }).code).toBe('EXO_CMDLET_UNKNOWN');
  });

  it('gunzips real gzip bodies', () => {
    expect(decodeBody(gzipSync(Buffer.from('{"value":[]}')), 'gzip').toString()).toBe('{"value":[]}');
  });

  it('maps throttling, transient and final failures to the codes the retry policy reads', () => {
    const refusal = parseFailure(Buffer.from('You have reached the maximum number of concurrent requests per tenant. Please wait and try again.'));
    const html = parseFailure(
      Buffer.from('<html><head><title>500 - Internal server error.</title></head><body><h2>500 - Internal server error.</h2></body></html>'),
    );
    const codeOf = (status: number, failure: ServiceFailure, retryAfterMs?: number): string =>
      failureToError(failure, { ...context, status }, retryAfterMs).code;
    expect(codeOf(429, refusal)).toBe('EXO_THROTTLED');
    expect(codeOf(400, refusal)).toBe('EXO_THROTTLED');
    expect(codeOf(503, parseFailure(Buffer.from('<html><body>Service Unavailable</body></html>')))).toBe('EXO_UNAVAILABLE');
    expect(codeOf(503, parseFailure(Buffer.from('busy')), 2_000)).toBe('EXO_THROTTLED');
    expect(codeOf(502, parseFailure(Buffer.alloc(0)))).toBe('EXO_UNAVAILABLE');
    expect(codeOf(504, html)).toBe('EXO_UNAVAILABLE');
    expect(codeOf(500, html)).toBe('EXO_SERVER_ERROR');
    expect(html.text).toContain('500 - Internal server error.');
    expect(codeOf(500, { text: 'x', exceptionType: 'Microsoft.Exchange.Data.Directory.DCOverloadedException', empty: false })).toBe('EXO_SERVER_ERROR');
    expect(codeOf(404, { text: 'gone', empty: false })).toBe('EXO_NOT_FOUND');
    for (const [status, failure] of [
      [500, html],
      [502, html],
      [503, html],
      [504, html],
    ] as const) {
      expect(retryClassOf(failureToError(failure, { ...context, status }))).toBe('transient');
    }
    expect(retryClassOf(failureToError(refusal, { ...context, status: 429 }))).toBe('wait');
    expect(retryClassOf(failureToError({ text: 'gone', empty: false }, { ...context, status: 404 }))).toBe('fail');
  });

  it('maps the expired cursor text to EXO_CURSOR_EXPIRED, which restarts the run, and says so truthfully', () => {
    const error = failureToError({ text: 'Expired or Invalid pagination request. Default Expiry time is 00:30:00', empty: false }, { ...context, status: 400 });
    expect(error.code).toBe('EXO_CURSOR_EXPIRED');
    expect(retryClassOf(error)).toBe('restart');
    expect(error.message).not.toMatch(/will start again/);
  });

  it('keeps request ids and the exception type in details, never the token', () => {
    const error = failureToError({ text: 'denied', exceptionType: 'CmdletAccessDeniedException', empty: false }, { ...context, status: 403, requestId: 'r-9' });
    expect(error.code).toBe('EXO_ACCESS_DENIED');
    expect(error.details).toMatchObject({ status: 403, requestId: 'r-9', clientRequestId: 'c-1', exceptionType: 'CmdletAccessDeniedException' });
  });
});

describe('Retry-After', () => {
  it('reads whole and fractional seconds and HTTP dates', () => {
    expect(parseRetryAfterMs('3')).toBe(3000);
    expect(parseRetryAfterMs('0.25')).toBe(250);
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(parseRetryAfterMs('Sun, 22 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfterMs('Sun, 22 Nov 2026 09:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    expect(parseRetryAfterMs('.5')).toBe(500);
    // Date.parse would read these as dates in 2001; they are not Retry-After values.
    expect(parseRetryAfterMs('-1')).toBeUndefined();
    expect(parseRetryAfterMs('12 ')).toBe(12_000);
    expect(parseRetryAfterMs('1e3')).toBeUndefined();
  });
});

describe('pages', () => {
  const body = (json: unknown): Buffer => Buffer.from(JSON.stringify(json));

  it('strips OData annotations and reads warnings, errors and the nextLink', () => {
    const page = parsePage(
      body({
        '@odata.context': 'https://x/$metadata#Collection(Exchange.GenericHashTable)',
        'adminapi.warnings@odata.type': '#Collection(String)',
        '@adminapi.warnings': ['more results available'],
        '@adminapi.errors': [{ message: 'one failed' }],
        value: [{ Name: 'a', 'EmailAddresses@odata.type': '#Collection(String)', EmailAddresses: ['SMTP:a@x'], 'Guid@data.type': 'System.Guid', Guid: 'g' }],
        '@odata.nextLink': 'https://x/next',
      }),
      undefined,
      {},
    );
    expect(page).toEqual({
      objects: [{ Name: 'a', EmailAddresses: ['SMTP:a@x'], Guid: 'g' }],
      propertyTypes: { EmailAddresses: '#Collection(String)', Guid: 'System.Guid' },
      warnings: ['more results available'],
      errors: [{ message: 'one failed' }],
      nextLink: 'https://x/next',
    });
  });

  it('projects select in its order, matching property names case-insensitively', () => {
    const page = parsePage(
      body({ value: [{ DisplayName: 'Ann', PrimarySmtpAddress: 'ann@x', Other: 1 }] }),
      ['primarysmtpaddress', 'DisplayName', 'Missing'],
      {},
    );
    expect(page.objects).toEqual([{ primarysmtpaddress: 'ann@x', DisplayName: 'Ann' }]);
    expect(Object.keys(page.objects[0]!)).toEqual(['primarysmtpaddress', 'DisplayName']);
  });

  it('rejects a 200 body that is not JSON as EXO_BAD_RESPONSE', () => {
    expect(() => parsePage(Buffer.from('<html>'), undefined, {})).toThrow(expect.objectContaining({ code: 'EXO_BAD_RESPONSE' }));
  });
});

describe('trusted hosts', () => {
  const ipps = ['ps.compliance.protection.outlook.com', '*.ps.compliance.protection.outlook.com'];

  it('accepts the cloud’s hosts and regional sub-domains over HTTPS only', () => {
    expect(isTrustedUrl('https://nam12b.ps.compliance.protection.outlook.com/adminapi/beta/t/InvokeCommand', ipps)).toBe(true);
    expect(isTrustedUrl('https://ps.compliance.protection.outlook.com/x', ipps)).toBe(true);
    expect(isTrustedUrl('http://nam12b.ps.compliance.protection.outlook.com/x', ipps)).toBe(false);
    expect(isTrustedUrl('https://evil.example/ps.compliance.protection.outlook.com', ipps)).toBe(false);
    expect(isTrustedUrl('https://ps.compliance.protection.outlook.com.evil.example/x', ipps)).toBe(false);
    expect(isTrustedUrl('https://nam12b.ps.compliance.protection.outlook.com:8443/x', ipps)).toBe(false);
  });

  it('matches host:port patterns exactly (the simulator listens on loopback ports)', () => {
    expect(isTrustedUrl('https://127.0.0.1:4443/x', ['127.0.0.1:4443'])).toBe(true);
    expect(isTrustedUrl('https://127.0.0.1:4444/x', ['127.0.0.1:4443'])).toBe(false);
    expect(isTrustedUrl('not a url', ['127.0.0.1:4443'])).toBe(false);
    expect(isTrustedUrl('https://outlook.office365.com:443/x', ['outlook.office365.com'])).toBe(true);
  });

  it('matches sub-domains on the same port for an overridden host with a port (the IPPS redirect behind a custom address)', () => {
    const overridden = ['ipps.contoso.example:8443', '*.ipps.contoso.example:8443'];
    expect(isTrustedUrl('https://nam12b.ipps.contoso.example:8443/adminapi/beta/t/InvokeCommand', overridden)).toBe(true);
    expect(isTrustedUrl('https://ipps.contoso.example:8443/x', overridden)).toBe(true);
    expect(isTrustedUrl('https://nam12b.ipps.contoso.example/x', overridden)).toBe(false);
    expect(isTrustedUrl('https://nam12b.ipps.contoso.example:9443/x', overridden)).toBe(false);
    expect(isTrustedUrl('https://ipps.contoso.example.evil.example:8443/x', overridden)).toBe(false);
    expect(isTrustedUrl('https://xipps.contoso.example:8443/x', overridden)).toBe(false);
  });
});
