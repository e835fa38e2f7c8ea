import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { header, jsonResponse, readBody, requestUrl, textResponse, writeResponse, type RequestHandler, type SimResponse } from '../http.js';
import type { TokenSigner } from '../jwt.js';
import type { TenantRecord, TenantRegistry } from '../tenants.js';
import { aadError, aadErrorResponse, tenantNotFound, type AadError } from './aad-error.js';
import { jsonWebKeySet, MULTI_TENANT_SEGMENTS, openIdConfiguration } from './discovery.js';
import { DEVICE_LOGIN_PAGE, requestDeviceCode } from './device-code-endpoint.js';
import { GRANT_HANDLERS, type GrantDeps } from './grants.js';

export interface LoginDeps {
  tenants: TenantRegistry;
  signer: TokenSigner;
  /** The configured login origin (publicHost). */
  origin(): string;
  /** Host names (no port) the server certificate covers; a Host header with one of them is echoed in metadata. */
  hostNames: readonly string[];
  /** What grant handlers and the device-code endpoint use. */
  grants: GrantDeps;
  now(): number;
  /** Handles `/_simulator/…` (the control API). */
  control: RequestHandler;
}

const OPENID = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration\/?$/i;
const KEYS = /^\/([^/]+)\/discovery\/(?:v2\.0\/)?keys\/?$/i;
const TOKEN = /^\/([^/]+)\/oauth2\/v2\.0\/token\/?$/i;
const DEVICE_CODE = /^\/([^/]+)\/oauth2\/v2\.0\/devicecode\/?$/i;

/** The Entra v2 surface msal-node uses: discovery, keys and the token endpoint. */
export function createLoginHandler(deps: LoginDeps): RequestHandler {
  return async (req, res) => {
    const url = requestUrl(req);
    if (url.pathname.startsWith('/_simulator/')) return deps.control(req, res);
    const body = await readBody(req, 1024 * 1024).catch(() => undefined);
    if (body === undefined) return writeResponse(res, textResponse(413, 'Request Entity Too Large'));
    const origin = originFor(req, deps);
    let match: RegExpExecArray | null;
    if (req.method === 'GET' && (match = OPENID.exec(url.pathname)) && match[1]) {
      return writeResponse(res, discovery(decodeURIComponent(match[1]), origin, deps));
    }
    if (req.method === 'GET' && KEYS.test(url.pathname)) return writeResponse(res, jsonResponse(200, jsonWebKeySet(deps.signer)));
    if ((match = TOKEN.exec(url.pathname)) && match[1]) {
      if (req.method !== 'POST') return writeResponse(res, textResponse(405, 'Method Not Allowed', { Allow: 'POST' }));
      return writeResponse(res, token(req, url, decodeURIComponent(match[1]), body, origin, deps));
    }
    if ((match = DEVICE_CODE.exec(url.pathname)) && match[1]) {
      if (req.method !== 'POST') return writeResponse(res, textResponse(405, 'Method Not Allowed', { Allow: 'POST' }));
      return writeResponse(res, deviceCode(req, url, decodeURIComponent(match[1]), body, origin, deps));
    }
    if (req.method === 'GET' && /^\/devicelogin\/?$/i.test(url.pathname)) {
      return writeResponse(res, { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: DEVICE_LOGIN_PAGE });
    }
    writeResponse(res, textResponse(404, 'Not Found'));
  };
}

function discovery(segment: string, origin: string, deps: LoginDeps): SimResponse {
  if (MULTI_TENANT_SEGMENTS.has(segment.toLowerCase())) return jsonResponse(200, openIdConfiguration(origin, segment.toLowerCase()));
  const tenant = deps.tenants.find(segment);
  if (!tenant) {
    return jsonResponse(400, {
      error: 'invalid_tenant',
      error_description: `AADSTS90002: ${tenantNotFound(segment).text}`,
      error_codes: [90002],
    });
  }
  return jsonResponse(200, openIdConfiguration(origin, tenant.tenantId));
}

/** The parts of a form POST to `/{tenant}/oauth2/v2.0/…` every endpoint needs. */
interface FormContext {
  form: URLSearchParams;
  correlationId: string | undefined;
  nowMs: number;
  tenant: TenantRecord | undefined;
  fail(failure: AadError): SimResponse;
  ok(body: unknown): SimResponse;
}

