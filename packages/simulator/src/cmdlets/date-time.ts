/**
 * Parses the DateTime strings people pass to Exchange cmdlets: ISO 8601 (also with seven
 * fractional digits, as .NET writes them) and the en-US `M/d/yyyy [h:mm[:ss] [AM|PM]]`. Without
 * an offset the time is UTC (the service's clock). Sub-millisecond fractions round up, so a window
 * bound like `…:00.0000001Z` never takes in a record stamped `…:00`. Undefined when unparsable.
 */
export function parseDateTime(text: string): number | undefined {
  const value = text.trim();
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(value);
  if (iso) {
    const [, year, month, day, hour, minute, second, fraction, zone] = iso;
    return build(Number(year), Number(month), Number(day), Number(hour ?? 0), Number(minute ?? 0), Number(second ?? 0), fraction ?? '', zone);
  }
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?)?$/i.exec(value);
  if (us) {
    const [, month, day, year, hourText, minute, second, half] = us;
    let hour = Number(hourText ?? 0);
    if (half !== undefined) {
      if (hour < 1 || hour > 12) return undefined;
      hour = (hour % 12) + (half.toUpperCase() === 'PM' ? 12 : 0);
    }
    return build(Number(year), Number(month), Number(day), hour, Number(minute ?? 0), Number(second ?? 0), '', undefined);
  }
  return undefined;
}

function build(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  fraction: string,
  zone: string | undefined,
): number | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const base = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 February over into March; a real calendar date does not.
  if (new Date(base).getUTCDate() !== day) return undefined;
  const ticks = Number(fraction.padEnd(7, '0') || '0');
  const millis = Math.ceil(ticks / 10_000);
  return base + millis - offsetMs(zone);
}

function offsetMs(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.replace(':', '');
  const sign = digits.startsWith('-') ? -1 : 1;
  return sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5))) * 60_000;
}
