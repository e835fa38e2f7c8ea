import { gunzipSync } from 'node:zlib';

/** What the service said about a failure, from either envelope format or a plain-text body. */
export interface ServiceFailure {
  /** `error.code` of the envelope, e.g. NotFound, BadRequest, Forbidden. */
  serviceCode?: string;
  /** e.g. `Ex6F9304`. */
  errorId?: string;
  /** e.g. `Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException`. */
  exceptionType?: string;
  /** The sentence that explains the failure (never the generic "Error executing cmdlet" if better exists). */
  text: string;
  /** The body carried no usable content (the EXO unknown-cmdlet answer is NUL bytes). */
  empty: boolean;
}

const GENERIC_MESSAGES = new Set(['error executing cmdlet', 'invalid operation', '']);

/**
 * Decodes a response body: the service may label a non-gzip body as gzip (docs/protocol.md §2.8), so a
 * failed gunzip falls back to the raw bytes.
 */
export function decodeBody(body: Buffer, contentEncoding: string | undefined): Buffer {
  if (contentEncoding && /gzip/i.test(contentEncoding) && body.length > 0) {
    try {
      return gunzipSync(body);
    } catch {
      return body;
    }
  }
  return body;
}

/**
 * Reads an error response. Handles format A (`details[].message` = `Id|Type|Text`), format B
 * (`details[].message` = a JSON string with Message/TypeName or localizedString/ClassName), the
 * `innererror.internalexception` fallback, and non-JSON bodies (text, HTML, NUL bytes).
 */
export function parseFailure(body: Buffer): ServiceFailure {
  const text = body.toString('utf8');
  if (/^[\0\s]*$/.test(text)) return { text: '', empty: true };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { text: plainText(text), empty: false };
  }
  const error = (json as { error?: Record<string, unknown> } | null)?.error;
  if (!error || typeof error !== 'object') return { text: plainText(text), empty: false };

  const failure: ServiceFailure = { text: '', empty: false };
  if (typeof error['code'] === 'string') failure.serviceCode = error['code'];
  const details = Array.isArray(error['details']) ? (error['details'] as unknown[]) : [];
  for (const detail of details) {
    const message = (detail as Record<string, unknown> | null)?.['message'];
    if (typeof message !== 'string' || message === '') continue;
    Object.assign(failure, readDetailMessage(message));
    if (failure.text) break;
  }
  if (!failure.text) {
    const inner = (error['innererror'] as Record<string, unknown> | undefined)?.['internalexception'] as Record<string, unknown> | undefined;
    if (typeof inner?.['message'] === 'string') failure.text = inner['message'];
  }
  if (!failure.text && typeof error['message'] === 'string') failure.text = error['message'];
  if (GENERIC_MESSAGES.has(failure.text.trim().toLowerCase()) && typeof error['message'] === 'string') failure.text = error['message'];
  return failure;
}

function readDetailMessage(message: string): Partial<ServiceFailure> {
  const trimmed = message.trim();
  if (trimmed.startsWith('{')) {
    try {
      const inner = JSON.parse(trimmed) as Record<string, unknown>;
      const localized = inner['localizedString'] as Record<string, unknown> | undefined;
      const candidates = [inner['Message'], inner['message'], localized?.['message']];
      const result: Partial<ServiceFailure> = { text: (candidates.find((value): value is string => typeof value === 'string') ?? '').trim() };
      const type = inner['TypeName'] ?? inner['ClassName'];
      if (typeof type === 'string') result.exceptionType = type;
      if (typeof localized?.['stringId'] === 'string') result.errorId = localized['stringId'];
      return result;
    } catch {
      // Not JSON after all: treat as format A or plain text below.
    }
  }
  const parts = trimmed.split('|');
  if (parts.length >= 3) {
    return { errorId: parts[0]?.trim() ?? '', exceptionType: parts[1]?.trim() ?? '', text: parts.slice(2).join('|').trim() };
  }
  return { text: trimmed };
}

function plainText(text: string): string {
  const stripped = text
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return stripped.length > 500 ? `${stripped.slice(0, 500)}…` : stripped;
}