function formContext(req: IncomingMessage, url: URL, segment: string, body: Buffer, origin: string, deps: LoginDeps): FormContext | SimResponse {
  const form = new URLSearchParams(body.toString('utf8'));
  const correlationId = url.searchParams.get('client-request-id') ?? header(req, 'client-request-id') ?? form.get('client-request-id') ?? undefined;
  const nowMs = deps.now();
  const fail = (failure: AadError): SimResponse => aadErrorResponse(failure, { ...(correlationId ? { correlationId } : {}), loginOrigin: origin, nowMs });
  const multiTenant = MULTI_TENANT_SEGMENTS.has(segment.toLowerCase());
  const tenant = multiTenant ? undefined : deps.tenants.find(segment);
  if (!tenant && !multiTenant) return fail(tenantNotFound(segment));
  const ok = (value: unknown): SimResponse =>
    jsonResponse(200, value, {
      'Cache-Control': 'no-store, no-cache',
      Pragma: 'no-cache',
      'x-ms-request-id': randomUUID(),
      ...(correlationId ? { 'client-request-id': correlationId } : {}),
    });
  return { form, correlationId, nowMs, tenant, fail, ok };
}

function token(req: IncomingMessage, url: URL, segment: string, body: Buffer, origin: string, deps: LoginDeps): SimResponse {
  const context = formContext(req, url, segment, body, origin, deps);
  if ('status' in context) return context;
  const { form, tenant, nowMs } = context;
  const grantType = form.get('grant_type') ?? '';
  const grant = Object.hasOwn(GRANT_HANDLERS, grantType) ? GRANT_HANDLERS[grantType] : undefined;
  if (!grant) {
    return context.fail(aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`));
  }
  // A `claims` parameter (CAE, msal's client capabilities) is accepted on every grant and needs
  // no handling: every response carries a freshly issued token, there is no server-side cache.
  const result = grant(
    { form, tenant, tenantSegment: segment, nowMs, origin, audienceMatches: (aud, target) => audienceMatches(aud, target, deps) },
    deps.grants,
  );
  return result.ok ? context.ok(result.body) : context.fail(result.error);
}

function deviceCode(req: IncomingMessage, url: URL, segment: string, body: Buffer, origin: string, deps: LoginDeps): SimResponse {
  const context = formContext(req, url, segment, body, origin, deps);
  if ('status' in context) return context;
  const result = requestDeviceCode(
    {
      form: context.form,
      tenant: context.tenant,
      tenantSegment: segment,
      nowMs: context.nowMs,
      origin,
      audienceMatches: (aud, target) => audienceMatches(aud, target, deps),
    },
    deps.grants,
  );
  return result.ok ? context.ok(result.body) : context.fail(result.error);
}

/**
 * An assertion's `aud` must be this listener's token endpoint (v2 or v1) or issuer for the tenant,
 * with the tenant written as id or domain: msal-node may rewrite the id back to the domain.
 */
function audienceMatches(aud: string, tenant: TenantRecord, deps: LoginDeps): boolean {
  let parsed: URL;
  try {
    parsed = new URL(aud);
  } catch {
    return false;
  }
  const expected = new URL(deps.origin());
  if (parsed.protocol !== 'https:' || parsed.port !== expected.port || !deps.hostNames.includes(parsed.hostname.replace(/^\[|\]$/g, ''))) return false;
  const match = /^\/([^/]+)\/(?:oauth2\/v2\.0\/token|oauth2\/token|v2\.0)\/?$/i.exec(parsed.pathname);
  return !!match?.[1] && deps.tenants.find(decodeURIComponent(match[1])) === tenant;
}

/** Metadata echoes the Host the client used (localhost or the IP) so msal's issuer check passes. */
function originFor(req: IncomingMessage, deps: LoginDeps): string {
  const configured = deps.origin();
  const host = header(req, 'host');
  if (!host) return configured;
  try {
    const parsed = new URL(`https://${host}`);
    const ok = parsed.port === new URL(configured).port && deps.hostNames.includes(parsed.hostname.replace(/^\[|\]$/g, ''));
    return ok ? `https://${parsed.host}` : configured;
  } catch {
    return configured;
  }
}
