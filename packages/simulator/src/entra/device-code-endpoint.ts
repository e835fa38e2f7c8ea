import type { TenantRecord } from '../tenants.js';
import type { AadError } from './aad-error.js';
import { parseDelegatedScope } from './delegated-scopes.js';
import type { GrantDeps } from './grant-types.js';
import { checkClientCredential, resolvePublicClient } from './public-clients.js';

export interface DeviceCodeRequestContext {
  form: URLSearchParams;
  /** Undefined at `/organizations` and `/common`. */
  tenant: TenantRecord | undefined;
  tenantSegment: string;
  nowMs: number;
  /** The login origin the client used; the verification page lives there. */
  origin: string;
  audienceMatches(aud: string, tenant: TenantRecord): boolean;
}

/**
 * `POST /{tenant}/oauth2/v2.0/devicecode` (msal-node derives it from the token endpoint). The body
 * mirrors Entra's, with `verification_uri` on this listener: its `/devicelogin` page explains how
 * to approve a simulated code.
 */
export function requestDeviceCode(
  request: DeviceCodeRequestContext,
  deps: GrantDeps,
): { ok: true; body: Record<string, unknown> } | { ok: false; error: AadError } {
  const client = resolvePublicClient(request.form.get('client_id'), request.tenant, deps.tenants, request.tenantSegment);
  if ('error' in client) return { ok: false, error: client };
  const credentialFailure = checkClientCredential(request.form, client, request);
  if (credentialFailure) return { ok: false, error: credentialFailure };
  const scopeText = request.form.get('scope');
  const scope = parseDelegatedScope(scopeText, request.tenantSegment, deps.resources);
  if ('error' in scope) return { ok: false, error: scope };
  const entry = deps.deviceCodes.issue(
    { tenantId: request.tenant?.tenantId, tenantSegment: request.tenantSegment, clientId: client.clientId, scope: scopeText ?? '' },
    request.nowMs,
  );
  deps.count(request.tenant?.tenantId, 'deviceCodesIssued');
  const verificationUri = `${request.origin}/devicelogin`;
  return {
    ok: true,
    body: {
      user_code: entry.userCode,
      device_code: entry.deviceCode,
      verification_uri: verificationUri,
      expires_in: deps.deviceCodeLifetimeSec,
      interval: deps.deviceCodeIntervalSec,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${entry.userCode} to authenticate.`,
    },
  };
}

/** What `/devicelogin` shows: there is no browser sign-in here, approval comes from the simulator's owner. */
export const DEVICE_LOGIN_PAGE =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><title>exorun simulator - device sign-in</title></head><body>' +
  '<h1>Simulated device sign-in</h1><p>This is the exorun simulator. Approve a code with <code>exorun simulate approve CODE</code> ' +
  '(or <code>POST /_simulator/device-codes/CODE/approve</code> with the admin key); list waiting codes with <code>exorun simulate approve</code>.</p></body></html>';
