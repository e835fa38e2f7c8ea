import type { AuthenticationResult, PublicClientApplication } from '@azure/msal-node';
import { AppError } from '../core/index.js';
import { knownAuthoritiesFor } from './authority.js';
import type { Logger } from '../core/index.js';
import type { AccessToken, HttpTransport, TokenProvider, TokenRequest } from '../core/index.js';
import { mapMsalError } from './msal-errors.js';
import { loadMsal, msalSystemOptions, type MsalNetworkRecord } from './msal-network.js';
import type { SessionKey, SessionStore } from './session-store.js';
import { tenantIdFromToken } from './token-claims.js';
import { createTokenMemo } from './token-memo.js';

export interface DelegatedTokenProviderOptions {
  authorityHost: string;
  /** Tenant GUID or domain for the authority URL. */
  tenant: string;
  /** The tenant's primary domain: sessions are stored under it. */
  organization: string;
  /** Tenant name in jobs.yaml, for messages (`exorun login <name>`). */
  tenantName: string;
  cloud: string;
  clientId: string;
  /** UPN of the signed-in admin. */
  account: string;
  store: SessionStore;
  transport: HttpTransport;
  logger?: Logger;
}

/** msal-node's application options shared by sign-in and refresh. */
export async function publicClientApplication(options: {
  authorityHost: string;
  tenant: string;
  clientId: string;
  transport: HttpTransport;
  logger?: Logger | undefined;
  /** Where msal's last request through our transport is recorded, for error messages. */
  network?: MsalNetworkRecord | undefined;
}): Promise<PublicClientApplication> {
  const { PublicClientApplication } = await loadMsal();
  return new PublicClientApplication({
    auth: {
      clientId: options.clientId,
      authority: `${options.authorityHost}/${options.tenant}`,
      knownAuthorities: knownAuthoritiesFor(options.authorityHost),
      // Declares that 401 claims challenges (continuous access evaluation) are handled: the
      // exchange client renews the token with the claims and sends the request again.
      clientCapabilities: ['cp1'],
    },
    system: msalSystemOptions(options.transport, options.logger, options.network),
  });
}

/**
 * Delegated (user) tokens for one signed-in admin, from the session `exorun login` stored. The
 * refresh token is redeemed under a per-account Redis lock, after re-reading the newest cache, and
 * the rotated cache is stored before the token is used: two workers refreshing at the same moment
 * never redeem the same refresh token, and none loses the newest one.
 */
export function createDelegatedTokenProvider(options: DelegatedTokenProviderOptions): TokenProvider {
  const key: SessionKey = { organization: options.organization, account: options.account };
  const memo = createTokenMemo();
  const pending = new Map<string, Promise<AccessToken>>();
  const reauth = (reason: string, cause?: unknown): AppError =>
    new AppError(
      'AUTH_REAUTH_REQUIRED',
      `The session of ${options.account} for tenant ${options.tenantName} ${reason}; run \`exorun login ${options.tenantName}\` to sign in again.`,
      { cause, details: { tenant: options.tenantName, account: options.account } },
    );

  async function refresh(request: TokenRequest): Promise<AccessToken> {
    return options.store.withLock(key, async () => {
      const cache = await options.store.load(key);
      if (cache === undefined) throw reauth('has not been created');
      const network: MsalNetworkRecord = {};
      const application = await publicClientApplication({ ...options, network });
      application.getTokenCache().deserialize(cache);
      const account = (await application.getTokenCache().getAllAccounts()).find((candidate) => candidate.username.toLowerCase() === options.account);
      if (!account) throw reauth(`is not in the stored session (it holds ${cache.length > 0 ? 'another account' : 'nothing'})`);
      const askedAtMs = Date.now();
      let result: AuthenticationResult;
      try {
        result = await application.acquireTokenSilent({
          account,
          scopes: [`${request.resource}/.default`],
          ...(request.forceRefresh ? { forceRefresh: true } : {}),
          ...(request.claims === undefined ? {} : { claims: request.claims }),
        });
      } catch (error) {
        const code = (error as { errorCode?: string } | null)?.errorCode ?? '';
        if (
          code === 'invalid_grant' ||
          code === 'interaction_required' ||
          code === 'login_required' ||
          code === 'consent_required' ||
          code === 'no_tokens_found'
        ) {
          throw reauth('was revoked or has expired', error);
        }
        throw mapMsalError(error, { tenant: options.tenantName, clientId: options.clientId, network, resource: request.resource });
      }
      const updated = application.getTokenCache().serialize();
      // Store before use: the old refresh token may already be invalid at the service.
      if (updated !== cache) {
        await options.store.save(key, updated, { tenant: options.tenantName, cloud: options.cloud, clientId: options.clientId, refreshed: true });
      }
      const token: AccessToken = {
        token: result.accessToken,
        expiresOnMs: result.expiresOn?.getTime() ?? askedAtMs + 3_000_000,
        tenantId: tenantIdFromToken(result.accessToken) ?? result.tenantId,
      };
      memo.remember(request.resource, token, askedAtMs);
      return token;
    });
  }

  return {
    mode: 'delegated',
    account: options.account,
    getToken(request) {
      const cached = request.forceRefresh || request.claims !== undefined ? undefined : memo.fresh(request.resource);
      if (cached) return Promise.resolve(cached);
      const pendingKey = `${request.resource}|${request.forceRefresh ? 'force' : ''}|${request.claims ?? ''}`;
      let inFlight = pending.get(pendingKey);
      if (!inFlight) {
        inFlight = refresh(request).finally(() => pending.delete(pendingKey));
        pending.set(pendingKey, inFlight);
      }
      return inFlight;
    },
  };
}
