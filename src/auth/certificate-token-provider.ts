import type { AuthenticationResult, ConfidentialClientApplication } from '@azure/msal-node';
import { knownAuthoritiesFor } from './authority.js';
import type { Logger } from '../core/index.js';
import type { AccessToken, HttpTransport, TokenProvider, TokenRequest } from '../core/index.js';
import type { CertificateCredential } from './certificate.js';
import { mapMsalError } from './msal-errors.js';
import { loadMsal, msalSystemOptions, type MsalNetworkRecord } from './msal-network.js';
import { tenantIdFromToken } from './token-claims.js';
import { createTokenMemo } from './token-memo.js';

export interface CertificateTokenProviderOptions {
  /** e.g. `https://login.microsoftonline.com`. */
  authorityHost: string;
  /** Tenant GUID or primary domain; goes into the authority URL. */
  tenant: string;
  clientId: string;
  credential: CertificateCredential;
  /** Send the certificate chain (x5c) for subject-name/issuer authentication. */
  sendX5c?: boolean;
  transport: HttpTransport;
  logger?: Logger;
}

/**
 * App-only tokens for one (tenant, application), signed-assertion flow through msal-node. Tokens
 * are cached per resource and renewed ahead of expiry, so asking before every page is cheap and a
 * long run never meets the one-hour cliff.
 */
export function createCertificateTokenProvider(options: CertificateTokenProviderOptions): TokenProvider {
  const logger = options.logger;
  const network: MsalNetworkRecord = {};
  let application: Promise<ConfidentialClientApplication> | undefined;
  const createApplication = async (): Promise<ConfidentialClientApplication> => {
    const { ConfidentialClientApplication } = await loadMsal();
    return new ConfidentialClientApplication({
      auth: {
        clientId: options.clientId,
        authority: `${options.authorityHost}/${options.tenant}`,
        clientCertificate: {
          thumbprintSha256: options.credential.thumbprintSha256,
          privateKey: options.credential.privateKeyPem,
          ...(options.sendX5c ? { x5c: options.credential.chainPem } : {}),
        },
        knownAuthorities: knownAuthoritiesFor(options.authorityHost),
        // Declares that 401 claims challenges (continuous access evaluation) are handled: the
        // exchange client renews the token with the claims and sends the request again.
        clientCapabilities: ['cp1'],
      },
      system: msalSystemOptions(options.transport, logger, network),
    });
  };

  const memo = createTokenMemo();
  // One token request per resource at a time: many pages asking at once share it.
  const pending = new Map<string, Promise<AccessToken>>();

  async function acquire(request: TokenRequest): Promise<AccessToken> {
    const askedAtMs = Date.now();
    let result: AuthenticationResult | null;
    try {
      application ??= createApplication();
      result = await (
        await application
      ).acquireTokenByClientCredential({
        scopes: [`${request.resource}/.default`],
        ...(request.forceRefresh ? { skipCache: true } : {}),
        ...(request.claims === undefined ? {} : { claims: request.claims }),
      });
    } catch (error) {
      throw mapMsalError(error, {
        tenant: options.tenant,
        clientId: options.clientId,
        thumbprint: options.credential.thumbprintSha256,
        network,
        resource: request.resource,
      });
    }
    if (!result?.accessToken) {
      throw mapMsalError(new Error('the token endpoint returned no access token'), { tenant: options.tenant, clientId: options.clientId });
    }
    const token: AccessToken = {
      token: result.accessToken,
      expiresOnMs: result.expiresOn?.getTime() ?? Date.now() + 3_000_000,
      tenantId: tenantIdFromToken(result.accessToken) ?? result.tenantId,
    };
    memo.remember(request.resource, token, askedAtMs);
    return token;
  }

  return {
    mode: 'app-only',
    async getToken(request) {
      const cached = request.forceRefresh || request.claims !== undefined ? undefined : memo.fresh(request.resource);
      if (cached) return cached;
      const key = `${request.resource}|${request.forceRefresh ? 'force' : ''}|${request.claims ?? ''}`;
      let inFlight = pending.get(key);
      if (!inFlight) {
        inFlight = acquire(request).finally(() => pending.delete(key));
        pending.set(key, inFlight);
      }
      return inFlight;
    },
  };
}
