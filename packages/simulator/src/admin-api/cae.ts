/**
 * Continuous access evaluation on demand: after `require()`, tokens of the tenant (or of one user)
 * issued before the moment are answered with a claims challenge until the client comes back with
 * a token issued at or after it.
 */
export interface CaeStore {
  require(tenantId: string, upn: string | undefined, momentMs: number): void;
  /** The latest moment that applies to a token of this tenant and user, if any. */
  momentFor(tenantId: string, upn: string | undefined): number | undefined;
}

export function createCaeStore(): CaeStore {
  const moments = new Map<string, number>();
  const key = (tenantId: string, upn: string | undefined): string => `${tenantId}|${upn?.toLowerCase() ?? '*'}`;
  return {
    require(tenantId, upn, momentMs) {
      moments.set(key(tenantId, upn), momentMs);
    },
    momentFor(tenantId, upn) {
      const everyone = moments.get(key(tenantId, undefined));
      const user = upn === undefined ? undefined : moments.get(key(tenantId, upn));
      if (everyone === undefined) return user;
      return user === undefined ? everyone : Math.max(everyone, user);
    },
  };
}

/** The base64 `claims` value: the client must bring a token not issued before this second. */
export function claimsValue(momentMs: number): string {
  const claims = { access_token: { nbf: { essential: true, value: String(Math.floor(momentMs / 1000)) } } };
  return Buffer.from(JSON.stringify(claims)).toString('base64');
}

/** `WWW-Authenticate` of a CAE challenge, in the shape the PowerShell module parses; `clientId` is the service's resource app id. */
export function claimsChallenge(clientId: string, loginOrigin: string, momentMs: number): string {
  return [
    'Bearer realm=""',
    `authorization_uri="${loginOrigin}/common/oauth2/authorize"`,
    `client_id="${clientId}"`,
    'error="insufficient_claims"',
    `claims="${claimsValue(momentMs)}"`,
  ].join(', ');
}
