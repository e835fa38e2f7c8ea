import type { TokenSigner } from '../jwt.js';
import type { ServiceResources } from '../resources.js';
import type { TenantRecord, TenantRegistry } from '../tenants.js';
import type { AadError } from './aad-error.js';
import type { TokenResponse } from './access-token.js';
import type { DeviceCodeStore } from './device-codes.js';
import type { EntraCounter } from './entra-stats.js';
import type { RefreshTokenStore } from './refresh-tokens.js';

/** One token request, already routed to a tenant. */
export interface GrantRequest {
  form: URLSearchParams;
  /** The tenant the path names; undefined for `common`/`organizations`. */
  tenant: TenantRecord | undefined;
  /** The tenant segment as sent, for messages. */
  tenantSegment: string;
  nowMs: number;
  /** The login origin the client used (id_token issuer, verification URI). */
  origin: string;
  /** True when a client assertion's `aud` names a token endpoint (or issuer) of `tenant` on this listener. */
  audienceMatches(aud: string, tenant: TenantRecord): boolean;
}

export interface GrantDeps {
  signer: TokenSigner;
  /** Which resources tokens may be issued for (canonical ones and the simulator's own origins). */
  resources: ServiceResources;
  tenants: TenantRegistry;
  /** Access token lifetime for a tenant now (settings can change at run time). */
  tokenLifetimeSec(tenant: TenantRecord): number;
  refreshTokens: RefreshTokenStore;
  deviceCodes: DeviceCodeStore;
  deviceCodeIntervalSec: number;
  deviceCodeLifetimeSec: number;
  count(tenantId: string | undefined, counter: EntraCounter): void;
}

export type GrantResult = { ok: true; body: TokenResponse } | { ok: false; error: AadError };

export type GrantHandler = (request: GrantRequest, deps: GrantDeps) => GrantResult;
