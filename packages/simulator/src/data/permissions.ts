import type { DatasetIdentity, MailboxGenerator } from './mailboxes.js';
import { randomFor } from './prng.js';
import type { PropertyTypes } from './property-types.js';

export const PERMISSION_PROPERTY_TYPES: PropertyTypes = { AccessRights: 'strings' };

export const SELF_PRINCIPAL = 'NT AUTHORITY\\SELF';

const STREAM_PERMISSIONS = 41;
const DELEGATE_COUNTS: readonly number[] = [0, 0, 0, 1, 1, 2, 3];

/** Get-MailboxPermission for one mailbox: SELF, then 0–3 other mailboxes with FullAccess. */
export function mailboxPermissions(identity: DatasetIdentity, mailboxes: MailboxGenerator, index: number): Record<string, unknown>[] {
  const organization = identity.organization.toLowerCase();
  const mailboxIdentity = mailboxes.aliasAt(index);
  const entry = (user: string, accessRights: string[]): Record<string, unknown> => ({
    Identity: mailboxIdentity,
    User: user,
    AccessRights: accessRights,
    IsInherited: false,
    Deny: false,
    InheritanceType: 'All',
  });
  const entries = [entry(SELF_PRINCIPAL, ['FullAccess', 'ReadPermission'])];
  if (mailboxes.count < 2) return entries;
  const rng = randomFor(identity.salt, STREAM_PERMISSIONS, index);
  const wanted = Math.min(rng.pick(DELEGATE_COUNTS), mailboxes.count - 1);
  const chosen = new Set<number>();
  for (let attempt = 0; chosen.size < wanted && attempt < 20; attempt++) {
    const other = rng.int(mailboxes.count);
    if (other !== index) chosen.add(other);
  }
  for (const other of chosen) entries.push(entry(`${mailboxes.aliasAt(other)}@${organization}`, ['FullAccess']));
  return entries;
}
