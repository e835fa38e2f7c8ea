import { randomUUID } from 'node:crypto';
import { isReadOnlyCmdlet } from '../core/cmdlets.js';
import { AppError, isAppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type {
  AccessToken,
  CloudEndpoints,
  CmdletPage,
  CmdletRequest,
  ExchangeClient,
  HttpResponse,
  HttpTransport,
  InvokeOptions,
  ServiceEndpoint,
  ServiceName,
  TokenProvider,
} from '../core/ports.js';
import { backoffMs, sleep as defaultSleep } from '../core/time.js';
import { decodeBody, parseFailure } from './error-body.js';
import { classifyFailure, failureToError } from './map-error.js';
import { parsePage } from './page.js';
import { parseRetryAfterMs } from './retry-after.js';
import { isTrustedUrl } from './trusted-hosts.js';

/** The fixed system mailbox app-only calls are anchored to (reference §1.2). */
const APP_ONLY_ANCHOR_MAILBOX = 'SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}';

export interface ExchangeClientOptions {
  endpoints: Pick<CloudEndpoints, 'exo' | 'ipps'>;
  tokens: TokenProvider;
  transport: HttpTransport;
  logger?: Logger;
  /** One id per logical connection, sent as `connection-id`. */
  connectionId?: string;
  /** Per-request limit; default 16 minutes (the service's 15 plus one). */
  requestTimeoutMs?: number;
  /**
   * Server-requested waits up to this long are served in place, which keeps a paging cursor alive;
   * longer ones end the attempt with `retryAfterMs` so the queue re-delays the run. Default 30 s.
   */
  maxInPlaceWaitMs?: number;
  /** Retries of one request after throttling or transient failures; default 4. */
  maxRetries?: number;
  /** Called whenever the service asks us to slow down (for cool-down and progress reporting). */
  onThrottle?: (event: { service: ServiceName; status: number; waitMs: number; explicit: boolean }) => void;
  /** Injected in tests to avoid real waiting. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Product token for `X-ClientApplication`. */
  clientApplication?: string;
}

const SERVICE_LABELS: Record<ServiceName, string> = { exo: 'Exchange Online', ipps: 'Security & Compliance' };

/**
 * Runs cmdlets over the REST InvokeCommand endpoint (reference §1, §2). One client serves one
 * tenant: it remembers the tenant's IPPS regional host after the first redirect. Tokens are asked
 * for before every request, so renewal happens between pages rather than failing one.
 */
export function createExchangeClient(options: ExchangeClientOptions): ExchangeClient {
  const sleep = options.sleep ?? defaultSleep;
  const connectionId = options.connectionId ?? randomUUID();
  const maxInPlaceWaitMs = options.maxInPlaceWaitMs ?? 30_000;
  const maxRetries = options.maxRetries ?? 4;
  options.logger?.debug({ connectionId }, 'exchange client created');
  /** IPPS regional origin learnt from the first 302, per tenant segment. */
  const regionalOrigins = new Map<string, string>();

  async function* invoke(request: CmdletRequest, invokeOptions: InvokeOptions = {}): AsyncGenerator<CmdletPage> {
    const endpoint = options.endpoints[request.service];
    const body = JSON.stringify({ CmdletInput: { CmdletName: request.cmdlet, Parameters: request.parameters } });
    const limit = numericResultSize(request.parameters);
    // The first token names the tenant GUID for the URL and the anchor; later pages ask again.
    const firstToken = await options.tokens.getToken({ resource: endpoint.resource, ...signalOf(invokeOptions) });
    const tenantSegment = firstToken.tenantId || request.tenant;
    let delivered = 0;
    // Pages are read one ahead: the service prepares page i+1 while the caller stores page i, so
    // a large result costs about max(service, client) per page instead of their sum. The read-ahead
    // has its own abort, fired when the caller stops early, so no request outlives the caller's
    // interest (and its slot).
    const readAhead = new AbortController();
    const pageOptions: InvokeOptions = {
      ...invokeOptions,
      signal: invokeOptions.signal ? AbortSignal.any([invokeOptions.signal, readAhead.signal]) : readAhead.signal,
    };

    const fetchPage = async (url: string, index: number): Promise<{ page: CmdletPage; nextUrl: string | undefined }> => {
      const sent = await send({ request, endpoint, url, body, tenantSegment, invokeOptions: pageOptions });
      const clientRequestId = sent.clientRequestId;
      const requestId = sent.response.headers['request-id'];
      const parsed = parsePage(decodeBody(sent.response.body, sent.response.headers['content-encoding']), request.select, {
        cmdlet: request.cmdlet,
        clientRequestId,
        requestId,
      });
      let objects = parsed.objects;
      let nextUrl: string | undefined;
      // ResultSize is sent as given and also enforced here (reference §1.6).
      if (limit !== undefined && delivered + objects.length >= limit) {
        objects = objects.slice(0, Math.max(0, limit - delivered));
      } else if (parsed.nextLink !== undefined) {
        if (!isTrustedUrl(parsed.nextLink, endpoint.trustedHosts)) {
          throw new AppError(
            'EXO_UNTRUSTED_HOST',
            `The next-page link of ${request.cmdlet} points to ${hostOf(parsed.nextLink)}, outside this tenant's cloud; the token was not sent there.`,
            {
              details: { cmdlet: request.cmdlet, host: hostOf(parsed.nextLink) },
            },
          );
        }
        nextUrl = parsed.nextLink;
      }
      delivered += objects.length;
      const page: CmdletPage = {
        index,
        objects,
        warnings: parsed.warnings,
        errors: parsed.errors,
        requestId,
        clientRequestId,
        propertyTypes: parsed.propertyTypes,
        last: nextUrl === undefined,
      };
      return { page, nextUrl };
    };

    let pending: Promise<{ page: CmdletPage; nextUrl: string | undefined }> | undefined = fetchPage(initialUrl(request, endpoint, tenantSegment), 0);
    try {
      for (let index = 1; pending !== undefined; index += 1) {
        const { page, nextUrl }: { page: CmdletPage; nextUrl: string | undefined } = await pending;
        pending = nextUrl === undefined ? undefined : fetchPage(nextUrl, index);
        // Its failure is read when it is awaited (or dropped if the caller stops first).
        pending?.catch(() => undefined);
        yield page;
      }
    } finally {
      if (pending !== undefined) {
        readAhead.abort(new AppError('RUN_ABORTED', 'The caller stopped reading pages.'));
        await pending.catch(() => undefined);
      }
    }
  }

  interface SendInput {
    request: CmdletRequest;
    endpoint: ServiceEndpoint;
    url: string;
    body: string;
    tenantSegment: string;
    invokeOptions: InvokeOptions;
  }

  /** POSTs one page, following the IPPS redirect and retrying 401/throttling/transient failures. */
  async function send(input: SendInput): Promise<{ response: HttpResponse; clientRequestId: string }> {
    const { request, endpoint, body, invokeOptions } = input;
    const label = SERVICE_LABELS[request.service];
    let { url } = input;
    let retries = 0;
    let redirects = 0;
    let refreshedAfter401 = false;
    /** Set after a 401: the token to retry with. Otherwise a token is asked for before every request. */
    let renewed: AccessToken | undefined;

    for (;;) {
      throwIfAborted(invokeOptions.signal);
      // Asked before every request (cheap: providers keep tokens until they near expiry), so a long
      // run renews between pages instead of sending a token that has just expired.
      const freshAfter401 = renewed;
      const token = renewed ?? (await options.tokens.getToken({ resource: endpoint.resource, ...signalOf(invokeOptions) }));
      renewed = undefined;
      // The caller's last check (slot still held, no cool-down) comes after the token, as close to
      // the send as possible: a token renewal can take a while, and a cool-down started meanwhile
      // must still stop this request.
      const checkStartedMs = Date.now();
      await invokeOptions.beforeRequest?.();
      throwIfAborted(invokeOptions.signal);
      // The check waited out a cool-down: the token may be near its end by now, so ask again (a
      // token just renewed after a 401 is kept: it carries what the 401 asked for).
      if (Date.now() - checkStartedMs > 1_000) {
        renewed = freshAfter401;
        continue;
      }
      const clientRequestId = randomUUID();
      let response: HttpResponse;
      try {
        response = await options.transport.request({
          method: 'POST',
          url,
          headers: requestHeaders(request, token, clientRequestId),
          body,
          timeoutMs: options.requestTimeoutMs ?? 960_000,
          ...signalOf(invokeOptions),
        });
      } catch (error) {
        throwIfAborted(invokeOptions.signal);
        const networkError = toNetworkError(error, request.cmdlet, label, clientRequestId);
        // A write cmdlet that may have reached the service is not sent twice.
        if (!isReadOnlyCmdlet(request.cmdlet, request.parameters) || retries >= maxRetries) throw networkError;
        const waitMs = backoffMs(retries);
        retries += 1;
        options.logger?.warn({ cmdlet: request.cmdlet, err: networkError.message, waitMs }, 'network failure; retrying');
        await sleep(waitMs, invokeOptions.signal);
        continue;
      }

      const { status, headers } = response;
      if (status >= 200 && status < 300) return { response, clientRequestId };

      if ((status === 301 || status === 302 || status === 307 || status === 308) && headers['location']) {
        const location = new URL(headers['location'], url).toString();
        if (!isTrustedUrl(location, endpoint.trustedHosts) || redirects >= 3) {
          throw new AppError(
            'EXO_UNTRUSTED_HOST',
            `${label} redirected ${request.cmdlet} to ${hostOf(location)}, which is not a host of this tenant's cloud; the token was not sent there.`,
            {
              details: { cmdlet: request.cmdlet, host: hostOf(location), status },
            },
          );
        }
        redirects += 1;
        regionalOrigins.set(input.tenantSegment, new URL(location).origin);
        options.logger?.debug({ cmdlet: request.cmdlet, host: hostOf(location) }, 'following the regional redirect');
        url = location;
        continue;
      }

      if (status === 401 && !refreshedAfter401) {
        refreshedAfter401 = true;
        const claims = claimsChallenge(headers['www-authenticate']);
        renewed = await options.tokens.getToken({ resource: endpoint.resource, forceRefresh: true, ...(claims ? { claims } : {}), ...signalOf(invokeOptions) });
        continue;
      }

      const failure = parseFailure(decodeBody(response.body, headers['content-encoding']));
      const kind = classifyFailure(status, failure);
      const context = { cmdlet: request.cmdlet, serviceLabel: label, status, requestId: headers['request-id'], clientRequestId };
      if (kind === 'final') throw failureToError(failure, context);

      const explicitWaitMs = parseRetryAfterMs(headers['retry-after']);
      const waitMs = explicitWaitMs ?? backoffMs(retries);
      options.onThrottle?.({ service: request.service, status, waitMs, explicit: explicitWaitMs !== undefined });
      if (retries >= maxRetries || waitMs > maxInPlaceWaitMs) throw failureToError(failure, context, waitMs);
      retries += 1;
      options.logger?.info({ cmdlet: request.cmdlet, status, waitMs, retry: retries }, `${label} asked to wait; retrying`);
      await sleep(waitMs, invokeOptions.signal);
    }
  }

  function initialUrl(request: CmdletRequest, endpoint: ServiceEndpoint, tenantSegment: string): string {
    const origin = (request.service === 'ipps' ? regionalOrigins.get(tenantSegment) : undefined) ?? endpoint.baseUrl;
    const select = request.select && request.select.length > 0 ? `?$select=${request.select.map(encodeURIComponent).join(',')}` : '';
    return `${origin}/adminapi/beta/${encodeURIComponent(tenantSegment)}/InvokeCommand${select}`;
  }

  function requestHeaders(request: CmdletRequest, token: AccessToken, clientRequestId: string): Record<string, string> {
    const anchor =
      options.tokens.mode === 'delegated' && options.tokens.account ? `UPN:${options.tokens.account}` : `APP:${APP_ONLY_ANCHOR_MAILBOX}@${token.tenantId}`;
    return {
      authorization: `Bearer ${token.token}`,
      'content-type': 'application/json; charset=utf-8',
      accept: 'application/json',
      'accept-encoding': 'gzip',
      prefer: `odata.maxpagesize=${request.pageSize ?? 1000}`,
      'x-anchormailbox': anchor,
      'x-cmdletname': request.cmdlet,
      'x-clientapplication': options.clientApplication ?? 'exorun',
      'client-request-id': clientRequestId,
      'connection-id': connectionId,
    };
  }

  return { invoke };
}

function numericResultSize(parameters: Readonly<Record<string, unknown>>): number | undefined {
  const entry = Object.entries(parameters).find(([name]) => name.toLowerCase() === 'resultsize');
  const value = entry?.[1];
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

/** The CAE claims challenge of a 401 (`claims="<base64>"`), decoded, if any. */
function claimsChallenge(header: string | undefined): string | undefined {
  const encoded = header ? /claims="([^"]+)"/i.exec(header)?.[1] : undefined;
  if (!encoded) return undefined;
  try {
    return Buffer.from(encoded, 'base64').toString('utf8');
  } catch {
    return undefined;
  }
}

function toNetworkError(error: unknown, cmdlet: string, label: string, clientRequestId: string): AppError {
  if (isAppError(error)) return error;
  const code = (error as { code?: string } | null)?.code ?? '';
  const timeout = /TIMEOUT/i.test(code);
  return new AppError(
    timeout ? 'EXO_TIMEOUT' : 'EXO_UNAVAILABLE',
    `${label} ${timeout ? 'did not answer in time' : 'could not be reached'} for ${cmdlet}: ${(error as Error)?.message ?? String(error)}`,
    { cause: error, details: { cmdlet, clientRequestId, ...(code ? { networkCode: code } : {}) } },
  );
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    throw reason instanceof Error ? reason : new AppError('RUN_ABORTED', 'The run was aborted.');
  }
}

function signalOf(options: InvokeOptions): { signal?: AbortSignal } {
  return options.signal === undefined ? {} : { signal: options.signal };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url.slice(0, 80);
  }
}
