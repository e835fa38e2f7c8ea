/**
 * True when a bearer token may be sent to `url`: HTTPS, and the host is one of `trustedHosts` —
 * exact `host` (default port) or `host:port`, or `*.suffix` / `*.suffix:port` for any sub-domain on
 * that port (the IPPS regional hosts). nextLinks and redirect Locations are checked with this
 * before a token goes anywhere.
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
  return trustedHosts.some((entry) => {
    const { name, port } = splitPattern(entry.toLowerCase());
    if (parsed.port !== port) return false;
    if (name.startsWith('*.')) return hostname.endsWith(name.slice(1)) && hostname.length > name.length - 1;
    return hostname === name;
  });
}

/** `*.example.com:8443` → name `*.example.com`, port `8443`; no port → '' (HTTPS's default, as URL reports it). */
function splitPattern(pattern: string): { name: string; port: string } {
  const match = /^(.*?)(?::(\d+))?$/.exec(pattern);
  const port = match?.[2] ?? '';
  return { name: match?.[1] ?? pattern, port: port === '443' ? '' : port };
}
