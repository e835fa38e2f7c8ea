/**
 * True when a bearer token may be sent to `url`: HTTPS, and the host is one of `trustedHosts`
 * (exact `host` or `host:port`, or `*.suffix` for any sub-domain such as IPPS regional hosts).
 * nextLinks and redirect Locations are checked with this before a token goes anywhere.
 */
export function isTrustedUrl(url: string, trustedHosts: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:') return false;
  const hostname = parsed.hostname.toLowerCase();
  return trustedHosts.some((pattern) => {
    const lower = pattern.toLowerCase();
    if (lower.startsWith('*.')) return parsed.port === '' && hostname.endsWith(lower.slice(1)) && hostname.length > lower.length - 1;
    if (lower.includes(':')) return parsed.host.toLowerCase() === lower;
    return hostname === lower && parsed.port === '';
  });
}
