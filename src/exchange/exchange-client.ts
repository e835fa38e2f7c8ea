import { randomUUID } from 'node:crypto';
import { isReadOnlyCmdlet } from '../core/index.js';
import { AppError, isAppError } from '../core/index.js';
import type { Logger } from '../core/index.js';
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
} from '../core/index.js';
import { decideRequestRetry, inPlaceWaitLimitMs, resumeAfterMs, type RequestRetryState } from '../core/index.js';
import { sleep as defaultSleep } from '../core/index.js';
import { decodeBody, parseFailure } from './error-body.js';
import { failureToError } from './map-error.js';
import { parsePage, type ParsedPage } from './page.js';
import { parseRetryAfterMs } from './retry-after.js';
import { isTrustedUrl } from './trusted-hosts.js';

/** The fixed system mailbox app-only calls are anchored to (docs/protocol.md §2.2). */
const APP_ONLY_ANCHOR_MAILBOX = 'SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}';

/** IPPS redirects once to its regional host; a chain of redirects is a misbehaving service or proxy. */
const MAX_REDIRECTS = 3;

/**
 * The module's client timeouts (its per-cmdlet timeout plus a minute) for cmdlets the service lets
 * run longer than its usual 15 minutes; every other cmdlet gets the 15 minutes plus one.
 */
const LONG_CMDLET_TIMEOUTS_MS: Readonly<Record<string, number>> = {
  'get-distributiongroupmember': 3_660_000,
  'import-transportrulecollection': 3_660_000,
  'set-unifiedgroup': 3_660_000,
  'update-distributiongroupmember': 3_660_000,
  'set-organizationconfig': 1_860_000,
  'update-rolegroupmember': 1_860_000,
};
const DEFAULT_REQUEST_TIMEOUT_MS = 960_000;

/** A wait at the gate longer than this may have aged the token: ask for it again before sending. */
const TOKEN_RECHECK_AFTER_WAIT_MS = 1_000;

export interface ExchangeClientOptions {
  endpoints: Pick<CloudEndpoints, 'exo' | 'ipps'>;
  tokens: TokenProvider;
  transport: HttpTransport;
  logger?: Logger;
  /** One id per logical connection, sent as `connection-id`. */
  connectionId?: string;
  /** Per-request limit; default 16 minutes (the service's 15 plus one), longer for the cmdlets the module allows more. */
  requestTimeoutMs?: number;
  /** Called whenever the service asks us to slow down (for metrics). Waiting itself is the gate's business. */
  onThrottle?: (event: { service: ServiceName; status: number; waitMs: number; explicit: boolean }) => void;
  /** Injected in tests to avoid real waiting. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Product token for `X-ClientApplication`. */
  clientApplication?: string;
}

const SERVICE_LABELS: Record<ServiceName, string> = { exo: 'Exchange Online', ipps: 'Security & Compliance' };

/** One page to fetch: where, and since when its cursor (the nextLink that names it) exists. */
interface PageRequest {
  request: CmdletRequest;
  endpoint: ServiceEndpoint;
  url: string;
  body: string;
  tenantSegment: string;
  invokeOptions: InvokeOptions;
  /** When the service issued the nextLink this request re-posts; undefined on the first page. */
  cursorIssuedAtMs?: number;
}

/**
 * Runs cmdlets over the REST InvokeCommand endpoint (docs/protocol.md §2, §3). One client serves one
 * tenant: it remembers the tenant's IPPS regional host after the first redirect. Before every
 * request it asks for a token (renewal happens between pages, not in the middle of one) and then
 * asks the gate whether the request may leave; failures are retried as the retry policy says —
 * transient ones in place with the same cursor, throttling by telling the gate, which holds back
 * every request for the tenant in every process.
 */
