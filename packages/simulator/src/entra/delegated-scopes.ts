import type { ServiceResources } from '../resources.js';
import { aadError, type AadError } from './aad-error.js';
import { unknownResource } from './scopes.js';

/** What a delegated request asked for. */
export interface DelegatedScope {
  /** The token audience, canonical spelling. */
  resource: string;
  /** The `scp` claim of the access token. */
  scp: string;
  /** The `scope` of the response: what was asked, in the order asked. */
  echo: string;
  openid: boolean;
  offlineAccess: boolean;
}

const OIDC_SCOPES: ReadonlySet<string> = new Set(['openid', 'profile', 'offline_access', 'email']);

/**
 * The delegated permissions the module's app holds on Exchange (`AdminApi.AccessAsUser.All`
 * and a few others). A tenant's own app is treated as consented to the same ones.
 */
export const DELEGATED_PERMISSIONS: readonly string[] = [
  'AdminApi.AccessAsUser.All',
  'FfoPowerShell.AccessAsUser.All',
  'RemotePowerShell.AccessAsUser.All',
  'VivaFeatures.AccessAsUser.All',
];

/**
 * Parses `scope` of a delegated grant: OIDC scopes plus `{resource}/.default` (or named
 * permissions) of exactly one resource the simulator serves. msal-node adds `openid profile
 * offline_access`.
 */
export function parseDelegatedScope(scope: string | null, tenantName: string, resources: ServiceResources): DelegatedScope | AadError {
  const asked = [...new Set((scope ?? '').split(/\s+/).filter(Boolean))];
  const resourceScopes = asked.filter((item) => !OIDC_SCOPES.has(item.toLowerCase()));
  if (resourceScopes.length === 0) {
    return aadError(
      400,
      'invalid_scope',
      70011,
      `The provided value for the input parameter 'scope' isn't valid. The scope ${asked.join(' ') || '(none)'} isn't valid. The simulator issues delegated tokens only for Exchange Online and Security & Compliance resources.`,
    );
  }
  const audiences = new Set<string>();
  const permissions = new Set<string>();
  for (const item of resourceScopes) {
    const slash = item.lastIndexOf('/');
    const permission = item.slice(slash + 1);
    const known = slash > 0 ? resources.find(item.slice(0, slash))?.audience : undefined;
    if (!known) return unknownResource(slash > 0 ? item.slice(0, slash) : item, tenantName);
    audiences.add(known);
    if (permission === '.default') {
      for (const granted of DELEGATED_PERMISSIONS) permissions.add(granted);
    } else {
      const granted = DELEGATED_PERMISSIONS.find((candidate) => candidate.toLowerCase() === permission.toLowerCase());
      if (!granted) {
        return aadError(400, 'invalid_scope', 70011, `The provided value for the input parameter 'scope' isn't valid. The scope ${item} isn't valid.`);
      }
      permissions.add(granted);
    }
  }
  const [resource] = audiences;
  if (audiences.size > 1 || resource === undefined) {
    return aadError(
      400,
      'invalid_scope',
      28000,
      `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${resourceScopes.join(' ')} is not valid.`,
    );
  }
  const lower = new Set(asked.map((item) => item.toLowerCase()));
  return { resource, scp: [...permissions].join(' '), echo: asked.join(' '), openid: lower.has('openid'), offlineAccess: lower.has('offline_access') };
}
