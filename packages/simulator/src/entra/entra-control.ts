import { claimsValue, type CaeStore } from '../admin-api/cae.js';
import type { EntraControl } from '../control-entra.js';
import type { SimulatorRecorder } from '../recorder.js';
import type { TenantRegistry } from '../tenants.js';
import { approveDeviceCode, listPendingDeviceCodes } from './device-approval.js';
import type { DeviceCodeStore } from './device-codes.js';
import type { RefreshTokenStore } from './refresh-tokens.js';

export interface EntraControlDeps {
  tenants: TenantRegistry;
  deviceCodes: DeviceCodeStore;
  refreshTokens: RefreshTokenStore;
  cae: CaeStore;
  recorder: SimulatorRecorder;
  now: () => number;
}

/** The Simulator methods (and control API routes) that play the user, the admin and Entra's policy engine. */
export function createEntraControl(deps: EntraControlDeps): EntraControl {
  const { tenants, deviceCodes, refreshTokens, cae, recorder, now } = deps;
  return {
    approveDeviceCode: (userCode, upn) => approveDeviceCode(deps, userCode, upn),
    declineDeviceCode(userCode) {
      const entry = deviceCodes.findPending(userCode, now());
      const declined = deviceCodes.decline(userCode, now());
      if (declined) recorder.countEntra(entry?.tenantId, 'deviceCodesDeclined');
      return declined;
    },
    pendingDeviceCodes: () => listPendingDeviceCodes(deps),
    revokeUser(upn) {
      const found = tenants.findUser(upn);
      if (!found) throw new Error(`no simulated user '${upn}'`);
      recorder.countEntra(found.tenant.tenantId, 'revocations');
      return refreshTokens.revokeUser(found.tenant.tenantId, found.user.upn, now());
    },
    requireClaims({ organizationOrId, upn }) {
      const tenant = tenants.find(organizationOrId);
      if (!tenant) throw new Error(`no simulated tenant '${organizationOrId}'`);
      if (upn !== undefined && !tenant.users.find(upn)) throw new Error(`no user '${upn}' in ${tenant.organization}`);
      const momentMs = now();
      cae.require(tenant.tenantId, upn, momentMs);
      return claimsValue(momentMs);
    },
    entraStats: (organizationOrId) => recorder.entra(organizationOrId),
  };
}
