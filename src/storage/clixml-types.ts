/**
 * How values map to CLIXML primitive elements, from the .NET types the service announced
 * (`CmdletPage.propertyTypes`) and, without a hint, from the JSON type of the value.
 *
 * A hint is only used when the value really fits it: a `System.DateTime` that is not a date
 * string, or an `Int32` out of range, falls back to the untyped rules, because a malformed `<DT>`
 * or `<I32>` makes Import-Clixml fail on the whole file while `<S>` never does.
 */

/** A hint reduced to what the writer acts on. */
export type TypeHint = { kind: 'scalar'; tag: ScalarTag } | { kind: 'collection'; item: TypeHint | undefined };

/** The primitive tags the writer may emit for a typed value. */
export type ScalarTag = 'S' | 'B' | 'DT' | 'G' | 'Db' | IntegerTag;

type IntegerTag = 'SB' | 'By' | 'I16' | 'U16' | 'I32' | 'U32' | 'I64' | 'U64';

const INTEGER_RANGES: Readonly<Record<IntegerTag, readonly [bigint, bigint]>> = {
  SB: [-128n, 127n],
  By: [0n, 255n],
  I16: [-32768n, 32767n],
  U16: [0n, 65535n],
  I32: [-2147483648n, 2147483647n],
  U32: [0n, 4294967295n],
  I64: [-9223372036854775808n, 9223372036854775807n],
  U64: [0n, 18446744073709551615n],
};

// .NET and OData (Edm) names of the types the service announces, without namespace.
const TAG_OF_TYPE: Readonly<Record<string, ScalarTag>> = {
  string: 'S',
  boolean: 'B',
  datetime: 'DT',
  guid: 'G',
  double: 'Db',
  sbyte: 'SB',
  byte: 'By',
  int16: 'I16',
  uint16: 'U16',
  int32: 'I32',
  uint32: 'U32',
  int64: 'I64',
  uint64: 'U64',
};

const COLLECTION = /^#?Collection\((.*)\)$/i;

/**
 * Reads `System.Int32`, `#Int16`, `Edm.Guid`, `#Collection(String)` and the like; anything else
 * (`System.DateTimeOffset`, Exchange rich types) gives no hint.
 */
export function parseTypeHint(announced: string): TypeHint | undefined {
  const collection = COLLECTION.exec(announced.trim());
  if (collection !== null) return { kind: 'collection', item: parseTypeHint(collection[1] ?? '') };
  const bare = announced
    .trim()
    .replace(/^#/, '')
    .replace(/^(System|Edm)\./i, '')
    .toLowerCase();
  const tag = Object.hasOwn(TAG_OF_TYPE, bare) ? TAG_OF_TYPE[bare] : undefined;
  return tag === undefined ? undefined : { kind: 'scalar', tag };
}

/** A typed scalar as `[tag, element text]` (text not yet XML-escaped), or undefined when it does not fit. */
export function typedScalar(tag: ScalarTag, value: unknown): readonly [ScalarTag, string] | undefined {
  switch (tag) {
    case 'S':
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? ['S', String(value)] : undefined;
    case 'B':
      return booleanText(value);
    case 'DT': {
      const text = typeof value === 'string' ? clixmlDateTime(value) : undefined;
      return text === undefined ? undefined : ['DT', text];
    }
    case 'G':
      return typeof value === 'string' && GUID.test(value) ? ['G', value.toLowerCase()] : undefined;
    case 'Db':
      return typeof value === 'number' ? ['Db', doubleText(value)] : undefined;
    default: {
      const text = integerText(tag, value);
      return text === undefined ? undefined : [tag, text];
    }
  }
}

/** JSON numbers without a hint: I32 when integral and in range, else I64, else Db. */
export function untypedNumber(value: number): readonly [ScalarTag, string] {
  if (Number.isInteger(value)) {
    if (value >= -2147483648 && value <= 2147483647) return ['I32', String(value)];
    // 2 ** 63 is exactly representable and already out of range, hence `<`.
    if (value >= -(2 ** 63) && value < 2 ** 63) return ['I64', BigInt(value).toString()];
  }
  return ['Db', doubleText(value)];
}

/** xs:double as XmlConvert reads it; JSON never holds non-finite numbers, objects built in code may. */
function doubleText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'INF';
  if (value === -Infinity) return '-INF';
  return String(value);
}

function booleanText(value: unknown): readonly ['B', string] | undefined {
  if (typeof value === 'boolean') return ['B', value ? 'true' : 'false'];
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'true' || lower === 'false') return ['B', lower];
  }
  return undefined;
}

const INTEGER_STRING = /^[+-]?\d{1,20}$/;

function integerText(tag: IntegerTag, value: unknown): string | undefined {
  const [min, max] = INTEGER_RANGES[tag];
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return undefined;
    // Up to 32 bits the bounds are exact as numbers, and BigInt would cost on every value.
    if (tag !== 'I64' && tag !== 'U64') return value >= Number(min) && value <= Number(max) ? String(value) : undefined;
  } else if (typeof value !== 'string' || !INTEGER_STRING.test(value)) {
    return undefined;
  }
  const big = BigInt(value);
  return big >= min && big <= max ? big.toString() : undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * The service's DateTime string (`2022-09-21T08:07:47.0000000+00:00`, `…Z`, or ISO with fewer
 * fractional digits) as PowerShell writes `<DT>`: seven fractional digits (.NET ticks; extra digits
 * are cut, as .NET cannot hold them) and the offset designator kept as given — `Z` stays `Z` so a
 * UTC value stays UTC, and a value without offset stays without one (.NET `Unspecified`) rather
 * than gaining an invented time zone. Undefined when the text is not a real date and time.
 */
export function clixmlDateTime(text: string): string | undefined {
  const match = DATE_TIME.exec(text);
  if (match === null) return undefined;
  const [, year = '', month = '', day = '', hour = '', minute = '', second = '00', fraction = '', zone = ''] = match;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return undefined;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return undefined;
  let offset = zone;
  if (zone.length === 5) offset = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  if (offset.length === 6 && (Number(offset.slice(1, 3)) > 14 || Number(offset.slice(4)) > 59)) return undefined;
  const ticks = (fraction + '0000000').slice(0, 7);
  return `${year}-${month}-${day}T${hour}:${minute}:${second}.${ticks}${offset}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
