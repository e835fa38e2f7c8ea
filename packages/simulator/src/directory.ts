import { guidFromText } from './data/guid.js';
import type { SimulatedUser } from './types.js';

/** The user every tenant has; device codes are approved as this user unless told otherwise. */
export const ADMIN_LOCAL_PART = 'admin';
const ADMIN_DISPLAY_NAME = 'Simulated Admin';
const LOCAL_PART = /^[a-z0-9](?:[a-z0-9._'+-]{0,62}[a-z0-9])?$/i;

/** A tenant's sign-in users by lower-case UPN; `admin@<organization>` always exists. */
export interface UserDirectory {
  readonly admin: SimulatedUser;
  find(upn: string): SimulatedUser | undefined;
  /** Adds users (already checked with {@link checkUpns}); existing ones are kept as they are. */
  add(upns: readonly string[]): void;
  all(): SimulatedUser[];
}

export function createUserDirectory(organization: string): UserDirectory {
  const users = new Map<string, SimulatedUser>();
  const admin = directoryUser(organization, `${ADMIN_LOCAL_PART}@${organization}`);
  users.set(admin.upn, admin);
  return {
    admin,
    find: (upn) => users.get(upn.trim().toLowerCase()),
    add(upns) {
      for (const upn of upns) {
        const user = directoryUser(organization, upn);
        if (!users.has(user.upn)) users.set(user.upn, user);
      }
    },
    all: () => [...users.values()].map((user) => ({ ...user })),
  };
}

/** A user derived from organization and UPN alone, so every simulator run agrees on the oid. */
export function directoryUser(organization: string, upn: string): SimulatedUser {
  const normalised = upn.trim().toLowerCase();
  const local = normalised.slice(0, normalised.indexOf('@'));
  return {
    upn: normalised,
    oid: guidFromText(`user:${organization.toLowerCase()}:${normalised}`),
    displayName: local === ADMIN_LOCAL_PART ? ADMIN_DISPLAY_NAME : displayNameFor(local),
  };
}

/** `jane.doe` → `Jane Doe`. */
function displayNameFor(local: string): string {
  return local
    .split(/[._+-]+/)
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join(' ');
}

/** Throws a readable Error unless every entry is a UPN at the organization's domain. */
export function checkUpns(value: unknown, organization: string): string[] {
  if (!Array.isArray(value)) throw new Error('users must be an array of UPNs');
  const domain = organization.toLowerCase();
  return value.map((entry: unknown) => {
    if (typeof entry !== 'string') throw new Error('users must be an array of UPNs');
    const upn = entry.trim().toLowerCase();
    const at = upn.lastIndexOf('@');
    if (at <= 0 || upn.slice(at + 1) !== domain || !LOCAL_PART.test(upn.slice(0, at))) {
      throw new Error(`user '${entry}' must be a UPN at ${organization}, such as 'jane.doe@${organization}'`);
    }
    return upn;
  });
}
