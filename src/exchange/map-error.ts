import { AppError, type ErrorCode } from '../core/index.js';
import type { ServiceFailure } from './error-body.js';

/** Exception names the module treats as transient (docs/protocol.md §2.9). */
const TRANSIENT_EXCEPTIONS = [
  'DCOverloadedException',
  'SuitabilityDirectoryException',
  'ServerInMMException',
  'ADServerSettingsChangedException',
  'StorageTransientException',
];

const CONCURRENCY_REFUSAL = /maximum number of concurrent requests/i;
const CURSOR_EXPIRED = /Expired or Invalid pagination request/i;

export interface FailureContext {
  cmdlet: string;
  serviceLabel: string;
  status: number;
  requestId?: string | undefined;
  clientRequestId: string;
}

/**
 * Turns a failed response into the AppError that says what happened; the error's code decides how
 * it is retried (the retry policy). `retryAfterMs` is the wait the service asked for, if any.
 *
 * - 429, the plain-text concurrency refusal, and a 503 that says when to come back: EXO_THROTTLED
 *   (wait as asked; the wait holds for the whole tenant).
 * - Any other 5xx or 408, whatever the body (JSON, HTML, plain text, nothing), and the transient
 *   exceptions the module names: EXO_UNAVAILABLE / EXO_SERVER_ERROR (the same request again).
 * - The expired paging cursor: EXO_CURSOR_EXPIRED (the pages cannot be resumed).
 * - Everything else by status: final.
 */
export function failureToError(failure: ServiceFailure, context: FailureContext, retryAfterMs?: number): AppError {
  const { status, cmdlet, serviceLabel } = context;
  const reason = failure.text || (failure.empty ? 'no details (empty body)' : `HTTP ${status}`);
  const details = {
    status,
    cmdlet,
    ...(context.requestId ? { requestId: context.requestId } : {}),
    clientRequestId: context.clientRequestId,
    ...(failure.serviceCode ? { serviceCode: failure.serviceCode } : {}),
    ...(failure.exceptionType ? { exceptionType: failure.exceptionType } : {}),
    ...(failure.errorId ? { errorId: failure.errorId } : {}),
  };
  const make = (code: ErrorCode, message: string, retryable?: boolean): AppError =>
    new AppError(code, message, { details, ...(retryable === undefined ? {} : { retryable }), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });

  if (CURSOR_EXPIRED.test(reason)) {
    return make(
      'EXO_CURSOR_EXPIRED',
      `${serviceLabel} expired the paging cursor of ${cmdlet} (cursors last 30 minutes); the pages read so far cannot be resumed. (${reason})`,
    );
  }
  if (status === 429 || CONCURRENCY_REFUSAL.test(failure.text)) return make('EXO_THROTTLED', `${serviceLabel} throttled ${cmdlet} (HTTP ${status}): ${reason}`);
  if (status === 503 && retryAfterMs !== undefined) {
    return make(
      'EXO_THROTTLED',
      `${serviceLabel} was busy running ${cmdlet} (HTTP 503) and asked to come back in ${Math.ceil(retryAfterMs / 1000)} s: ${reason}`,
    );
  }
  if (status === 408 || status === 502 || status === 503 || status === 504) {
    return make('EXO_UNAVAILABLE', `${serviceLabel} was unavailable for ${cmdlet} (HTTP ${status}): ${reason}`);
  }
  if (TRANSIENT_EXCEPTIONS.some((name) => failure.exceptionType?.includes(name) || failure.text.includes(name))) {
    return make('EXO_SERVER_ERROR', `${serviceLabel} hit a transient server problem running ${cmdlet}: ${reason}`, true);
  }
  if (status >= 500) return make('EXO_SERVER_ERROR', `${serviceLabel} failed running ${cmdlet} (HTTP ${status}): ${reason}`);
  switch (status) {
    case 400:
      return make('EXO_BAD_REQUEST', `${serviceLabel} rejected ${cmdlet}: ${reason}`);
    case 401:
      return make(
        'EXO_UNAUTHORIZED',
        `${serviceLabel} refused the access token for ${cmdlet} even after a fresh token was acquired; check the app's Exchange.ManageAsApp permission and role, and that the token audience (resource) matches the service address.`,
      );
    case 403:
      if (failure.empty || /not recognized|is not recognized|unknown cmdlet|NotFoundException/i.test(reason)) {
        return make(
          'EXO_CMDLET_UNKNOWN',
          `${serviceLabel} does not know the cmdlet ${cmdlet}, or the app's roles do not include it${failure.empty ? '' : `: ${reason}`}. Check the name and the service (exo or ipps).`,
        );
      }
      return make('EXO_ACCESS_DENIED', `${serviceLabel} denied ${cmdlet}: ${reason}`);
    case 404:
      return make('EXO_NOT_FOUND', `${serviceLabel} could not find the object for ${cmdlet}: ${reason}`);
    case 405:
      return make('EXO_BAD_REQUEST', `${serviceLabel} does not accept InvokeCommand at this address (HTTP 405).`);
    default:
      // An answer the protocol does not have (a 409, a redirect without a Location): sending the
      // same request again would get the same answer.
      return make('EXO_BAD_RESPONSE', `${serviceLabel} answered ${cmdlet} with unexpected HTTP ${status}: ${reason}`, false);
  }
}
