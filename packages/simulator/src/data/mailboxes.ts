import { formatByteQuantity, formatDateTime, GB, MB } from './format.js';
import { indexFromGuid, indexedGuid, isGuid } from './guid.js';
import {
  asciiStem,
  DIFFICULT_PEOPLE,
  EQUIPMENT_WORDS,
  FIRST_NAMES,
  LAST_NAMES,
  OFFICES,
  organizationPrefix,
  ROOM_WORDS,
  TEAM_WORDS,
  USAGE_LOCATIONS,
} from './names.js';
import { hash32, randomFor } from './prng.js';
import type { PropertyTypes } from './property-types.js';

export type MailboxTypeDetails = 'UserMailbox' | 'SharedMailbox' | 'RoomMailbox' | 'EquipmentMailbox';

/** The annotations Get-Mailbox objects carry on the wire. */
export const MAILBOX_PROPERTY_TYPES: PropertyTypes = {
  EmailAddresses: 'strings',
  AuditAdmin: 'strings',
  ExchangeGuid: 'guid',
  Guid: 'guid',
  WhenCreated: 'datetime',
  WhenChangedUTC: 'datetime',
  ResourceCapacity: 'int32',
};

const AUDIT_ADMIN: readonly string[] = [
  'Update',
  'MoveToDeletedItems',
  'SoftDelete',
  'HardDelete',
  'SendAs',
  'SendOnBehalf',
  'Create',
  'UpdateFolderPermissions',
  'UpdateInboxRules',
  'UpdateCalendarDelegation',
  'ApplyRecord',
  'MailItemsAccessed',
  'Send',
];

// Rendering sizes is slow (toLocaleString); every mailbox of a kind has the same quotas.
const QUOTAS = {
  large: { send: formatByteQuantity(99 * GB), sendReceive: formatByteQuantity(100 * GB), warning: formatByteQuantity(98 * GB) },
  small: { send: formatByteQuantity(49.5 * GB), sendReceive: formatByteQuantity(50 * GB), warning: formatByteQuantity(49 * GB) },
};
const MAX_SEND_SIZE = formatByteQuantity(35 * MB);
const MAX_RECEIVE_SIZE = formatByteQuantity(36 * MB);
const FIRST_STEMS = FIRST_NAMES.map(asciiStem);
const LAST_STEMS = LAST_NAMES.map(asciiStem);
const TEAM_STEMS = TEAM_WORDS.map(asciiStem);
const ROOM_STEMS = ROOM_WORDS.map(asciiStem);
const EQUIPMENT_STEMS = EQUIPMENT_WORDS.map(asciiStem);

const STREAM_TYPE = 1;
const STREAM_NAME = 2;
const STREAM_DETAILS = 3;
const SALT_EXCHANGE_GUID = 11;
const SALT_GUID = 12;
const SALT_DIRECTORY_ID = 13;
const EPOCH_MS = Date.UTC(2018, 0, 1);
const DAY_MS = 86_400_000;

export interface MailboxGenerator {
  readonly count: number;
  /** Cheap: lets filters on the type skip objects without building them. */
  typeAt(index: number): MailboxTypeDetails;
  aliasAt(index: number): string;
  /** Cheap: `ExchangeGuid` and `ExternalDirectoryObjectId` of `at(index)` without building it. */
  guidsAt(index: number): { exchangeGuid: string; directoryId: string };
  at(index: number): Record<string, unknown>;
  /** O(1): the index of the mailbox `identity` names (Name, alias, UPN, any address, any of its GUIDs). */
  resolve(identity: string): number | undefined;
}

export interface DatasetIdentity {
  readonly organization: string;
  /** Mixes tenant id and seed; every stream of a tenant derives from it. */
  readonly salt: number;
}

