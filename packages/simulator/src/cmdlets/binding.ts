import { bindingError } from './cmdlet-error.js';
import { parseDateTime } from './date-time.js';
import type { BoundParameters, CmdletSpec, ParameterSpec, ParameterType } from './types.js';

/** PowerShell common parameters: accepted by every cmdlet and ignored. */
export const COMMON_PARAMETERS: readonly string[] = [
  'ErrorAction',
  'WarningAction',
  'InformationAction',
  'Verbose',
  'Debug',
  'ErrorVariable',
  'WarningVariable',
  'OutVariable',
  'OutBuffer',
  'PipelineVariable',
  'InformationVariable',
];
const COMMON = new Set(COMMON_PARAMETERS.map((name) => name.toLowerCase()));

/**
 * Binds `Parameters` from a CmdletInput the way PowerShell does: unknown names first, then value
 * conversion, then mandatory parameters. Keys containing '@' are OData annotations (the module
 * sends `{Param}@odata.type` next to hashtable arrays) and are skipped.
 */
export function bindParameters(spec: CmdletSpec, raw: Readonly<Record<string, unknown>>): BoundParameters {
  const byName = new Map(spec.parameters.map((parameter) => [parameter.name.toLowerCase(), parameter]));
  const bound = new Map<string, unknown>();
  const entries = Object.entries(raw).filter(([key]) => !key.includes('@'));
  for (const [key] of entries) {
    if (!byName.has(key.toLowerCase()) && !COMMON.has(key.toLowerCase())) {
      throw bindingError(`A parameter cannot be found that matches parameter name '${key}'.`);
    }
  }
  const seen = new Set<string>();
  for (const [key, value] of entries) {
    const lower = key.toLowerCase();
    if (seen.has(lower)) {
      throw bindingError(
        `Cannot bind parameter because parameter '${key}' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax. For example, "-parameter value1,value2,value3".`,
      );
    }
    seen.add(lower);
    const parameter = byName.get(lower);
    if (!parameter) continue;
    bound.set(parameter.name, convert(parameter, value));
  }
  const missing = spec.parameters.filter((parameter) => parameter.mandatory && !bound.has(parameter.name));
  if (missing.length > 0) {
    throw bindingError(`Cannot process command because of one or more missing mandatory parameters: ${missing.map((p) => p.name).join(' ')}.`);
  }
  return bound;
}

function convert(parameter: ParameterSpec, value: unknown): unknown {
  const { name, type } = parameter;
  if (value === null || value === undefined) {
    if (type === 'any') return value;
    throw bindingError(`Cannot bind argument to parameter '${name}' because it is null.`);
  }
  switch (type) {
    case 'any':
      return value;
    case 'string':
      return toText(name, Array.isArray(value) && value.length === 1 ? (value as unknown[])[0] : value, 'System.String');
    case 'string[]':
      return (Array.isArray(value) ? (value as unknown[]) : [value]).map((item) => toText(name, item, 'System.String[]'));
    case 'switch':
    case 'bool':
      return toBoolean(name, value, type === 'switch' ? 'System.Management.Automation.SwitchParameter' : 'System.Boolean');
    case 'int':
      return inRange(name, toInteger(name, value), parameter.range);
    case 'datetime':
      return toDateTime(name, value);
    case 'resultSize':
      return toResultSize(name, value);
    default:
      return toEnum(name, value, type);
  }
}

function toText(name: string, value: unknown, typeName: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const shown = Array.isArray(value) ? 'System.Object[]' : 'System.Collections.Hashtable';
  throw bindingError(`Cannot bind parameter '${name}'. Cannot convert the "${shown}" value of type "${shown}" to type "${typeName}".`);
}

function display(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function toBoolean(name: string, value: unknown, typeName: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw bindingError(
    `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${display(value)}" to type "${typeName}". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.`,
  );
}

function toInteger(name: string, value: unknown): number {
  const number = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof number === 'number' && Number.isInteger(number) && Math.abs(number) <= 2_147_483_647) return number;
  throw bindingError(
    `Cannot bind parameter '${name}'. Cannot convert value "${display(value)}" to type "System.Int32". Error: "Input string was not in a correct format."`,
  );
}

/** PowerShell's `[ValidateRange]` wording. */
function inRange(name: string, value: number, range: readonly [number, number] | undefined): number {
  if (!range) return value;
  const [min, max] = range;
  if (value < min) {
    throw bindingError(
      `Cannot validate argument on parameter '${name}'. The ${value} argument is less than the minimum allowed range of ${min}. Supply an argument that is greater than or equal to ${min} and then try the command again.`,
    );
  }
  if (value > max) {
    throw bindingError(
      `Cannot validate argument on parameter '${name}'. The ${value} argument is greater than the maximum allowed range of ${max}. Supply an argument that is less than or equal to ${max} and then try the command again.`,
    );
  }
  return value;
}

function toDateTime(name: string, value: unknown): number {
  const parsed = typeof value === 'string' ? parseDateTime(value) : undefined;
  if (parsed !== undefined) return parsed;
  throw bindingError(
    `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${display(value)}" to type "Microsoft.Exchange.ExchangeSystem.ExDateTime". Error: "String was not recognized as a valid DateTime."`,
  );
}

function toResultSize(name: string, value: unknown): number | 'Unlimited' {
  if (typeof value === 'string' && value.trim().toLowerCase() === 'unlimited') return 'Unlimited';
  const number = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof number === 'number' && Number.isInteger(number) && number >= 1 && number <= 4_294_967_295) return number;
  throw bindingError(
    `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${display(value)}" to type "Microsoft.Exchange.Data.Unlimited\`1[System.UInt32]". Error: "The value must be a positive integer or "Unlimited"."`,
  );
}

function toEnum(name: string, value: unknown, type: Exclude<ParameterType, string>): string | string[] {
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  if (values.length !== 1 && !type.multi) {
    throw bindingError(`Cannot convert 'System.Object[]' to the type '${type.typeName}' required by parameter '${name}'. Specified method is not supported.`);
  }
  const canonical = values.flatMap((item) =>
    // PowerShell also accepts "A,B" for a flags-style/multi enum argument.
    String(item as string)
      .split(',')
      .map((part) => part.trim())
      .map((part) => {
        const match = type.enum.find((candidate) => candidate.toLowerCase() === part.toLowerCase());
        if (match) return match;
        throw bindingError(
          `Cannot bind parameter '${name}'. Cannot convert value "${part}" to type "${type.typeName}". Error: "Unable to match the identifier name ${part} to a valid enumerator name. Specify one of the following enumerator names and try again: ${type.enum.join(', ')}"`,
        );
      }),
  );
  return type.multi ? canonical : (canonical[0] ?? '');
}
