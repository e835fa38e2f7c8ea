import { randomUUID } from 'node:crypto';
import { CmdletError, ODATA_SERVICE_EXCEPTION } from '../cmdlets/cmdlet-error.js';
import { unknownCmdletError } from '../cmdlets/unknown-cmdlet.js';
import type { SimResponse } from '../http.js';

/** OData error bodies carry the same content type as success bodies. */
export const ODATA_CONTENT_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

const GENERIC_MESSAGE = 'Error executing cmdlet';
const STACK =
  '   at Microsoft.Exchange.AdminApi.CommandInvocation.CommandInvoker.InvokeCommand(CommandInvocationContext context)\r\n   at Microsoft.Exchange.AdminApi.Controllers.InvokeCommandController.Post(CmdletInput input)';

/** `details[].message` in format A (`id|type|text`) or B (a JSON string); the service writes both. */
export function detailMessage(error: CmdletError, format: 'A' | 'B'): string {
  if (format === 'B') {
    return JSON.stringify({ Message: error.text, TypeName: error.exceptionType, StackTrace: null, InnerError: null });
  }
  return `${error.errorId}|${error.exceptionType}|${error.text}`;
}

export function errorEnvelope(error: CmdletError, format: 'A' | 'B', message = GENERIC_MESSAGE): Record<string, unknown> {
  return {
    error: {
      code: error.code,
      message,
      details: [{ code: 'Context', target: '', message: detailMessage(error, format) }],
      innererror: {
        message,
        type: ODATA_SERVICE_EXCEPTION,
        stacktrace: STACK,
        internalexception: { message: error.text, type: error.exceptionType, stacktrace: '' },
      },
    },
  };
}

export function envelopeResponse(error: CmdletError, format: 'A' | 'B', message?: string): SimResponse {
  return {
    status: error.status,
    headers: { 'Content-Type': ODATA_CONTENT_TYPE },
    body: JSON.stringify(errorEnvelope(error, format, message)),
  };
}

/** Cursor unknown, expired, or replayed with another body (the real status is UNCONFIRMED; 400). */
export function paginationError(): CmdletError {
  return new CmdletError('BadRequest', ODATA_SERVICE_EXCEPTION, 'Expired or Invalid pagination request. Default Expiry time is 00:30:00');
}

/** Body that is not JSON or lacks CmdletInput (wording UNCONFIRMED). */
export function invalidBodyError(reason: string): CmdletError {
  return new CmdletError('BadRequest', 'Microsoft.OData.ODataException', `The request body is not a valid CmdletInput: ${reason}`);
}

/**
 * Unknown cmdlet. EXO answers 403 with NUL bytes under a `Content-Encoding: gzip` that is not gzip;
 * IPPS answers a 403 JSON envelope naming the cmdlet.
 */
export function unknownCmdletResponse(service: 'exo' | 'ipps', name: string, format: 'A' | 'B'): SimResponse {
  if (service === 'exo') {
    return { status: 403, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: Buffer.alloc(32) };
  }
  const error = unknownCmdletError(name);
  return envelopeResponse(error, format, error.text);
}

/** 429 from fault injection (body wording UNCONFIRMED; the code follows the OData style). */
export function throttledResponse(retryAfter: string): SimResponse {
  return {
    status: 429,
    headers: { 'Content-Type': ODATA_CONTENT_TYPE, 'Retry-After': retryAfter },
    body: JSON.stringify({
      error: {
        code: 'TooManyRequests',
        message: 'The request was throttled. Retry after the time given in the Retry-After header.',
        details: [],
        innererror: { message: 'Too many requests', type: 'Microsoft.Exchange.Admin.OData.Core.ThrottlingException', stacktrace: '' },
      },
    }),
  };
}

/** 503 as a front end writes it: HTML, not JSON. */
export function unavailableResponse(retryAfter: string): SimResponse {
  return {
    status: 503,
    headers: { 'Content-Type': 'text/html; charset=us-ascii', 'Retry-After': retryAfter },
    body:
      '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n' +
      '<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n' +
      '<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n</BODY></HTML>\r\n',
  };
}

/**
 * A transient 500 as the service's front end writes it, without Retry-After: the HTML error page
 * of IIS/ASP.NET and, in turn (`occurrence` odd), a plain-text body; never the JSON envelope.
 */
export function serverErrorResponse(occurrence: number): SimResponse {
  if (occurrence % 2 === 1) {
    return {
      status: 500,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: 'The server encountered an internal error. Please retry the request.',
    };
  }
  return {
    status: 500,
    headers: { 'Content-Type': 'text/html' },
    body: iisErrorPage('500 - Internal server error.', 'There is a problem with the resource you are looking for, and it cannot be displayed.'),
  };
}

/** 502 or 504 from the gateway in front of the service, without Retry-After: HTML or no body, in turn. */
export function gatewayErrorResponse(occurrence: number): SimResponse {
  const variant = GATEWAY_VARIANTS[occurrence % GATEWAY_VARIANTS.length] ?? GATEWAY_VARIANTS[0];
  const { status, html } = variant;
  if (!html) return emptyGatewayResponse(status);
  return status === 502
    ? {
        status,
        headers: { 'Content-Type': 'text/html' },
        body: iisErrorPage(
          '502 - Web server received an invalid response while acting as a gateway or proxy server.',
          'There is a problem with the page you are looking for, and it cannot be displayed. When the Web server (while acting as a gateway or proxy) contacted the upstream content server, it received an invalid response from the content server.',
        ),
      }
    : {
        status,
        headers: { 'Content-Type': 'text/html' },
        body: iisErrorPage(
          '504 - Gateway Timeout',
          'The server, while acting as a gateway or proxy, did not receive a timely response from the upstream server.',
        ),
      };
}

/** 502 HTML, 504 empty, 504 HTML, 502 empty: both statuses and both body kinds within four. */
const GATEWAY_VARIANTS = [
  { status: 502, html: true },
  { status: 504, html: false },
  { status: 504, html: true },
  { status: 502, html: false },
] as const;

function emptyGatewayResponse(status: number): SimResponse {
  return { status, headers: { 'Content-Length': '0' } };
}

/** The shape of IIS's detailed-errors-off page: a title, the status line and one sentence. */
function iisErrorPage(title: string, sentence: string): string {
  return [
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">',
    '<html xmlns="http://www.w3.org/1999/xhtml">',
    '<head>',
    '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>',
    `<title>${title}</title>`,
    '<style type="text/css">',
    'body{margin:0;font-size:.7em;font-family:Verdana, Arial, Helvetica, sans-serif;background:#EEEEEE;}',
    'h1{font-size:2.4em;margin:0;color:#FFF;} h2{font-size:1.7em;margin:0;color:#CC0000;} h3{font-size:1.2em;margin:10px 0 0 0;color:#000000;}',
    '</style>',
    '</head>',
    '<body>',
    '<div id="header"><h1>Server Error</h1></div>',
    '<div id="content">',
    ' <div class="content-container"><fieldset>',
    `  <h2>${title}</h2>`,
    `  <h3>${sentence}</h3>`,
    ' </fieldset></div>',
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\r\n');
}

/** ExoHelper's observed tenant-concurrency refusal text; 429 plain text without Retry-After (status UNCONFIRMED). */
export function concurrencyRefusal(): SimResponse {
  return {
    status: 429,
    headers: { 'Content-Type': 'text/plain' },
    body: 'You have reached the maximum number of concurrent requests per tenant. Please wait and try again.',
  };
}

export function newRequestId(): string {
  return randomUUID();
}
