import { CERTIFICATE_WARNING_MS, loadCertificateCredential, type CertificateCredential } from '../auth/index.js';
import { createCertificateTokenProvider } from '../auth/index.js';
import { createDelegatedTokenProvider } from '../auth/index.js';
import { resolveEndpoints, resolveTenantId } from '../auth/index.js';
import { readSecret } from '../auth/index.js';
import type { SessionStore } from '../auth/index.js';
import type { CertificateAuthConfig, TenantConfig } from '../config/index.js';
import type { Logger } from '../core/index.js';
import type { CloudEndpoints, CloudName, ExchangeClient, HttpTransport, TokenProvider } from '../core/index.js';
import { createExchangeClient, type ExchangeClientOptions } from '../exchange/index.js';

/** Everything a run needs to talk to one tenant. Built once per tenant and process, then reused. */
export interface TenantSession {
  client: ExchangeClient;
  tokens: TokenProvider;
  endpoints: CloudEndpoints;
  /** The tenant GUID (configured, resolved from the organization, or the simulator's). */
  tenantId: string;
}

export interface TenantSessions {
  get(tenant: TenantConfig): Promise<TenantSession>;
}

export interface TenantSessionsOptions {
  /** The process transport (system trust store) for real clouds. */
  transport: HttpTransport;
  /**
   * Clouds whose endpoints are not in the cloud table but come from somewhere at run time (the
   * built-in simulator, `cloud: simulated`): each resolves to endpoints, a transport that trusts
   * its CA, the tenant id and, when jobs.yaml gives no auth, credentials. Everything after that —
   * sign-in, host trust, retries, limits — is the same as for a Microsoft cloud.
   */
  clouds?: Partial<Record<CloudName, ReachResolver>>;
  /** Encrypted delegated sessions in Redis (those `exorun login` created). */
  sessions: SessionStore;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** The service asked to slow down; the worker turns this into a cool-down shared by all workers. */
  onThrottle?: (tenant: TenantConfig, event: ThrottleEvent) => void;
}

export type ThrottleEvent = Parameters<NonNullable<ExchangeClientOptions['onThrottle']>>[0];

/** Where and how a tenant is reached, before any token is asked for. */
export interface TenantReach {
  endpoints: CloudEndpoints;
  transport: HttpTransport;
  tenantId: string;
  /** App credentials to sign in with when jobs.yaml gives none (a simulated tenant). */
  credential?: { clientId: string; credential: CertificateCredential };
}

/** Resolves a tenant's reach; `certificate` is the one jobs.yaml names, if any. */
export type ReachResolver = (tenant: TenantConfig, certificate: CertificateCredential | undefined) => Promise<TenantReach>;

/**
 * Builds and caches per-tenant sessions: credentials read once, one token cache and one exchange
 * client per tenant (so the IPPS regional host is learnt once). A changed tenant definition after a
 * reload gets a fresh session.
 */
export function createTenantSessions(options: TenantSessionsOptions): TenantSessions {
  const sessions = new Map<string, Promise<TenantSession>>();

  /** A Microsoft cloud's tenant: the cloud table with the tenant's overrides, the process transport. */
  async function reachMicrosoftCloud(tenant: TenantConfig): Promise<TenantReach> {
    const endpoints = resolveEndpoints(tenant.cloud, tenant.overrides);
    const tenantId = tenant.tenantId ?? (await resolveTenantId(endpoints.authorityHost, tenant.organization, options.transport));
    return { endpoints, transport: options.transport, tenantId };
  }

  async function build(tenant: TenantConfig): Promise<TenantSession> {
    const logger = options.logger.child({ tenant: tenant.name });
    const auth = tenant.auth;
    const certificate = auth?.type === 'certificate' ? await loadCertificate(auth, tenant, logger) : undefined;
    const resolve = options.clouds?.[tenant.cloud] ?? reachMicrosoftCloud;
    const { endpoints, transport, tenantId, credential: provisionedCredential } = await resolve(tenant, certificate);
    const common = { authorityHost: endpoints.authorityHost, tenant: tenantId, transport, logger };

    let tokens: TokenProvider;
    if (auth?.type === 'delegated') {
      tokens = createDelegatedTokenProvider({
        ...common,
        organization: tenant.organization,
        tenantName: tenant.name,
        cloud: tenant.cloud,
        clientId: auth.clientId,
        account: auth.account,
        store: options.sessions,
      });
    } else {
      const credential = certificate ?? provisionedCredential?.credential;
      const clientId = auth?.clientId ?? provisionedCredential?.clientId;
      if (!credential || !clientId) throw new Error(`tenant ${tenant.name} has no credentials`);
      tokens = createCertificateTokenProvider({ ...common, clientId, credential, sendX5c: auth?.sendX5c ?? false });
    }
    const onThrottle = options.onThrottle;
    return {
      tokens,
      endpoints,
      tenantId,
      client: createExchangeClient({ endpoints, tokens, transport, logger, ...(onThrottle ? { onThrottle: (event) => onThrottle(tenant, event) } : {}) }),
    };
  }

  async function loadCertificate(auth: CertificateAuthConfig, tenant: TenantConfig, logger: Logger): Promise<CertificateCredential> {
    const credential = await loadCertificateCredential({
      certificatePath: auth.certificatePath,
      ...(auth.keyPath === undefined ? {} : { keyPath: auth.keyPath }),
      ...(auth.password === undefined ? {} : { password: await readSecret(auth.password, options.env) }),
    });
    const remainingMs = credential.notAfter.getTime() - Date.now();
    if (remainingMs < CERTIFICATE_WARNING_MS) {
      logger.warn(
        { subject: credential.subject, notAfter: credential.notAfter.toISOString(), days: Math.floor(remainingMs / 86_400_000) },
        `the certificate for tenant ${tenant.name} expires soon; upload a new one to the app registration`,
      );
    }
    return credential;
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
