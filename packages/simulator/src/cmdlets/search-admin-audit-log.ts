import type { AuditLog } from '../data/audit-records.js';
import { SYSTEM_ACTOR } from '../data/audit-records.js';
import type { PropertyTypes } from '../data/property-types.js';
import { actorSet, auditWindow, lowerSet, type AuditMatcher } from './audit-query.js';
import type { BoundParameters, CmdletSpec, ResultRow } from './types.js';

export const ADMIN_AUDIT_TYPES: PropertyTypes = { RunDate: 'datetime', CmdletParameters: 'strings', ModifiedProperties: 'strings' };

/**
 * Search-AdminAuditLog: the ExchangeAdmin records of the unified log seen as admin audit entries,
 * so both cmdlets tell the same story. Oldest first like Search-UnifiedAuditLog (the service's
 * order is UNCONFIRMED); without dates the whole log up to now. StartIndex skips matches.
 */
export const searchAdminAuditLog: CmdletSpec = {
  name: 'Search-AdminAuditLog',
  service: 'exo',
  parameters: [
    { name: 'Cmdlets', type: 'string[]' },
    { name: 'EndDate', type: 'datetime' },
    { name: 'ExternalAccess', type: 'bool' },
    { name: 'IsSuccess', type: 'bool' },
    { name: 'ObjectIds', type: 'string[]' },
    { name: 'Parameters', type: 'string[]' },
    { name: 'ResultSize', type: 'int', range: [1, 250_000] },
    { name: 'StartDate', type: 'datetime' },
    { name: 'StartIndex', type: 'int', range: [0, 2_147_483_647] },
    { name: 'UserIds', type: 'string[]' },
  ],
  limit: (parameters) => ({ max: (parameters.get('ResultSize') as number | undefined) ?? 1000, isDefault: false }),
  run(dataset, parameters, context) {
    const { audit } = dataset;
    const window = auditWindow(audit, parameters, context.nowMs);
    const matches = adminMatcher(audit, parameters);
    const skip = (parameters.get('StartIndex') as number | undefined) ?? 0;
    return {
      startPosition() {
        let index = window.from;
        for (let skipped = 0; index < window.to; index++) {
          if (!matches(index)) continue;
          if (skipped++ === skip) break;
        }
        return index;
      },
      *rows(from): Iterable<ResultRow> {
        for (let index = Math.max(from, window.from); index < window.to; index++) {
          if (matches(index)) yield { position: index, object: audit.adminEntry(index), types: ADMIN_AUDIT_TYPES };
        }
      },
    };
  },
};

function adminMatcher(audit: AuditLog, parameters: BoundParameters): AuditMatcher {
  const cmdlets = lowerSet(parameters, 'Cmdlets');
  const actors = actorSet(audit, parameters, 'UserIds');
  const objectIds = lowerSet(parameters, 'ObjectIds');
  const parameterNames = lowerSet(parameters, 'Parameters');
  const external = parameters.get('ExternalAccess') as boolean | undefined;
  const success = parameters.get('IsSuccess') as boolean | undefined;
  return (index) => {
    const operation = audit.operationAt(index);
    if (!operation.admin) return false;
    if (cmdlets && !cmdlets.has(operation.operation.toLowerCase())) return false;
    const actor = audit.actorAt(index);
    if (actors && !actors.has(actor)) return false;
    if (external !== undefined && (actor === SYSTEM_ACTOR) !== external) return false;
    if (success !== undefined && audit.succeededAt(index) !== success) return false;
    if (!objectIds && !parameterNames) return true;
    const entry = audit.adminEntry(index);
    if (objectIds && !objectIds.has(String(entry['ObjectModified']).toLowerCase())) return false;
    const used = (entry['CmdletParameters'] as string[]).map((pair) => pair.slice(0, pair.indexOf('=')).toLowerCase());
    return !parameterNames || used.some((name) => parameterNames.has(name));
  };
}
