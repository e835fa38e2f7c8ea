import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBody, parseFailure } from '../../../src/exchange/error-body.js';
import { classifyFailure, failureToError } from '../../../src/exchange/map-error.js';
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

  it('classifies throttling, transient and final failures', () => {
    const refusal = parseFailure(Buffer.from('You have reached the maximum number of concurrent requests per tenant. Please wait and try again.'));
    expect(classifyFailure(429, refusal)).toBe('throttled');
    expect(classifyFailure(400, refusal)).toBe('throttled');
    expect(classifyFailure(503, parseFailure(Buffer.from('<html><body>Service Unavailable</body></html>')))).toBe('transient');
    expect(classifyFailure(500, { text: 'x', exceptionType: 'Microsoft.Exchange.Data.Directory.DCOverloadedException', empty: false })).toBe('transient');
    expect(classifyFailure(404, { text: 'gone', empty: false })).toBe('final');
  });

  it('maps the expired cursor text to a retryable EXO_CURSOR_EXPIRED', () => {
    const error = failureToError({ text: 'Expired or Invalid pagination request. Default Expiry time is 00:30:00', empty: false }, { ...context, status: 400 });
    expect(error.code).toBe('EXO_CURSOR_EXPIRED');
    expect(error.retryable).toBe(true);
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
  });
});
