import type { AccountInfo, PublicClientApplication } from '@azure/msal-node';
import { AppError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { HttpTransport } from '../core/index.js';
import { publicClientApplication } from './delegated-token-provider.js';
import { mapMsalError } from './msal-errors.js';
import type { MsalNetworkRecord } from './msal-network.js';

export interface LoginOptions {
  authorityHost: string;
  tenant: string;
  tenantName: string;
  clientId: string;
  /** The account jobs.yaml expects; a sign-in as anyone else is refused. */
  account: string;
  /** e.g. `https://outlook.office365.com/.default`. */
  scopes: string[];
  transport: HttpTransport;
  logger?: Logger;
}

export interface LoginResult {
  /** msal's serialized token cache: holds the refresh token. Store it encrypted, never print it. */
  cache: string;
  account: string;
  tenantId: string;
}

export interface DeviceCodePrompt {
  userCode: string;
  verificationUri: string;
  message: string;
  expiresInSec: number;
}

/** The device-code flow: the admin completes MFA in any browser; nothing is stored here yet. */
export async function loginWithDeviceCode(options: LoginOptions, onPrompt: (prompt: DeviceCodePrompt) => void): Promise<LoginResult> {
  const network: MsalNetworkRecord = {};
  const application = await publicClientApplication({ ...options, network });
  try {
    const result = await application.acquireTokenByDeviceCode({
      scopes: options.scopes,
      deviceCodeCallback: (response) =>
        onPrompt({ userCode: response.userCode, verificationUri: response.verificationUri, message: response.message, expiresInSec: response.expiresIn }),
    });
    return finish(application, result?.account ?? undefined, options);
  } catch (error) {
    throw loginError(error, options, network);
  }
}

/**
 * Imports an existing refresh token (from another tool). `forceCache` makes msal keep the
 * account and the rotated refresh token; without it the new token would be thrown away.
 */
export async function importRefreshToken(options: LoginOptions, refreshToken: string): Promise<LoginResult> {
  const network: MsalNetworkRecord = {};
  const application = await publicClientApplication({ ...options, network });
  try {
    const result = await application.acquireTokenByRefreshToken({ refreshToken, scopes: options.scopes, forceCache: true });
    return finish(application, result?.account ?? undefined, options);
  } catch (error) {
    throw loginError(error, options, network);
  }
}

function finish(application: PublicClientApplication, account: AccountInfo | undefined, options: LoginOptions): LoginResult {
  if (!account) throw new AppError('AUTH_FAILED', 'The sign-in returned no account.');
  if (account.username.toLowerCase() !== options.account.toLowerCase()) {
    throw new AppError(
      'AUTH_FAILED',
      `Signed in as ${account.username}, but jobs.yaml expects ${options.account} for tenant ${options.tenantName}; sign in with that account or change auth.account.`,
    );
  }
  return { cache: application.getTokenCache().serialize(), account: account.username.toLowerCase(), tenantId: account.tenantId };
}

function loginError(error: unknown, options: LoginOptions, network: MsalNetworkRecord): AppError {
  const code = (error as { errorCode?: string } | null)?.errorCode ?? '';
  if (code === 'invalid_grant') {
    return new AppError(
      'AUTH_REAUTH_REQUIRED',
      `The refresh token was not accepted (revoked, expired or for another app); sign in with \`exorun login ${options.tenantName}\`.`,
      {
        cause: error,
      },
    );
  }
  if (code === 'authorization_declined' || code === 'expired_token') {
    return new AppError('AUTH_FAILED', code === 'expired_token' ? 'The device code expired before anyone signed in.' : 'The sign-in was declined.', {
      cause: error,
    });
  }
  return mapMsalError(error, { tenant: options.tenantName, clientId: options.clientId, network });
}
