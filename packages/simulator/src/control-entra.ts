import { jsonResponse, type SimResponse } from './http.js';
import type { EntraStats, PendingDeviceCode } from './types.js';

/** What the sign-in routes of the control API drive (the Simulator methods of the same names). */
export interface EntraControl {
  approveDeviceCode(userCode: string, upn?: string): boolean;
  declineDeviceCode(userCode: string): boolean;
  pendingDeviceCodes(): PendingDeviceCode[];
  revokeUser(upn: string): number;
  requireClaims(options: { organizationOrId: string; upn?: string }): string;
  entraStats(organizationOrId?: string): EntraStats;
}

const DEVICE_CODE_ACTION = /^POST \/_simulator\/device-codes\/([^/]+)\/(approve|decline)$/;
const REVOKE_USER = /^POST \/_simulator\/users\/([^/]+)\/revoke$/;

/**
 * The sign-in routes: device codes (`exorun simulate approve`), user revocation, CAE and token
 * endpoint counters. Undefined when `route` is not one of them. Thrown errors become 400s upstream.
 */
export function entraRoute(route: string, url: URL, body: () => Record<string, unknown>, control: EntraControl): SimResponse | undefined {
  let match: RegExpExecArray | null;
  if (route === 'GET /_simulator/device-codes') return jsonResponse(200, control.pendingDeviceCodes());
  if ((match = DEVICE_CODE_ACTION.exec(route)) && match[1]) {
    const userCode = decodeURIComponent(match[1]);
    const upn = optionalString(body(), 'upn');
    const done = match[2] === 'approve' ? control.approveDeviceCode(userCode, upn) : control.declineDeviceCode(userCode);
    return done
      ? jsonResponse(200, { ok: true, userCode })
      : jsonResponse(404, { error: 'not_found', message: `no pending device code ${userCode} (wrong, used, decided or expired)` });
  }
  if ((match = REVOKE_USER.exec(route)) && match[1]) {
    const upn = decodeURIComponent(match[1]);
    let revokedFamilies: number;
    try {
      revokedFamilies = control.revokeUser(upn);
    } catch (error) {
      return jsonResponse(404, { error: 'not_found', message: error instanceof Error ? error.message : String(error) });
    }
    return jsonResponse(200, { ok: true, upn, revokedFamilies });
  }
  if (route === 'POST /_simulator/cae') {
    const request = body();
    const organization = optionalString(request, 'organization');
    if (organization === undefined) throw new Error('organization is required');
    const upn = optionalString(request, 'upn');
    const claims = control.requireClaims({ organizationOrId: organization, ...(upn === undefined ? {} : { upn }) });
    return jsonResponse(200, { ok: true, claims });
  }
  if (route === 'GET /_simulator/stats/entra') {
    const tenant = url.searchParams.get('tenant');
    return jsonResponse(200, control.entraStats(tenant ?? undefined));
  }
  return undefined;
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new Error(`${name} must be a string`);
  return value;
}
