import { formatDateTime } from './format.js';
import { indexFromGuid, indexedGuid, isGuid } from './guid.js';
import { trailingIndex, type MailboxGenerator } from './mailboxes.js';
import { asciiStem, capitalise, DIFFICULT_PEOPLE, FIRST_NAMES, LAST_NAMES, organizationPrefix, PARTNER_DOMAINS, TEAM_WORDS } from './names.js';
import { hash32, randomFor } from './prng.js';
import type { PropertyTypes } from './property-types.js';
import type { DatasetIdentity } from './mailboxes.js';

export const RECIPIENT_PROPERTY_TYPES: PropertyTypes = { EmailAddresses: 'strings', Guid: 'guid', WhenCreated: 'datetime' };

export type RecipientKind = 'mailbox' | 'group' | 'contact';

/**
 * Get-Recipient's view of a tenant: every mailbox, then distribution groups, then mail contacts, in
 * one position space. Groups and contacts embed their position in alias and GUIDs, like mailboxes.
 */
export interface RecipientDirectory {
  readonly total: number;
  readonly groupCount: number;
  readonly contactCount: number;
  kindAt(position: number): RecipientKind;
  /** Cheap RecipientTypeDetails, for skipping without building the object. */
  typeAt(position: number): string;
  /** First position of a kind, so a type filter can jump over whole ranges. */
  startOf(kind: RecipientKind): number;
  at(position: number): Record<string, unknown>;
  resolve(identity: string): number | undefined;
}

const STREAM_GROUP = 21;
const STREAM_CONTACT = 22;
const SALT_GROUP_GUID = 23;
const SALT_GROUP_DIRECTORY_ID = 24;
const SALT_CONTACT_GUID = 25;
const SALT_CONTACT_DIRECTORY_ID = 26;
const EPOCH_MS = Date.UTC(2018, 0, 1);
const GROUP_SUFFIXES: readonly string[] = ['All', 'Announcements', 'Leads', 'Project Team', 'Social'];

