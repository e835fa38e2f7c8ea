import { formatDateTime } from './format.js';
import { indexedGuid } from './guid.js';
import type { DatasetIdentity } from './mailboxes.js';
import { capitalise, organizationPrefix } from './names.js';
import { hash32, randomFor } from './prng.js';
import type { PropertyTypes } from './property-types.js';

export const ORGANIZATION_CONFIG_TYPES: PropertyTypes = {
  Guid: 'guid',
  WhenCreated: 'datetime',
  WhenChangedUTC: 'datetime',
  DistributionGroupNameBlockedWordsList: 'strings',
};

export const ACCEPTED_DOMAIN_TYPES: PropertyTypes = { Guid: 'guid', WhenCreated: 'datetime' };

const STREAM_ORGANIZATION = 51;
const SALT_ORGANIZATION_GUID = 52;
const SALT_DOMAIN_GUID = 53;
const EPOCH_MS = Date.UTC(2016, 0, 1);

/** `NAMP221A005DC03.NAMPRD22.PROD.OUTLOOK.COM`: named in not-found messages. */
export function domainControllerName(identity: DatasetIdentity): string {
  const rng = randomFor(identity.salt, STREAM_ORGANIZATION, 1);
  const region = rng.pick(['NAM', 'EUR', 'APC', 'GBR']);
  const pod = 10 + rng.int(90);
  const three = (n: number): string => String(n).padStart(3, '0');
  return `${region}P${pod}${rng.int(10)}A${three(1 + rng.int(20))}DC0${1 + rng.int(9)}.${region}PRD${pod}.PROD.OUTLOOK.COM`;
}

export function organizationConfig(identity: DatasetIdentity): Record<string, unknown> {
  const organization = identity.organization.toLowerCase();
  const prefix = organizationPrefix(organization);
  const rng = randomFor(identity.salt, STREAM_ORGANIZATION, 0);
  const site = domainControllerName(identity).split('.')[1] ?? 'NAMPRD01';
  const createdMs = EPOCH_MS + rng.int(2 * 365) * 86_400_000;
  return {
    Name: prefix,
    DisplayName: capitalise(prefix),
    Identity: prefix,
    Id: prefix,
    Guid: indexedGuid(hash32(identity.salt, SALT_ORGANIZATION_GUID), 0),
    OrganizationId: `${site}.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/${organization} - ${site}.PROD.OUTLOOK.COM/ConfigurationUnits/${organization}/Configuration`,
    ExchangeVersion: '0.20 (15.0.0.0)',
    IsDehydrated: false,
    AuditDisabled: false,
    DefaultPublicFolderAgeLimit: null,
    OAuth2ClientProfileEnabled: true,
    MailTipsAllTipsEnabled: true,
    SendFromAliasEnabled: rng.chance(0.5),
    DistributionGroupNameBlockedWordsList: [],
    ActivityBasedAuthenticationTimeoutInterval: '06:00:00',
    WhenCreated: formatDateTime(createdMs),
    WhenChangedUTC: formatDateTime(createdMs + rng.int(900) * 86_400_000, 'utc'),
  };
}

export function acceptedDomains(identity: DatasetIdentity): Record<string, unknown>[] {
  const prefix = organizationPrefix(identity.organization.toLowerCase());
  const rng = randomFor(identity.salt, STREAM_ORGANIZATION, 2);
  const createdMs = EPOCH_MS + rng.int(365) * 86_400_000;
  const domains: [string, boolean, boolean][] = [
    [`${prefix}.onmicrosoft.com`, false, true],
    [`${prefix}.mail.onmicrosoft.com`, false, false],
    [`${prefix}.com`, true, false],
  ];
  return domains.map(([domain, isDefault, initial], index) => ({
    Name: domain,
    Identity: domain,
    DomainName: domain,
    DomainType: 'Authoritative',
    Default: isDefault,
    InitialDomain: initial,
    Guid: indexedGuid(hash32(identity.salt, SALT_DOMAIN_GUID), index),
    WhenCreated: formatDateTime(createdMs + index * 86_400_000),
  }));
}
