/**
 * Parses a Retry-After header: whole or fractional seconds (the module parses it as a double, so
 * `1.5` and `.5` are accepted) or an HTTP date. Returns milliseconds from `nowMs`, or undefined
 * when absent or unreadable (negative numbers, free text). A date in the past reads as 0: the
 * retry policy then backs off as if no wait had been given, so 0 never means "at once, forever".
 */
export function parseRetryAfterMs(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return Math.ceil(Number(text) * 1000);
  // Only an HTTP date (it names a weekday or month and a zone): Date.parse reads '-1' or '12' as dates too.
  if (!/[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