export function createRecipientDirectory(identity: DatasetIdentity, mailboxes: MailboxGenerator): RecipientDirectory {
  const { salt } = identity;
  const organization = identity.organization.toLowerCase();
  const routingDomain = `${organizationPrefix(organization)}.mail.onmicrosoft.com`;
  const groupStart = mailboxes.count;
  const groupCount = Math.floor(mailboxes.count / 20);
  const contactStart = groupStart + groupCount;
  const contactCount = Math.floor(mailboxes.count / 25);
  const total = contactStart + contactCount;

  const kindAt = (position: number): RecipientKind => (position < groupStart ? 'mailbox' : position < contactStart ? 'group' : 'contact');

  function group(position: number): Record<string, unknown> {
    const rng = randomFor(salt, STREAM_GROUP, position);
    const word = rng.pick(TEAM_WORDS);
    const alias = `dl.${asciiStem(word)}${position}`;
    const address = `${alias}@${organization}`;
    return {
      Name: alias,
      Identity: alias,
      DisplayName: `${word} ${rng.pick(GROUP_SUFFIXES)}`,
      Alias: alias,
      PrimarySmtpAddress: address,
      EmailAddresses: [`SMTP:${address}`, `smtp:${alias}@${routingDomain}`],
      RecipientType: 'MailUniversalDistributionGroup',
      RecipientTypeDetails: 'MailUniversalDistributionGroup',
      Guid: indexedGuid(hash32(salt, SALT_GROUP_GUID), position),
      ExternalDirectoryObjectId: indexedGuid(hash32(salt, SALT_GROUP_DIRECTORY_ID), position),
      WhenCreated: formatDateTime(EPOCH_MS + rng.int(6 * 365 * 86_400) * 1000),
    };
  }

  function contact(position: number): Record<string, unknown> {
    const rng = randomFor(salt, STREAM_CONTACT, position);
    const difficult = rng.chance(0.05) ? rng.pick(DIFFICULT_PEOPLE) : undefined;
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const partner = rng.pick(PARTNER_DOMAINS);
    const stem = difficult?.aliasStem ?? `${asciiStem(first)}.${asciiStem(last)}`;
    const alias = `${stem}.ext${position}`;
    const address = `${stem}${position}@${partner}`;
    const company = capitalise(partner.split('.')[0] ?? partner);
    return {
      Name: alias,
      Identity: alias,
      DisplayName: difficult ? difficult.displayName : `${first} ${last} (${company})`,
      Alias: alias,
      PrimarySmtpAddress: address,
      EmailAddresses: [`SMTP:${address}`],
      RecipientType: 'MailContact',
      RecipientTypeDetails: 'MailContact',
      Guid: indexedGuid(hash32(salt, SALT_CONTACT_GUID), position),
      ExternalDirectoryObjectId: indexedGuid(hash32(salt, SALT_CONTACT_DIRECTORY_ID), position),
      WhenCreated: formatDateTime(EPOCH_MS + rng.int(6 * 365 * 86_400) * 1000),
    };
  }

  function at(position: number): Record<string, unknown> {
    if (!Number.isInteger(position) || position < 0 || position >= total) throw new RangeError(`recipient ${position} of ${total}`);
    switch (kindAt(position)) {
      case 'mailbox':
        return mailboxProjection(mailboxes.at(position));
      case 'group':
        return group(position);
      case 'contact':
        return contact(position);
    }
  }

  const guidSalts = [SALT_GROUP_GUID, SALT_GROUP_DIRECTORY_ID, SALT_CONTACT_GUID, SALT_CONTACT_DIRECTORY_ID].map((kind) => hash32(salt, kind));

  function candidates(text: string, lower: string): number[] {
    if (isGuid(text)) return guidSalts.map((guidSalt) => indexFromGuid(text, guidSalt)).filter((position) => position !== undefined);
    const at_ = lower.indexOf('@');
    const position = trailingIndex(at_ >= 0 ? lower.slice(0, at_) : lower);
    return position === undefined ? [] : [position];
  }

  function resolve(identity: string): number | undefined {
    const fromMailbox = mailboxes.resolve(identity);
    if (fromMailbox !== undefined) return fromMailbox;
    let text = identity.trim();
    if (/^smtp:/i.test(text)) text = text.slice(5);
    const lower = text.toLowerCase().replace(/[{}]/g, '');
    for (const position of candidates(text, lower)) {
      if (position < groupStart || position >= total) continue;
      const candidate = at(position);
      const names = [candidate['Alias'], candidate['Guid'], candidate['ExternalDirectoryObjectId'], candidate['PrimarySmtpAddress']];
      const addresses = (candidate['EmailAddresses'] as string[]).map((address) => address.slice(5));
      if ([...names, ...addresses].some((name) => typeof name === 'string' && name.toLowerCase() === lower)) return position;
    }
    return undefined;
  }

  return {
    total,
    groupCount,
    contactCount,
    kindAt,
    typeAt: (position) => {
      const kind = kindAt(position);
      return kind === 'mailbox' ? mailboxes.typeAt(position) : kind === 'group' ? 'MailUniversalDistributionGroup' : 'MailContact';
    },
    startOf: (kind) => (kind === 'mailbox' ? 0 : kind === 'group' ? groupStart : contactStart),
    at,
    resolve,
  };
}

/** The properties Get-Recipient returns, for every kind of recipient. */
export const RECIPIENT_PROPERTIES: readonly string[] = [
  'Name',
  'Identity',
  'DisplayName',
  'Alias',
  'PrimarySmtpAddress',
  'EmailAddresses',
  'RecipientType',
  'RecipientTypeDetails',
  'Guid',
  'ExternalDirectoryObjectId',
  'WhenCreated',
];

function mailboxProjection(mailbox: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of RECIPIENT_PROPERTIES) out[key] = mailbox[key] ?? null;
  return out;
}
