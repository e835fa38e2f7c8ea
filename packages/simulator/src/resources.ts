import type { ServiceName } from './types.js';

/**
 * The resource identifiers of the real services in a commercial tenant: what a client asks a token
 * for (`{resource}/.default`) and what the token's `aud` then says. `outlook.office.com` is an
 * older name of the Exchange resource that tokens still carry.
 */
export const CANONICAL_RESOURCES: Readonly<Record<ServiceName, readonly string[]>> = {
  exo: ['https://outlook.office365.com', 'https://outlook.office.com'],
  ipps: ['https://ps.compliance.protection.outlook.com'],
};

/**
 * `scheme://host[:port]` the way a URL client writes an origin (lower-case host, default port
 * left out), or undefined when `value` is not an origin, with or without a trailing slash.
 */
export function resourceOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.origin === 'null' || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return undefined;
  }
  return url.origin;
}

/** Which token audiences name which service. */
export interface ServiceResources {
  /**
   * The service a token for `resource` would be for, and the audience (normalised spelling) the
   * token carries; undefined for a resource Entra does not know (AADSTS500011).
   */
  find(resource: string): { service: ServiceName; audience: string } | undefined;
  /** True when a token with this `aud` is meant for `service`. */
  accepts(service: ServiceName, audience: string): boolean;
}

/**
 * The simulator behaves like a service reached at its own address: besides the canonical
 * resources, each service is also known by the public origin clients address it at (the EXO
 * listener; the global IPPS listener, never the regional one, which clients only reach through
 * the redirect). A client whose token resource follows its configured endpoint thus signs in
 * exactly as against a real host. `origins` is read on each call because the ports are only
 * known once the listeners are up.
 */
export function createServiceResources(origins: () => Readonly<Record<ServiceName, string>>): ServiceResources {
  function lookup(audience: string): ServiceName | undefined {
    const own = origins();
    for (const service of ['exo', 'ipps'] as const) {
      if (CANONICAL_RESOURCES[service].includes(audience) || resourceOrigin(own[service]) === audience) return service;
    }
    return undefined;
  }
  return {
    find(resource) {
      const audience = resourceOrigin(resource);
      const service = audience === undefined ? undefined : lookup(audience);
      return service === undefined || audience === undefined ? undefined : { service, audience };
    },
    accepts(service, audience) {
      const origin = resourceOrigin(audience);
      return origin !== undefined && lookup(origin) === service;
    },
  };
}