export function createMailboxGenerator(identity: DatasetIdentity, count: number): MailboxGenerator {
  const { salt } = identity;
  const organization = identity.organization.toLowerCase();
  const routingDomain = `${organizationPrefix(organization)}.mail.onmicrosoft.com`;

  function typeAt(index: number): MailboxTypeDetails {
    const roll = hash32(salt, STREAM_TYPE, index) % 100;
    if (roll < 80) return 'UserMailbox';
    if (roll < 92) return 'SharedMailbox';
    if (roll < 97) return 'RoomMailbox';
    return 'EquipmentMailbox';
  }

  function naming(index: number, type: MailboxTypeDetails): { alias: string; displayName: string } {
    const rng = randomFor(salt, STREAM_NAME, index);
    switch (type) {
      case 'UserMailbox': {
        if (rng.chance(0.05)) {
          const person = rng.pick(DIFFICULT_PEOPLE);
          return { alias: `${person.aliasStem}${index}`, displayName: person.displayName };
        }
        const first = rng.int(FIRST_NAMES.length);
        const last = rng.int(LAST_NAMES.length);
        return { alias: `${FIRST_STEMS[first]}.${LAST_STEMS[last]}${index}`, displayName: `${FIRST_NAMES[first]} ${LAST_NAMES[last]}` };
      }
      case 'SharedMailbox': {
        const word = rng.int(TEAM_WORDS.length);
        return { alias: `${TEAM_STEMS[word]}.team${index}`, displayName: `${TEAM_WORDS[word]} Team` };
      }
      case 'RoomMailbox': {
        const word = rng.int(ROOM_WORDS.length);
        return { alias: `room.${ROOM_STEMS[word]}${index}`, displayName: `Room ${ROOM_WORDS[word]} ${1 + rng.int(9)}` };
      }
      case 'EquipmentMailbox': {
        const word = rng.int(EQUIPMENT_WORDS.length);
        return { alias: `equipment.${EQUIPMENT_STEMS[word]}${index}`, displayName: `${EQUIPMENT_WORDS[word]} ${index}` };
      }
    }
  }

  const guidSalts = [hash32(salt, SALT_EXCHANGE_GUID), hash32(salt, SALT_GUID), hash32(salt, SALT_DIRECTORY_ID)] as const;
  const guids = (index: number): string[] => guidSalts.map((guidSalt) => indexedGuid(guidSalt, index));

  function at(index: number): Record<string, unknown> {
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`mailbox ${index} of ${count}`);
    const type = typeAt(index);
    const { alias, displayName } = naming(index, type);
    const rng = randomFor(salt, STREAM_DETAILS, index);
    const upn = `${alias}@${organization}`;
    const [exchangeGuid, guid, directoryId] = guids(index) as [string, string, string];
    const createdMs = EPOCH_MS + rng.int(6 * 365) * DAY_MS + rng.int(DAY_MS / 1000) * 1000;
    const changedMs = createdMs + rng.int(400) * DAY_MS + rng.int(DAY_MS / 1000) * 1000;
    const person = type === 'UserMailbox';
    const quota = type === 'UserMailbox' ? QUOTAS.large : QUOTAS.small;
    const officeRoll = rng.next();
    return {
      Name: alias,
      Identity: alias,
      Id: alias,
      DisplayName: displayName,
      Alias: alias,
      UserPrincipalName: upn,
      PrimarySmtpAddress: upn,
      EmailAddresses: [`SMTP:${upn}`, `smtp:${alias}@${routingDomain}`],
      RecipientType: 'UserMailbox',
      RecipientTypeDetails: type,
      ExchangeGuid: exchangeGuid,
      Guid: guid,
      ExternalDirectoryObjectId: directoryId,
      WhenCreated: formatDateTime(createdMs),
      WhenChangedUTC: formatDateTime(changedMs, 'utc'),
      ProhibitSendQuota: quota.send,
      ProhibitSendReceiveQuota: quota.sendReceive,
      IssueWarningQuota: quota.warning,
      MaxSendSize: MAX_SEND_SIZE,
      MaxReceiveSize: MAX_RECEIVE_SIZE,
      RetainDeletedItemsFor: '14.00:00:00',
      LitigationHoldEnabled: person && rng.chance(0.1),
      RetentionPolicy: 'Default MRM Policy',
      AuditEnabled: true,
      AuditAdmin: [...AUDIT_ADMIN],
      HiddenFromAddressListsEnabled: type === 'SharedMailbox' && rng.chance(0.2),
      ArchiveStatus: person && rng.chance(0.3) ? 'Active' : 'None',
      UsageLocation: person ? rng.pick(USAGE_LOCATIONS) : null,
      Office: officeRoll < 0.6 ? rng.pick(OFFICES) : officeRoll < 0.65 ? '' : null,
      CustomAttribute1: rng.chance(0.85) ? '' : `CC-${1000 + rng.int(9000)}`,
      ResourceCapacity: type === 'RoomMailbox' ? 4 + rng.int(17) : null,
      IsInactiveMailbox: false,
    };
  }

  function resolve(identity: string): number | undefined {
    let text = identity.trim();
    if (/^smtp:/i.test(text)) text = text.slice(5);
    const lower = text.toLowerCase();
    if (isGuid(text)) {
      const guid = lower.replace(/[{}]/g, '');
      for (const guidSalt of guidSalts) {
        const index = indexFromGuid(guid, guidSalt);
        if (index !== undefined && index < count && guids(index).includes(guid)) return index;
      }
      return undefined;
    }
    const at = lower.indexOf('@');
    const index = trailingIndex(at >= 0 ? lower.slice(0, at) : lower);
    if (index === undefined || index >= count) return undefined;
    const alias = naming(index, typeAt(index)).alias;
    if (at < 0) return alias === lower ? index : undefined;
    return lower === `${alias}@${organization}` || lower === `${alias}@${routingDomain}` ? index : undefined;
  }

  return {
    count,
    typeAt,
    aliasAt: (index) => naming(index, typeAt(index)).alias,
    guidsAt: (index) => ({ exchangeGuid: indexedGuid(guidSalts[0], index), directoryId: indexedGuid(guidSalts[2], index) }),
    at,
    resolve,
  };
}

/** `adele.vance17` → 17; undefined when the text does not end in a canonical decimal number. */
export function trailingIndex(text: string): number | undefined {
  const match = /(\d+)$/.exec(text);
  if (!match?.[1]) return undefined;
  const index = Number(match[1]);
  return String(index) === match[1] && Number.isSafeInteger(index) ? index : undefined;
}
