import type { EntraStats } from '../types.js';

export type EntraCounter = keyof EntraStats;

const ZERO: EntraStats = {
  appTokens: 0,
  userTokens: 0,
  deviceCodesIssued: 0,
  deviceCodesApproved: 0,
  deviceCodesDeclined: 0,
  deviceCodesRedeemed: 0,
  deviceCodePendingPolls: 0,
  refreshRedemptions: 0,
  rotations: 0,
  reuseDetections: 0,
  revocations: 0,
  refreshRefusals: 0,
};

/** Token endpoint counters per tenant id; events with no tenant yet (a code at /organizations) count under ''. */
export interface EntraStatsCounters {
  count(tenantId: string | undefined, counter: EntraCounter): void;
  /** One tenant id, or every tenant summed when undefined. */
  get(tenantId?: string): EntraStats;
  reset(): void;
}

export function createEntraStats(): EntraStatsCounters {
  const byTenant = new Map<string, EntraStats>();
  return {
    count(tenantId, counter) {
      const key = tenantId ?? '';
      let stats = byTenant.get(key);
      if (!stats) {
        stats = { ...ZERO };
        byTenant.set(key, stats);
      }
      stats[counter]++;
    },
    get(tenantId) {
      const total = { ...ZERO };
      for (const [key, stats] of byTenant) {
        if (tenantId !== undefined && key !== tenantId) continue;
        for (const counter of Object.keys(total) as EntraCounter[]) total[counter] += stats[counter];
      }
      return total;
    },
    reset() {
      byTenant.clear();
    },
  };
}
