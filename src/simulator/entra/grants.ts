import type { TokenSigner } from '../jwt.js';
import type { TenantRecord } from '../tenants.js';
import type { AadError } from './aad-error.js';
import type { TokenResponse } from './access-token.js';
import { clientCredentialsGrant } from './client-credentials.js';

/** One token request, already routed to a tenant. */
export interface GrantRequest {
  form: URLSearchParams;
  /** The tenant the path names; undefined for `common`/`organizations`. */
  tenant: TenantRecord | undefined;
  /** The tenant segment as sent, for messages. */
  tenantSegment: string;
  nowMs: number;
  /** True when a client assertion's `aud` names a token endpoint (or issuer) of `tenant` on this listener. */
  audienceMatches(aud: string, tenant: TenantRecord): boolean;
}

export interface GrantDeps {
  signer: TokenSigner;
  tokenLifetimeSec: number;
}

export type GrantResult = { ok: true; body: TokenResponse } | { ok: false; error: AadError };

export type GrantHandler = (request: GrantRequest, deps: GrantDeps) => GrantResult;

/**
 * Supported `grant_type`s. refresh_token and device_code (both `device_code` and the
 * `urn:ietf:params:oauth:grant-type:device_code` form msal may send) slot in here.
 */
export const GRANT_HANDLERS: Readonly<Record<string, GrantHandler>> = {
  client_credentials: clientCredentialsGrant,
};
