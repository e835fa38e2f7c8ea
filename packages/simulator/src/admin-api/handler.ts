import { constants, gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CmdletRegistry } from '../cmdlets/registry.js';
import { BodyTooLargeError, emptyResponse, header, readBody, requestUrl, textResponse, writeResponse, type RequestHandler, type SimResponse } from '../http.js';
import type { TokenSigner } from '../jwt.js';
import type { CallHandle, SimulatorRecorder } from '../recorder.js';
import type { ServiceResources } from '../resources.js';
import type { EffectiveSettings } from '../settings.js';
import type { TenantRecord, TenantRegistry } from '../tenants.js';
import type { AuditSessionStore } from '../cmdlets/audit-sessions.js';
import type { CallRecord, ServiceName, SimulatorRole } from '../types.js';
import { authenticate, issuedAtMs } from './bearer-auth.js';
import type { CaeStore } from './cae.js';
import type { CursorStore } from './cursors.js';
import { concurrencyRefusal, gatewayErrorResponse, newRequestId, serverErrorResponse, throttledResponse, unavailableResponse } from './envelope.js';
import { retryAfter, type Fault, type FaultInjector } from './faults.js';
import { invokeCommand, peekCmdletName } from './invoke.js';
import { createRateWindow } from './rate-window.js';

export interface AdminApiDeps {
  urls: () => Readonly<Record<SimulatorRole, string>>;
  tenants: TenantRegistry;
  registry: CmdletRegistry;
  recorder: SimulatorRecorder;
  cursors: CursorStore;
  auditSessions: AuditSessionStore;
  cae: CaeStore;
  faults: FaultInjector;
  signer: TokenSigner;
  resources: ServiceResources;
  settingsFor: (tenant: TenantRecord | undefined) => EffectiveSettings;
  gzip: boolean;
  now: () => number;
}

const ADMIN_PATH = /^\/adminapi\/([^/]+)\/([^/]+)\/InvokeCommand\/?$/i;

