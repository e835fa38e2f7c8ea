import { clientCredentialsGrant } from './client-credentials.js';
import { deviceCodeGrant } from './device-code-grant.js';
import type { GrantHandler } from './grant-types.js';
import { refreshTokenGrant } from './refresh-token-grant.js';

export type { GrantDeps, GrantHandler, GrantRequest, GrantResult } from './grant-types.js';

/**
 * Supported `grant_type`s. msal-node polls device codes with the short `device_code`; the RFC 8628
 * URN is accepted too.
 */
export const GRANT_HANDLERS: Readonly<Record<string, GrantHandler>> = {
  client_credentials: clientCredentialsGrant,
  refresh_token: refreshTokenGrant,
  device_code: deviceCodeGrant,
  'urn:ietf:params:oauth:grant-type:device_code': deviceCodeGrant,
};
