import { formatDateTime } from './format.js';
import { indexedGuid } from './guid.js';
import type { DatasetIdentity, MailboxGenerator } from './mailboxes.js';
import { hash32, randomFor } from './prng.js';
import type { PropertyTypes } from './property-types.js';

export const RETENTION_POLICY_TYPES: PropertyTypes = {
  Guid: 'guid',
  ExchangeLocation: 'strings',
  ExchangeLocationException: 'strings',
  SharePointLocation: 'strings',
  OneDriveLocation: 'strings',
  WhenCreatedUTC: 'datetime',
  WhenChangedUTC: 'datetime',
};

export const DLP_POLICY_TYPES: PropertyTypes = {
  Guid: 'guid',
  ExchangeLocation: 'strings',
  SharePointLocation: 'strings',
  OneDriveLocation: 'strings',
  TeamsLocation: 'strings',
  Priority: 'int32',
  WhenCreatedUTC: 'datetime',
  WhenChangedUTC: 'datetime',
};

interface PolicyTemplate {
  name: string;
  workload: string;
  exchange: 'All' | 'some' | 'none';
  sharePoint: boolean;
  oneDrive: boolean;
  comment: string;
}

const RETENTION_TEMPLATES: readonly PolicyTemplate[] = [
  { name: 'Default Retention Policy - Mailboxes', workload: 'Exchange', exchange: 'All', sharePoint: false, oneDrive: false, comment: '' },
  {
    name: 'Finance 7 Year Retention',
    workload: 'Exchange, SharePoint, OneDriveForBusiness',
    exchange: 'some',
    sharePoint: true,
    oneDrive: true,
    comment: 'Required by SOX, see ticket FIN-1234',
  },
  { name: 'Teams Chat 1 Year', workload: 'Teams', exchange: 'none', sharePoint: false, oneDrive: false, comment: 'Chats, channel messages' },
  {
    name: 'Legal Hold - "Contoso v. Fabrikam"',
    workload: 'Exchange, SharePoint',
    exchange: 'some',
    sharePoint: true,
    oneDrive: false,
    comment: "Do not delete; counsel: Seán O'Brien",
  },
  { name: 'OneDrive Preserve 3 Years', workload: 'OneDriveForBusiness', exchange: 'none', sharePoint: false, oneDrive: true, comment: '' },
  { name: 'Executives, Preserve Forever', workload: 'Exchange', exchange: 'some', sharePoint: false, oneDrive: false, comment: 'Ünterschrift erforderlich' },
];

const DLP_TEMPLATES: readonly PolicyTemplate[] = [
  {
    name: 'U.S. Financial Data',
    workload: 'Exchange, SharePoint, OneDriveForBusiness',
    exchange: 'All',
    sharePoint: true,
    oneDrive: true,
    comment: 'Helps detect U.S. financial data',
  },
  {
    name: 'GDPR – Enhanced',
    workload: 'Exchange, SharePoint, OneDriveForBusiness, Teams',
    exchange: 'All',
    sharePoint: true,
    oneDrive: true,
    comment: 'EU personal data, incl. "special categories"',
  },
  { name: 'Credit Card Numbers', workload: 'Exchange', exchange: 'some', sharePoint: false, oneDrive: false, comment: '' },
  { name: 'Default Policy for Teams', workload: 'Teams', exchange: 'none', sharePoint: false, oneDrive: false, comment: 'Created by default' },
];

const STREAM_RETENTION = 61;
const STREAM_DLP = 62;
const SALT_RETENTION_GUID = 63;
const SALT_DLP_GUID = 64;
const EPOCH_MS = Date.UTC(2019, 0, 1);

function locations(kind: PolicyTemplate['exchange'], mailboxes: MailboxGenerator, organization: string, offset: number): string[] {
  if (kind === 'none') return [];
  if (kind === 'All' || mailboxes.count === 0) return ['All'];
  const count = Math.min(3, mailboxes.count);
  return Array.from({ length: count }, (_, i) => `${mailboxes.aliasAt((offset + i) % mailboxes.count)}@${organization}`);
}

export function retentionPolicies(identity: DatasetIdentity, mailboxes: MailboxGenerator): Record<string, unknown>[] {
  const organization = identity.organization.toLowerCase();
  return RETENTION_TEMPLATES.map((template, index) => {
    const rng = randomFor(identity.salt, STREAM_RETENTION, index);
    const guid = indexedGuid(hash32(identity.salt, SALT_RETENTION_GUID), index);
    const createdMs = EPOCH_MS + rng.int(4 * 365) * 86_400_000 + rng.int(86_400) * 1000;
    return {
      Name: template.name,
      Identity: guid,
      Guid: guid,
      Enabled: rng.chance(0.85),
      Mode: 'Enforce',
      Type: 'RetentionCompliancePolicy',
      Workload: template.workload,
      ExchangeLocation: locations(template.exchange, mailboxes, organization, index * 7),
      ExchangeLocationException: [],
      SharePointLocation: template.sharePoint ? ['All'] : [],
      OneDriveLocation: template.oneDrive ? ['All'] : [],
      DistributionStatus: 'Success',
      Comment: template.comment,
      WhenCreatedUTC: formatDateTime(createdMs, 'utc'),
      WhenChangedUTC: formatDateTime(createdMs + rng.int(300) * 86_400_000, 'utc'),
    };
  });
}

export function dlpPolicies(identity: DatasetIdentity, mailboxes: MailboxGenerator): Record<string, unknown>[] {
  const organization = identity.organization.toLowerCase();
  return DLP_TEMPLATES.map((template, index) => {
    const rng = randomFor(identity.salt, STREAM_DLP, index);
    const guid = indexedGuid(hash32(identity.salt, SALT_DLP_GUID), index);
    const createdMs = EPOCH_MS + rng.int(4 * 365) * 86_400_000 + rng.int(86_400) * 1000;
    const teams = template.workload.includes('Teams');
    return {
      Name: template.name,
      Identity: guid,
      Guid: guid,
      Enabled: rng.chance(0.8),
      Mode: rng.pick(['Enable', 'Enable', 'TestWithNotifications', 'TestWithoutNotifications']),
      Type: 'DlpCompliancePolicy',
      Workload: template.workload,
      ExchangeLocation: locations(template.exchange, mailboxes, organization, index * 5),
      SharePointLocation: template.sharePoint ? ['All'] : [],
      OneDriveLocation: template.oneDrive ? ['All'] : [],
      TeamsLocation: teams ? ['All'] : [],
      Priority: index,
      DistributionStatus: 'Success',
      Comment: template.comment,
      WhenCreatedUTC: formatDateTime(createdMs, 'utc'),
      WhenChangedUTC: formatDateTime(createdMs + rng.int(300) * 86_400_000, 'utc'),
    };
  });
}
