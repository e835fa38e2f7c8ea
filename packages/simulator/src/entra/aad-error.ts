import { randomUUID } from 'node:crypto';
import { jsonResponse, type SimResponse } from '../http.js';

/** An Entra failure: OAuth `error`, the AADSTS number and its text. */
export interface AadError {
  status: number;
  error: string;
  code: number;
  text: string;
}

export function aadError(status: number, error: string, code: number, text: string): AadError {
  return { status, error, code, text };
}

/** `2024-05-22 16:52:26Z`, the format Entra uses in error bodies. */
function aadTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** The body Entra returns: `error_description` repeats the ids, `error_codes` carries the number. */
export function aadErrorResponse(failure: AadError, options: { correlationId?: string; loginOrigin: string; nowMs: number }): SimResponse {
  const traceId = randomUUID();
  const correlationId = options.correlationId ?? randomUUID();
  const timestamp = aadTimestamp(options.nowMs);
  const code = String(failure.code).padStart(5, '0');
  return jsonResponse(
    failure.status,
    {
      error: failure.error,
      error_description: `AADSTS${code}: ${failure.text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [failure.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${options.loginOrigin}/error?code=${failure.code}`,
    },
    { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache', 'x-ms-request-id': traceId, 'client-request-id': correlationId },
  );
}

export function tenantNotFound(tenant: string): AadError {
  return aadError(
    400,
    'invalid_request',
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}
