import type { TenantRegistry } from '../tenants.js';
import type { PendingDeviceCode } from '../types.js';
import type { DeviceCodeEntry, DeviceCodeStore } from './device-codes.js';
import { EXO_POWERSHELL_CLIENT_ID } from './public-clients.js';

export interface DeviceApprovalDeps {
  tenants: TenantRegistry;
  deviceCodes: DeviceCodeStore;
  now(): number;
}

/**
 * Plays the user at the verification page. False when no pending code has this user code; throws
 * when the user cannot approve it (unknown user, or another tenant's user for a tenant's own app).
 */
export function approveDeviceCode(deps: DeviceApprovalDeps, userCode: string, upn?: string): boolean {
  const nowMs = deps.now();
  const entry = deps.deviceCodes.findPending(userCode, nowMs);
  if (!entry) return false;
  let approval: { tenantId: string; upn: string };
  if (upn === undefined) {
    const automatic = defaultApproval(deps.tenants, entry);
    if (!automatic) throw new Error(`device code ${entry.userCode} was requested at /${entry.tenantSegment}; name the user (upn) who approves it`);
    approval = automatic;
  } else {
    const tenant = entry.tenantId === undefined ? deps.tenants.findUser(upn)?.tenant : deps.tenants.find(entry.tenantId);
    const user = tenant?.users.find(upn);
    if (!tenant || !user) {
      throw new Error(`no user ${upn} in ${tenant?.organization ?? 'any simulated tenant'}; provision the tenant with users: ['${upn}'] first`);
    }
    if (entry.clientId !== EXO_POWERSHELL_CLIENT_ID && entry.clientId !== tenant.clientId) {
      throw new Error(`${upn} cannot approve a code for application ${entry.clientId}, which is registered in another tenant`);
    }
    approval = { tenantId: tenant.tenantId, upn: user.upn };
  }
  return deps.deviceCodes.approve(userCode, approval, nowMs);
}

/** `admin@<organization>` of the tenant the code names (or whose app asked); undefined at /organizations with the module. */
export function defaultApproval(tenants: TenantRegistry, entry: DeviceCodeEntry): { tenantId: string; upn: string } | undefined {
  const tenant = entry.tenantId === undefined ? tenants.all().find((candidate) => candidate.clientId === entry.clientId) : tenants.find(entry.tenantId);
  return tenant ? { tenantId: tenant.tenantId, upn: tenant.users.admin.upn } : undefined;
}

export function listPendingDeviceCodes(deps: DeviceApprovalDeps): PendingDeviceCode[] {
  return deps.deviceCodes.pending(deps.now()).map((entry) => {
    const tenant = entry.tenantId === undefined ? undefined : deps.tenants.find(entry.tenantId);
    return {
      userCode: entry.userCode,
      tenant: tenant?.organization ?? entry.tenantSegment,
      ...(entry.tenantId === undefined ? {} : { tenantId: entry.tenantId }),
      clientId: entry.clientId,
      scope: entry.scope,
      expiresAt: new Date(entry.expiresAtMs).toISOString(),
    };
  });
}
