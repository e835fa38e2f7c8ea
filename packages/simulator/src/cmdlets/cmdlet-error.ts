/** The error families the admin API reports, with the envelope code each uses. */
export type CmdletErrorCode = 'BadRequest' | 'NotFound' | 'Forbidden';

const STATUS: Record<CmdletErrorCode, number> = { BadRequest: 400, NotFound: 404, Forbidden: 403 };

export const PARAMETER_BINDING_EXCEPTION = 'System.Management.Automation.ParameterBindingException';
export const NOT_FOUND_EXCEPTION = 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException';
export const ODATA_SERVICE_EXCEPTION = 'Microsoft.Exchange.Admin.OData.Core.ODataServiceException';
export const COMMAND_NOT_FOUND_EXCEPTION = 'System.Management.Automation.CommandNotFoundException';

/** Error ids seen on the wire for the common exceptions; others get a stable made-up id. */
const KNOWN_ERROR_IDS: Record<string, string> = {
  [PARAMETER_BINDING_EXCEPTION]: 'Ex2F5D1A',
  [NOT_FOUND_EXCEPTION]: 'Ex6F9304',
};

/**
 * A failure the service reports inside an error envelope: `{ErrorId}|{ExceptionType}|{Text}` in
 * format A. TenantData.results throws these too, so tests can assert the same failures offline.
 */
export class CmdletError extends Error {
  readonly code: CmdletErrorCode;
  readonly status: number;
  readonly errorId: string;
  readonly exceptionType: string;
  /** The human text, the third part of a format-A message. */
  readonly text: string;

  constructor(code: CmdletErrorCode, exceptionType: string, text: string, errorId?: string) {
    super(text);
    this.name = 'CmdletError';
    this.code = code;
    this.status = STATUS[code];
    this.exceptionType = exceptionType;
    this.text = text;
    this.errorId = errorId ?? KNOWN_ERROR_IDS[exceptionType] ?? errorIdFor(exceptionType);
  }
}

export function isCmdletError(value: unknown): value is CmdletError {
  return value instanceof CmdletError;
}

/** A parameter binding/validation failure (400). */
export function bindingError(text: string): CmdletError {
  return new CmdletError('BadRequest', PARAMETER_BINDING_EXCEPTION, text);
}

/** `Get-Mailbox -Identity nobody` (404), naming the tenant's domain controller like the service does. */
export function notFoundError(identity: string, domainController: string): CmdletError {
  return new CmdletError(
    'NotFound',
    NOT_FOUND_EXCEPTION,
    `The operation couldn't be performed because object '${identity}' couldn't be found on '${domainController}'.`,
  );
}

function errorIdFor(exceptionType: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < exceptionType.length; i++) h = Math.imul(h ^ exceptionType.charCodeAt(i), 0x01000193);
  return `Ex${((h >>> 0) & 0xffffff).toString(16).toUpperCase().padStart(6, '0')}`;
}
