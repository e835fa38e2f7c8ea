/**
 * Exchange renders rich .NET types as strings; these helpers reproduce the shapes seen on the wire.
 */

/** `2022-09-21T08:07:47.0000000+00:00`, or `…0000000Z` for the `*UTC` properties. */
export function formatDateTime(ms: number, style: 'offset' | 'utc' = 'offset'): string {
  // Hand-rolled (days → civil date, Hinnant's algorithm): this runs twice per generated mailbox.
  const days = Math.floor(ms / 86_400_000);
  const dayMs = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const seconds = Math.floor(dayMs / 1000);
  const millis = dayMs - seconds * 1000;
  const time = `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}`;
  const fraction = `${String(millis).padStart(3, '0')}0000`;
  return `${year}-${two(month)}-${two(day)}T${time}.${fraction}${style === 'utc' ? 'Z' : '+00:00'}`;
}

function two(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** ByteQuantifiedSize.ToString(): `99 GB (106,300,440,576 bytes)`. */
export function formatByteQuantity(bytes: number): string {
  let unit = 0;
  let value = bytes;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = Number.parseFloat(value.toFixed(3)).toString();
  return `${shown} ${UNITS[unit] ?? 'B'} (${bytes.toLocaleString('en-US')} bytes)`;
}

export const GB = 1024 ** 3;
export const MB = 1024 ** 2;
