import type { ServiceName } from '../types.js';
import { getAcceptedDomain } from './get-accepted-domain.js';
import { getDlpCompliancePolicy } from './get-dlp-compliance-policy.js';
import { getMailbox } from './get-mailbox.js';
import { getMailboxPermission } from './get-mailbox-permission.js';
import { getOrganizationConfig } from './get-organization-config.js';
import { getRecipient } from './get-recipient.js';
import { getRetentionCompliancePolicy } from './get-retention-compliance-policy.js';
import { searchAdminAuditLog } from './search-admin-audit-log.js';
import { searchUnifiedAuditLog } from './search-unified-audit-log.js';
import type { CmdletSpec } from './types.js';

/** Every cmdlet the simulator serves. Add a module and list it here to add a cmdlet. */
export const DEFAULT_CMDLETS: readonly CmdletSpec[] = [
  getMailbox,
  getRecipient,
  getMailboxPermission,
  getOrganizationConfig,
  getAcceptedDomain,
  getRetentionCompliancePolicy,
  getDlpCompliancePolicy,
  searchUnifiedAuditLog,
  searchAdminAuditLog,
];

export interface CmdletRegistry {
  /** Case-insensitive; a cmdlet of the other service is unknown here, as on the real endpoints. */
  find(service: ServiceName, name: string): CmdletSpec | undefined;
  all(): readonly CmdletSpec[];
}

export function createCmdletRegistry(specs: readonly CmdletSpec[] = DEFAULT_CMDLETS): CmdletRegistry {
  const byKey = new Map(specs.map((spec) => [`${spec.service}:${spec.name.toLowerCase()}`, spec]));
  return {
    find: (service, name) => byKey.get(`${service}:${name.trim().toLowerCase()}`),
    all: () => specs,
  };
}

/** List cmdlets take ResultSize and stop at 1000 objects unless told otherwise. */
export function isListCmdlet(spec: CmdletSpec): boolean {
  return spec.parameters.some((parameter) => parameter.name === 'ResultSize');
}