/** EXO (`exo`) and regional IPPS (`ippsRegional`) InvokeCommand; the global `ipps` host only redirects. */
export function createAdminApiHandler(role: Exclude<SimulatorRole, 'login'>, deps: AdminApiDeps): RequestHandler {
  const service: ServiceName = role === 'exo' ? 'exo' : 'ipps';
  const rates = createRateWindow(deps.now);

  return async (req, res) => {
    const url = requestUrl(req);
    const match = ADMIN_PATH.exec(url.pathname);
    if (!match?.[1] || !match[2]) return finishEarly(req, res, textResponse(404, 'Not Found'));
    if (match[1].toLowerCase() !== 'beta') {
      return finishEarly(req, res, match[1].toLowerCase() === 'v1.0' ? textResponse(405, 'Method Not Allowed') : textResponse(404, 'Not Found'));
    }
    if (req.method !== 'POST') return finishEarly(req, res, textResponse(405, 'Method Not Allowed', { Allow: 'POST' }));
    const tenantSegment = match[2];
    const tenant = deps.tenants.find(safeDecode(tenantSegment));
    const requestId = newRequestId();
    const clientRequestId = header(req, 'client-request-id');
    const authorization = header(req, 'authorization');

    if (role === 'ipps') {
      const call = deps.recorder.begin(tenant?.tenantId ?? tenantSegment.toLowerCase(), service, { inFlight: false, known: !!tenant });
      const response =
        authorization === undefined
          ? emptyResponse(401, { 'WWW-Authenticate': 'Basic Realm=""' })
          : emptyResponse(302, { Location: `${deps.urls().ippsRegional}${req.url ?? url.pathname}` });
      const body = await readBody(req).catch(() => Buffer.alloc(0));
      track(res, call, { cmdlet: peekCmdletName(body), page: 0, expiredToken: false, clientRequestId, requestId });
      writeResponse(res, withIds(response, requestId, clientRequestId));
      return;
    }

    const arrivedAt = performance.now();
    const call = deps.recorder.begin(tenant?.tenantId ?? tenantSegment.toLowerCase(), service, { inFlight: !!tenant, known: !!tenant });
    const anchorMailbox = header(req, 'x-anchormailbox');
    const connectionId = header(req, 'connection-id');
    const info: CallInfo = {
      cmdlet: '',
      page: 0,
      expiredToken: false,
      clientRequestId,
      requestId,
      ...(anchorMailbox === undefined ? {} : { anchorMailbox }),
      ...(connectionId === undefined ? {} : { connectionId }),
    };
    track(res, call, info);
    const settings = deps.settingsFor(tenant);

    // Everything decided from headers happens at arrival, so simultaneous requests see each other.
    let response: SimResponse | undefined;
    let fault: Fault | undefined;
    const auth = authenticate(authorization, {
      service,
      tenantId: tenant?.tenantId,
      signer: deps.signer,
      resources: deps.resources,
      loginOrigin: deps.urls().login,
      nowMs: deps.now(),
      claimsRequiredSince: (tenantId, upn) => deps.cae.momentFor(tenantId, upn),
    });
    if (auth.claims) Object.assign(info, callerOf(auth.claims));
    if (!auth.ok) {
      response = auth.response;
      if (auth.expired) {
        info.expiredToken = true;
        call.mark('expiredTokenUses');
      }
      if (auth.cae) call.mark('caeChallenges');
    } else if (call.inFlightAtArrival > settings.concurrencyCap) {
      response = concurrencyRefusal();
      call.mark('refusedConcurrency');
    } else {
      fault = deps.faults.decide(`${tenant?.tenantId}|${service}`, settings.faults);
    }

    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLargeError) writeResponse(res, textResponse(413, 'Request Entity Too Large'));
      return;
    }
    info.cmdlet = peekCmdletName(body);
    if (!response && !fault && tenant) {
      const outcome = invokeCommand(
        { tenant, service, tenantSegment, origin: deps.urls()[role], url, body, prefer: header(req, 'prefer'), errorFormat: settings.errorFormat },
        deps,
      );
      response = outcome.response;
      info.cmdlet = outcome.cmdlet || info.cmdlet;
      info.page = outcome.page;
    }
    // The configured latency is the whole time the call takes at the service, processing included,
    // so that a benchmark's bound C / L is exactly what the service allows.
    const waitMs = settings.latencyMs - (performance.now() - arrivedAt);
    if (waitMs > 0) await sleep(waitMs);
    if (fault) response = faultResponse(fault, { tenant, service, call, settings, deps });
    response ??= textResponse(500, 'Internal Server Error');
    if (response.status === 200 && tenant) {
      Object.assign(response.headers, successHeaders(tenant, rates.hit(`${tenant.tenantId}|${service}`), call.inFlightAtArrival - 1));
    }
    writeResponse(res, compress(withIds(response, requestId, clientRequestId), deps.gzip && /\bgzip\b/i.test(header(req, 'accept-encoding') ?? '')));
  };
}

/** The answer to an injected failure (decided at arrival, written after the latency). */
function faultResponse(
  fault: Fault,
  context: { tenant: TenantRecord | undefined; service: ServiceName; call: CallHandle; settings: EffectiveSettings; deps: AdminApiDeps },
): SimResponse {
  const { tenant, service, call, settings, deps } = context;
  switch (fault.kind) {
    case 'refuse':
      // The injected refusal looks exactly like the real one: plain text, no Retry-After.
      call.mark('injectedRefusals');
      return concurrencyRefusal();
    case 'server-error':
      // The request was not run: re-posting the same body (and cursor) gets what it would have.
      call.mark('injectedServerErrors');
      return serverErrorResponse(fault.occurrence);
    case 'gateway-error':
      call.mark('injectedServerErrors');
      return gatewayErrorResponse(fault.occurrence);
    case 'throttle':
    case 'unavailable': {
      const after = retryAfter(settings.faults, deps.now(), fault.occurrence);
      if (tenant) deps.recorder.noteRetryAfter(tenant.tenantId, service, after.untilMs);
      if (fault.kind === 'throttle') call.mark('throttled');
      return fault.kind === 'throttle' ? throttledResponse(after.value) : unavailableResponse(after.value);
    }
  }
}

