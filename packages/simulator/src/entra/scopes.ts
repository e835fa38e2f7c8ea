import { aadError, type AadError } from './aad-error.js';

/** Resources whose `/.default` scope the simulated tenants' apps may request. */
export const KNOWN_RESOURCES: readonly string[] = [
  'https://outlook.office365.com',
  'https://outlook.office.com',
  'https://ps.compliance.protection.outlook.com',
];

/**
 * Client credentials need exactly one `{resource}/.default` scope; returns the resource (the
 * token audience) or the AADSTS failure Entra gives.
 */
export function resourceFromScope(scope: string | null, tenantName: string): string | AadError {
  const scopes = (scope ?? '').split(/\s+/).filter(Boolean);
  const only = scopes.length === 1 ? scopes[0] : undefined;
  if (!only?.endsWith('/.default')) {
    return aadError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scopes.join(' ') || '(none)'} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const resource = only.slice(0, -'/.default'.length);
  const known = KNOWN_RESOURCES.find((candidate) => candidate === resource.replace(/\/$/, '').toLowerCase());
  if (!known) {
    return aadError(
      400,
      'invalid_scope',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    );
  }
  return known;
}
