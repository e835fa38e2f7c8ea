import { createAuditLog, type AuditLog } from './audit-records.js';
import { DEFAULT_AUDIT_RECORDS_PER_HOUR } from './audit-timeline.js';
import { createMailboxGenerator, type DatasetIdentity, type MailboxGenerator } from './mailboxes.js';
import { acceptedDomains, domainControllerName, organizationConfig } from './organization.js';
import { mailboxPermissions } from './permissions.js';
import { dlpPolicies, retentionPolicies } from './policies.js';
import { hash32, hashString } from './prng.js';
import { createRecipientDirectory, type RecipientDirectory } from './recipients.js';

/** Everything seeded for one tenant. Generators only: nothing is materialised up front. */
export interface TenantDataset {
  readonly tenantId: string;
  readonly organization: string;
  readonly seed: number;
  readonly mailboxCount: number;
  readonly identity: DatasetIdentity;
  /** Named in not-found messages, like the real service names its DC. */
  readonly domainController: string;
  readonly mailboxes: MailboxGenerator;
  readonly recipients: RecipientDirectory;
  readonly auditRecordsPerHour: number;
  /** Unified (and admin) audit records, 2026-01-01 onwards. */
  readonly audit: AuditLog;
  mailboxPermissions(index: number): Record<string, unknown>[];
  organizationConfig(): Record<string, unknown>;
  acceptedDomains(): Record<string, unknown>[];
  retentionPolicies(): Record<string, unknown>[];
  dlpPolicies(): Record<string, unknown>[];
}

export interface DatasetOptions {
  tenantId: string;
  organization: string;
  seed: number;
  mailboxCount: number;
  /** Default 20. */
  auditRecordsPerHour?: number;
}

export function createTenantDataset(options: DatasetOptions): TenantDataset {
  const identity: DatasetIdentity = {
    organization: options.organization.toLowerCase(),
    salt: hash32(hashString(options.tenantId.toLowerCase()), options.seed),
  };
  const mailboxes = createMailboxGenerator(identity, options.mailboxCount);
  const domainController = domainControllerName(identity);
  const auditRecordsPerHour = options.auditRecordsPerHour ?? DEFAULT_AUDIT_RECORDS_PER_HOUR;
  return {
    tenantId: options.tenantId,
    organization: options.organization,
    seed: options.seed,
    mailboxCount: options.mailboxCount,
    identity,
    domainController,
    mailboxes,
    recipients: createRecipientDirectory(identity, mailboxes),
    auditRecordsPerHour,
    audit: createAuditLog(identity, mailboxes, { tenantId: options.tenantId, perHour: auditRecordsPerHour, domainController }),
    mailboxPermissions: (index) => mailboxPermissions(identity, mailboxes, index),
    organizationConfig: () => organizationConfig(identity),
    acceptedDomains: () => acceptedDomains(identity),
    retentionPolicies: () => retentionPolicies(identity, mailboxes),
    dlpPolicies: () => dlpPolicies(identity, mailboxes),
  };
}