export function createExchangeClient(options: ExchangeClientOptions): ExchangeClient {
  const sleep = options.sleep ?? defaultSleep;
  const connectionId = options.connectionId ?? randomUUID();
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

    type Fetched = { page: CmdletPage; nextUrl: string | undefined; nextIssuedAtMs: number };
    const fetchPage = async (url: string, index: number, cursorIssuedAtMs: number | undefined): Promise<Fetched> => {
      const { parsed, requestId, clientRequestId } = await requestPage({
        request,
        endpoint,
        url,
        body,
        tenantSegment,
        invokeOptions: pageOptions,
        ...(cursorIssuedAtMs === undefined ? {} : { cursorIssuedAtMs }),
      });
      const nextIssuedAtMs = Date.now();
      let objects = parsed.objects;
      let nextUrl: string | undefined;
      // ResultSize is sent as given and also enforced here (the service may not apply it).
      if (limit !== undefined && delivered + objects.length >= limit) {
        objects = objects.slice(0, Math.max(0, limit - delivered));
      } else if (parsed.nextLink !== undefined) {
        if (!isTrustedUrl(parsed.nextLink, endpoint.trustedHosts)) {
          throw new AppError(
            'EXO_UNTRUSTED_HOST',
            `The next-page link of ${request.cmdlet} points to ${hostOf(parsed.nextLink)}, outside this tenant's cloud; the token was not sent there.`,
            { details: { cmdlet: request.cmdlet, host: hostOf(parsed.nextLink) } },
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
      return { page, nextUrl, nextIssuedAtMs };
    };

    let pending: Promise<Fetched> | undefined = fetchPage(initialUrl(request, endpoint, tenantSegment), 0, undefined);
    try {
      for (let index = 1; pending !== undefined; index += 1) {
        const { page, nextUrl, nextIssuedAtMs }: Fetched = await pending;
        pending = nextUrl === undefined ? undefined : fetchPage(nextUrl, index, nextIssuedAtMs);
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

  /**
   * POSTs one page and reads it: follows the IPPS redirect, renews the token once after a 401, and
   * retries as the retry policy says. The same body goes to the same URL every time, so a retried
   * next page re-posts its cursor (the service lets a cursor be re-posted until it expires).
   */
  async function requestPage(input: PageRequest): Promise<{ parsed: ParsedPage; requestId: string | undefined; clientRequestId: string }> {
    const { request, endpoint, body, invokeOptions } = input;
    const { gate, signal } = invokeOptions;
    const label = SERVICE_LABELS[request.service];
    let { url } = input;
    let redirects = 0;
    let refreshedAfter401 = false;
    /** Set after a 401: the token to retry with. Otherwise a token is asked for before every request. */
    let renewed: AccessToken | undefined;
    const state: RequestRetryState = { transientRetries: 0, throttledInARow: 0, idempotent: isReadOnlyCmdlet(request.cmdlet, request.parameters) };
    const cursorAgeMs = (): number | undefined => (input.cursorIssuedAtMs === undefined ? undefined : Date.now() - input.cursorIssuedAtMs);
    let maxWaitMs = inPlaceWaitLimitMs(cursorAgeMs());

    /** Sends the request again later as the policy says, or throws `error`. */
    const retryOrThrow = async (error: AppError, status: number | undefined): Promise<void> => {
      const age = cursorAgeMs();
      const decision = decideRequestRetry(error, { ...state, ...(age === undefined ? {} : { cursorAgeMs: age }) });
      if (!decision.retry) throw error;
      if (decision.reason === 'throttled') {
        state.throttledInARow += 1;
        maxWaitMs = decision.maxWaitMs;
        options.onThrottle?.({ service: request.service, status: status ?? 0, waitMs: decision.delayMs, explicit: error.retryAfterMs !== undefined });
        options.logger?.info(
          { cmdlet: request.cmdlet, status, waitMs: decision.delayMs, throttledInARow: state.throttledInARow },
          `${label} asked to wait; holding back this tenant's requests`,
        );
        if (gate) {
          // From here on nothing leaves for this tenant and service, in any process, before the
          // wait is over; the next admit() serves the wait (or hands the run back when too long).
          gate.throttled(decision.delayMs);
          return;
        }
        if (decision.delayMs > decision.maxWaitMs) throw error;
        await sleep(resumeAfterMs(decision.delayMs), signal);
        return;
      }
      state.transientRetries += 1;
      state.throttledInARow = 0;
      options.logger?.warn(
        { cmdlet: request.cmdlet, status, code: error.code, waitMs: decision.delayMs, retry: state.transientRetries },
        `${label} failed transiently (${error.code}); sending the same request again`,
      );
      await sleep(decision.delayMs, signal);
    };

    for (;;) {
      throwIfAborted(signal);
      const justRenewed = renewed !== undefined;
      const token = renewed ?? (await options.tokens.getToken({ resource: endpoint.resource, ...signalOf(invokeOptions) }));
      renewed = undefined;
      if (gate) {
        // The gate is the last thing before the send: a cool-down announced while the token was
        // renewed must still stop this request.
        const askedMs = Date.now();
        await gate.admit({ maxWaitMs, ...(signal === undefined ? {} : { signal }) });
        if (Date.now() - askedMs > TOKEN_RECHECK_AFTER_WAIT_MS && !justRenewed) continue;
      }
      const clientRequestId = randomUUID();
      let response: HttpResponse;
      options.logger?.debug({ cmdlet: request.cmdlet, clientRequestId }, 'request sent');
      try {
        response = await options.transport.request({
          method: 'POST',
          url,
          headers: requestHeaders(request, token, clientRequestId),
          body,
          timeoutMs: options.requestTimeoutMs ?? LONG_CMDLET_TIMEOUTS_MS[request.cmdlet.toLowerCase()] ?? DEFAULT_REQUEST_TIMEOUT_MS,
          ...signalOf(invokeOptions),
        });
      } catch (error) {
        throwIfAborted(signal);
        await retryOrThrow(toNetworkError(error, request.cmdlet, label, clientRequestId), undefined);
        continue;
      }

      const { status, headers } = response;
      if (status >= 200 && status < 300) {
        try {
          const parsed = parsePage(decodeBody(response.body, headers['content-encoding']), request.select, {
            cmdlet: request.cmdlet,
            clientRequestId,
            requestId: headers['request-id'],
          });
          return { parsed, requestId: headers['request-id'], clientRequestId };
        } catch (error) {
          if (!isAppError(error)) throw error;
          await retryOrThrow(error, status);
          continue;
        }
      }

      if ((status === 301 || status === 302 || status === 307 || status === 308) && headers['location']) {
        const location = new URL(headers['location'], url).toString();
        if (!isTrustedUrl(location, endpoint.trustedHosts)) {
          throw new AppError(
            'EXO_UNTRUSTED_HOST',
            `${label} redirected ${request.cmdlet} to ${hostOf(location)}, which is not a host of this tenant's cloud; the token was not sent there.`,
            { details: { cmdlet: request.cmdlet, host: hostOf(location), status } },
          );
        }
        if (redirects >= MAX_REDIRECTS) {
          throw new AppError(
            'EXO_BAD_RESPONSE',
            `${label} kept redirecting ${request.cmdlet} (${redirects} redirects, last to ${hostOf(location)}); giving up.`,
            {
              retryable: false,
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
      const context = { cmdlet: request.cmdlet, serviceLabel: label, status, requestId: headers['request-id'], clientRequestId };
      await retryOrThrow(failureToError(failure, context, parseRetryAfterMs(headers['retry-after'])), status);
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
