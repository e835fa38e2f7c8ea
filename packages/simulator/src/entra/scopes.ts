import type { ServiceResources } from '../resources.js';
import { aadError, type AadError } from './aad-error.js';

/** Entra's answer for a resource no service principal in the tenant is known by. */
export function unknownResource(resource: string, tenantName: string): AadError {
  return aadError(
    400,
    'invalid_resource',
    500011,
    `The resource principal named ${resource} was not found in the tenant named ${tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  );
}

/**
 * Client credentials need exactly one `{resource}/.default` scope; returns the resource (the
 * token audience) or the AADSTS failure Entra gives.
 */
export function resourceFromScope(scope: string | null, tenantName: string, resources: ServiceResources): string | AadError {
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
  return resources.find(resource)?.audience ?? unknownResource(resource, tenantName);
}
