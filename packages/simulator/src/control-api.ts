import { timingSafeEqual } from 'node:crypto';
import { entraRoute, type EntraControl } from './control-entra.js';
import { header, jsonResponse, readBody, requestUrl, textResponse, writeResponse, type RequestHandler, type SimResponse } from './http.js';
import { parseTenantSettings } from './settings.js';
import type { ProvisionedTenant, ProvisionRequest, Recorder, TenantSettings } from './types.js';

export interface ControlDeps extends EntraControl {
  adminKey: string;
  provision(request: ProvisionRequest): Promise<ProvisionedTenant>;
  recorder: Recorder;
  configure(settings: TenantSettings, organizationOrId?: string): void;
}

/**
 * `/_simulator/…` on the login listener: how `exorun simulate` is driven from other processes.
 * Everything but health needs `Authorization: Bearer <adminKey>`; provisioning answers with a
 * private key, so it only ever travels over the simulator's TLS.
 */
export function createControlHandler(deps: ControlDeps): RequestHandler {
  const expected = Buffer.from(`Bearer ${deps.adminKey}`);
  const authorised = (value: string | undefined): boolean => {
    const given = Buffer.from(value ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  return async (req, res) => {
    const url = requestUrl(req);
    const route = `${req.method ?? 'GET'} ${url.pathname.replace(/\/$/, '')}`;
    let body: Buffer;
    try {
      body = await readBody(req, 1024 * 1024);
    } catch {
      return writeResponse(res, textResponse(413, 'Request Entity Too Large'));
    }
    if (route === 'GET /_simulator/health') return writeResponse(res, jsonResponse(200, { ok: true }));
    if (!authorised(header(req, 'authorization'))) {
      return writeResponse(
        res,
        jsonResponse(
          401,
          { error: 'unauthorized', message: 'The control API needs Authorization: Bearer <adminKey>.' },
          { 'WWW-Authenticate': 'Bearer realm="exorun-simulator"' },
        ),
      );
    }
    writeResponse(res, await route_(route, url, body, deps));
  };
}

async function route_(route: string, url: URL, body: Buffer, deps: ControlDeps): Promise<SimResponse> {
  try {
    const entra = entraRoute(route, url, () => (body.length === 0 ? {} : parseObject(body)), deps);
    if (entra) return entra;
    switch (route) {
      case 'POST /_simulator/tenants':
        return jsonResponse(200, await deps.provision(parseObject(body) as unknown as ProvisionRequest), { 'Cache-Control': 'no-store' });
      case 'GET /_simulator/stats': {
        const tenant = url.searchParams.get('tenant');
        const service = url.searchParams.get('service');
        if (service !== null && service !== 'exo' && service !== 'ipps') {
          return jsonResponse(400, { error: 'bad_request', message: "service must be 'exo' or 'ipps'" });
        }
        if (tenant === null) return jsonResponse(200, deps.recorder.snapshot());
        return jsonResponse(200, deps.recorder.stats(tenant, service ?? undefined));
      }
      case 'GET /_simulator/calls': {
        // The recorder's recent calls (a bounded ring), for benchmarks that need per-call server time.
        return jsonResponse(200, deps.recorder.calls(url.searchParams.get('tenant') ?? undefined));
      }
      case 'POST /_simulator/stats/reset':
        deps.recorder.reset();
        return jsonResponse(200, { ok: true });
      case 'PUT /_simulator/settings': {
        const request = parseObject(body);
        const organization = request['organization'];
        if (organization !== undefined && typeof organization !== 'string') throw new Error('organization must be a string');
        deps.configure(parseTenantSettings(request, ['organization']), organization);
        return jsonResponse(200, { ok: true });
      }
      default:
        return jsonResponse(404, { error: 'not_found', message: `no control route ${route}` });
    }
  } catch (error) {
    return jsonResponse(400, { error: 'bad_request', message: error instanceof Error ? error.message : String(error) });
  }
}

function parseObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error('the body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the body must be a JSON object');
  return value as Record<string, unknown>;
}
