import { bindParameters } from './cmdlets/binding.js';
import type { CmdletRegistry } from './cmdlets/registry.js';
import { resultLimit, takeWindow } from './cmdlets/result-window.js';
import { unknownCmdletError } from './cmdlets/unknown-cmdlet.js';
import type { TenantDataset } from './data/tenant-dataset.js';
import type { TenantData } from './types.js';

const PAGE = 1000;

/** Offline access to what the admin API would return, for tests that compute expected outputs. */
export function createTenantData(dataset: TenantDataset, registry: CmdletRegistry, now: () => number = Date.now): TenantData {
  return {
    tenantId: dataset.tenantId,
    organization: dataset.organization,
    seed: dataset.seed,
    mailboxCount: dataset.mailboxCount,
    auditRecordsPerHour: dataset.auditRecordsPerHour,
    results(cmdlet, parameters = {}) {
      const spec = registry.all().find((candidate) => candidate.name.toLowerCase() === cmdlet.trim().toLowerCase());
      if (!spec) throw unknownCmdletError(cmdlet);
      // Validate now, not on first iteration, so callers see errors where they call.
      const bound = bindParameters(spec, parameters);
      // No session store: a SessionId call here is a fresh session and leaves the service's alone.
      const source = spec.run(dataset, bound, { nowMs: now(), continuation: false });
      const limit = resultLimit(spec, bound);
      return {
        *[Symbol.iterator]() {
          let cursor: { position: number; emitted: number } | undefined = { position: source.startPosition?.() ?? 0, emitted: 0 };
          while (cursor) {
            const window = takeWindow(source, { from: cursor.position, emitted: cursor.emitted, pageSize: PAGE, limit });
            for (const row of window.rows) yield { ...row.object };
            cursor = window.next;
          }
        },
      };
    },
  };
}
