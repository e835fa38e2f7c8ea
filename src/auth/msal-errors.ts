import { AppError, type ErrorCode } from '../core/index.js';
import type { MsalNetworkRecord } from './msal-network.js';

interface ErrorContext {
  tenant: string;
  clientId: string;
  thumbprint?: string;
  /** The token audience asked for. */
  resource?: string | undefined;
  /** What msal's last request through our transport came to (see msal-network.ts). */
  network?: MsalNetworkRecord | undefined;
}

/**
 * Turns msal-node failures into AppErrors with a sentence an admin can act on. Entra reports the
 * reason as an AADSTS number in the error description; those numbers are stable, the wording is not.
 */
export function mapMsalError(error: unknown, context: ErrorContext): AppError {
  const record = (error ?? {}) as Record<string, unknown>;
  const errorCode = typeof record['errorCode'] === 'string' ? record['errorCode'] : '';
  const description =
    typeof record['errorMessage'] === 'string' && record['errorMessage'] ? record['errorMessage'] : error instanceof Error ? error.message : String(error);
  const aadsts = /AADSTS(\d+)/.exec(description)?.[1];
  const details = { tenant: context.tenant, clientId: context.clientId, errorCode, ...(aadsts ? { aadsts: `AADSTS${aadsts}` } : {}) };
  // msal wraps Entra's sentence in timestamps and trace ids; the AADSTS sentence is what helps.
  const aadstsSentence = /(AADSTS\d+:.*?)(?:\s+Trace ID:|\s+Correlation ID:|\s+Timestamp:|$)/s.exec(description)?.[1];
  const firstSentence = aadstsSentence ?? description.split(/\r?\n/)[0] ?? description;

  const make = (code: ErrorCode, advice: string): AppError => new AppError(code, `${advice} (${firstSentence.trim()})`, { cause: error, details });

  switch (aadsts) {
    case '700016':
      return make(
        'AUTH_CLIENT_REJECTED',
        `Application ${context.clientId} is not registered in tenant ${context.tenant}, or has no service principal there; check clientId and grant admin consent in that tenant.`,
      );
    case '700027':
    case '700024':
    case '50012':
      return make(
        'AUTH_CLIENT_REJECTED',
        `Tenant ${context.tenant} rejected the certificate${context.thumbprint ? ` (SHA-256 ${context.thumbprint})` : ''} for application ${context.clientId}; upload this certificate to the app registration.`,
      );
    case '500011':
      return make(
        'AUTH_CONSENT_REQUIRED',
        `Tenant ${context.tenant} does not know the resource ${context.resource ?? 'asked for'} for application ${context.clientId}. The token audience follows the service address (connectionUri): check that address, set \`resource\` if the service behind it expects another audience, and check that the app has the service's permission with admin consent.`,
      );
    case '65001':
    case '7000229':
    case '650057':
      return make(
        'AUTH_CONSENT_REQUIRED',
        `Application ${context.clientId} has no admin consent for ${context.resource === undefined ? 'the service' : context.resource} in tenant ${context.tenant}; grant Exchange.ManageAsApp (Exchange Online) or the compliance role (Security & Compliance) and admin consent.`,
      );
    case '90002':
    case '90023':
    case '900023':
      return make('AUTH_TENANT_NOT_FOUND', `The authority does not know tenant '${context.tenant}'; check organization/tenantId and the cloud.`);
    default:
      break;
  }
  const last = context.network?.last;
  if (last?.networkError !== undefined && (errorCode === 'endpoints_resolution_error' || errorCode === 'network_error')) {
    // The sign-in host could not be reached at all: say which host, and that it is worth retrying.
    return new AppError(
      'AUTH_UNAVAILABLE',
      `Cannot reach the sign-in host ${last.host} for tenant ${context.tenant} (${last.networkError}); check the cloud or the authority override, DNS and proxy. Will retry.`,
      { cause: error, details: { ...details, host: last.host, networkError: last.networkError } },
    );
  }
  if (errorCode === 'endpoints_resolution_error') {
    // The authority answered, but not with an OpenID configuration for this tenant: Entra answers
    // 400 for a tenant it does not know.
    return new AppError(
      'AUTH_TENANT_NOT_FOUND',
      `The sign-in host${last ? ` ${last.host}` : ''} does not know tenant '${context.tenant}'${last?.status === undefined ? '' : ` (HTTP ${last.status} for its OpenID configuration)`}; check organization, tenantId, cloud and the authority override.`,
      { cause: error, details: { ...details, ...(last ? { host: last.host, status: last.status } : {}) } },
    );
  }
  if (errorCode === 'invalid_client' || errorCode === 'unauthorized_client') {
    return make('AUTH_CLIENT_REJECTED', `Tenant ${context.tenant} rejected the credentials of application ${context.clientId}.`);
  }
  if (errorCode === 'invalid_scope') {
    return make('AUTH_CONSENT_REQUIRED', `Tenant ${context.tenant} refused the requested resource for application ${context.clientId}.`);
  }
  if (
    errorCode === 'temporarily_unavailable' ||
    errorCode === 'server_error' ||
    /network|ECONN|ETIMEDOUT|EAI_AGAIN|fetch failed|socket/i.test(`${errorCode} ${description}`)
  ) {
    return make('AUTH_UNAVAILABLE', `The token endpoint for tenant ${context.tenant} could not be reached or failed; will retry.`);
  }
  return make('AUTH_FAILED', `Sign-in for tenant ${context.tenant} with application ${context.clientId} failed.`);
}
