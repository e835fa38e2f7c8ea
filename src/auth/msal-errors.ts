import { AppError, type ErrorCode } from '../core/errors.js';

interface ErrorContext {
  tenant: string;
  clientId: string;
  thumbprint?: string;
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
    case '65001':
    case '7000229':
    case '650057':
      return make(
        'AUTH_CONSENT_REQUIRED',
        `Application ${context.clientId} has no admin consent for Office 365 Exchange Online in tenant ${context.tenant}; grant Exchange.ManageAsApp and admin consent.`,
      );
    case '90002':
    case '90023':
    case '900023':
      return make('AUTH_TENANT_NOT_FOUND', `The authority does not know tenant '${context.tenant}'; check organization/tenantId and the cloud.`);
    default:
      break;
  }
  if (errorCode === 'endpoints_resolution_error') {
    // msal could not read the authority's OpenID configuration: Entra answers 400 for a tenant it
    // does not know, but an unreachable authority looks the same, so a few retries are allowed.
    return new AppError(
      'AUTH_TENANT_NOT_FOUND',
      `The authority could not be resolved for tenant '${context.tenant}': the tenant does not exist in this cloud (check organization, tenantId and cloud) or the sign-in endpoint is unreachable.`,
      { cause: error, details, retryable: true },
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
