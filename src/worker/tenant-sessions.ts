import { cloudEndpoints } from '../auth/clouds.js';
import { CERTIFICATE_WARNING_MS, credentialFromPem, loadCertificateCredential, type CertificateCredential } from '../auth/certificate.js';
import { createCertificateTokenProvider } from '../auth/certificate-token-provider.js';
import { readSecret } from '../auth/secrets.js';
import type { TenantConfig } from '../config/model.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CloudEndpoints, ExchangeClient, HttpTransport, TokenProvider } from '../core/ports.js';
import { createExchangeClient } from '../exchange/exchange-client.js';
import type { SimulatedCloud } from './simulated-cloud.js';

/** Everything a run needs to talk to one tenant. Built once per tenant and process, then reused. */
export interface TenantSession {
  client: ExchangeClient;
  tokens: TokenProvider;
  endpoints: CloudEndpoints;
}

export interface TenantSessions {
  get(tenant: TenantConfig): Promise<TenantSession>;
}

export interface TenantSessionsOptions {
  /** The process transport (system trust store) for real clouds. */
  transport: HttpTransport;
  simulated: SimulatedCloud;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds and caches per-tenant sessions: credentials read once, one token cache and one exchange
 * client per tenant (so the IPPS regional host is learnt once). A changed tenant definition after a
 * reload gets a fresh session.
 */
export function createTenantSessions(options: TenantSessionsOptions): TenantSessions {
  const sessions = new Map<string, Promise<TenantSession>>();

  async function build(tenant: TenantConfig): Promise<TenantSession> {
    const logger = options.logger.child({ tenant: tenant.name });
    if (tenant.cloud === 'simulated') {
      const access = await options.simulated.provision(tenant);
      const tokens = createCertificateTokenProvider({
        authorityHost: access.endpoints.authorityHost,
        tenant: tenant.tenantId ?? tenant.organization,
        clientId: access.provisioned.clientId,
        credential: credentialFromPem(access.provisioned.certificatePem, access.provisioned.privateKeyPem),
        transport: access.transport,
        trustAuthorityHost: true,
        logger,
      });
      return {
        tokens,
        endpoints: access.endpoints,
        client: createExchangeClient({ endpoints: access.endpoints, tokens, transport: access.transport, logger }),
      };
    }

    const auth = tenant.auth;
    if (!auth) throw new AppError('CFG_JOBS_INVALID', `Tenant ${tenant.name} has no auth section.`);
    const credential = await loadCertificateCredential({
      certificatePath: auth.certificatePath,
      ...(auth.keyPath === undefined ? {} : { keyPath: auth.keyPath }),
      ...(auth.password === undefined ? {} : { password: await readSecret(auth.password, options.env) }),
    });
    warnIfExpiring(credential, tenant, logger);
    const endpoints = cloudEndpoints(tenant.cloud);
    const tokens = createCertificateTokenProvider({
      authorityHost: endpoints.authorityHost,
      tenant: tenant.tenantId ?? tenant.organization,
      clientId: auth.clientId,
      credential,
      sendX5c: auth.sendX5c,
      transport: options.transport,
      logger,
    });
    return { tokens, endpoints, client: createExchangeClient({ endpoints, tokens, transport: options.transport, logger }) };
  }

  return {
    get(tenant) {
      const key = JSON.stringify(tenant);
      let session = sessions.get(key);
      if (!session) {
        session = build(tenant);
        // Failures (a missing certificate, an unreachable simulator) are not cached.
        session.catch(() => sessions.delete(key));
        sessions.set(key, session);
      }
      return session;
    },
  };
}

function warnIfExpiring(credential: CertificateCredential, tenant: TenantConfig, logger: Logger): void {
  const remainingMs = credential.notAfter.getTime() - Date.now();
  if (remainingMs < CERTIFICATE_WARNING_MS) {
    logger.warn(
      { subject: credential.subject, notAfter: credential.notAfter.toISOString(), days: Math.floor(remainingMs / 86_400_000) },
      `the certificate for tenant ${tenant.name} expires soon; upload a new one to the app registration`,
    );
  }
}