type CallInfo = Omit<Parameters<CallHandle['finish']>[0], 'status'>;

/** Who a verified token names, for the call log. */
function callerOf(claims: Record<string, unknown>): Pick<CallRecord, 'callerKind' | 'caller' | 'tokenIssuedAt' | 'tokenExpiresAt'> {
  const user = claims['idtyp'] === 'user';
  const caller = user ? claims['upn'] : claims['appid'];
  const issued = issuedAtMs(claims);
  return {
    callerKind: user ? 'user' : 'app',
    ...(typeof caller === 'string' ? { caller } : {}),
    ...(issued === undefined ? {} : { tokenIssuedAt: issued }),
    ...(typeof claims['exp'] === 'number' ? { tokenExpiresAt: claims['exp'] * 1000 } : {}),
  };
}

function successHeaders(tenant: TenantRecord, rate: { remaining: number; resetMs: number }, concurrency: number): Record<string, string> {
  const site = tenant.dataset.domainController.split('.')[1] ?? 'NAMPRD01';
  return {
    'OData-Version': '4.0',
    'Preference-Applied': 'odata.include-annotations="*"',
    'Rate-Limit-Limit': '30000',
    'Rate-Limit-Remaining': String(rate.remaining),
    'Rate-Limit-Reset': new Date(rate.resetMs).toISOString(),
    'X-ConcurrencyCount': String(Math.max(0, concurrency)),
    'X-CombinedAppOnlyConcurrencyCount': String(Math.max(0, concurrency)),
    'X-CalculatedBETarget': `${site.slice(0, 3)}P${site.slice(6)}MB${tenant.tenantId.slice(0, 4).toUpperCase()}.${site.toLowerCase()}.prod.outlook.com`,
    'Cache-Control': 'no-cache',
    Vary: 'Accept-Encoding',
  };
}

function withIds(response: SimResponse, requestId: string, clientRequestId: string | undefined): SimResponse {
  response.headers['request-id'] = requestId;
  if (clientRequestId !== undefined) response.headers['client-request-id'] = clientRequestId;
  return response;
}

/** Gzips JSON bodies for clients that ask, like the service; the EXO 403 already lies about gzip. */
function compress(response: SimResponse, accepted: boolean): SimResponse {
  if (!accepted || response.body === undefined || response.headers['Content-Encoding'] !== undefined) return response;
  if (!String(response.headers['Content-Type']).startsWith('application/json')) return response;
  response.headers['Content-Encoding'] = 'gzip';
  // Fastest level: the simulator's job is to speak gzip like the service, not to save loopback bytes.
  response.body = gzipSync(response.body, { level: constants.Z_BEST_SPEED });
  return response;
}

function track(res: ServerResponse, call: CallHandle, info: CallInfo): void {
  // A call stops counting as in flight when the server hands its response over ('prefinish' is
  // emitted synchronously inside end()). 'finish' comes a loop turn later, by which time the client
  // may already have sent its next request: counting to 'finish' would see overlaps that never were.
  res.once('prefinish', () => call.finish({ ...info, status: res.statusCode }));
  // 'close' without a response: the client went away first; recorded as 499 (nginx's "client
  // closed request"), since no status reached anyone.
  res.once('close', () => call.finish({ ...info, status: res.writableFinished ? res.statusCode : 499 }));
}

async function finishEarly(req: IncomingMessage, res: ServerResponse, response: SimResponse): Promise<void> {
  await readBody(req).catch(() => undefined);
  writeResponse(res, response);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
